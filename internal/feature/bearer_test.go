package feature

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestBearerToken(t *testing.T) {
	long := "Bearer " + strings.Repeat("a", MaxBearerLen+1)
	for _, c := range []struct {
		header, token string
		present       bool
	}{
		{"", "", false},
		{"Bearer abc", "abc", true},
		{"bearer  abc ", "abc", true},
		{"Basic dXNlcjpwYXNz", "", true},
		{"Bearer", "", true},
		{"Bearer ", "", true},
		{long, "", true},
		{"Bearer " + strings.Repeat("a", MaxBearerLen), strings.Repeat("a", MaxBearerLen), true},
	} {
		r := httptest.NewRequest("GET", "/api/v1/x", nil)
		if c.header != "" {
			r.Header.Set("Authorization", c.header)
		}
		token, present := BearerToken(r)
		if token != c.token || present != c.present {
			t.Errorf("Authorization %.20q: token %.20q, present %v; want %.20q, %v", c.header, token, present, c.token, c.present)
		}
	}
}
