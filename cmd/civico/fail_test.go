package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/problem"
)

// Each kind of problem a feature returns gets, in one place, its status,
// its page in the visitor's language (or its JSON) and Retry-After; any
// other error is an internal one.
func TestFailMapsProblems(t *testing.T) {
	a := newApps(t, dbtest.SQLite(t)).portal // the mapping of errors to pages touches no database
	for _, c := range []struct {
		err    error
		status int
		retry  string
		text   string
	}{
		{fmt.Errorf("reading: %w", problem.New(problem.NotFound, "", errors.New("no row"))), http.StatusNotFound, "", "Page not found"},
		{problem.Fields{"email": "identity.error.email"}, http.StatusUnprocessableEntity, "", "Invalid data"},
		{problem.New(problem.Conflict, "identity.error.last_admin", nil), http.StatusConflict, "", "The last administrator"},
		{problem.ErrForbidden, http.StatusForbidden, "", ""},
		{&problem.Error{Kind: problem.Throttled, Retry: 90 * time.Second}, http.StatusTooManyRequests, "90", "Too many requests"},
		{&problem.Error{Kind: problem.Unavailable, Retry: time.Second}, http.StatusServiceUnavailable, "1", ""},
		{errors.New("disk full"), http.StatusInternalServerError, "", ""},
	} {
		r := httptest.NewRequest("GET", "/x", nil)
		r.Header.Set("Accept-Language", "en")
		w := httptest.NewRecorder()
		a.Fail(w, r, c.err)
		if w.Code != c.status || w.Header().Get("Retry-After") != c.retry || !strings.Contains(w.Body.String(), c.text) || strings.Contains(w.Body.String(), "disk full") {
			t.Errorf("%v: %d (Retry-After %q), want %d (%q) saying %q", c.err, w.Code, w.Header().Get("Retry-After"), c.status, c.retry, c.text)
		}
		w = httptest.NewRecorder()
		a.FailJSON(w, r, c.err)
		if w.Code != c.status || w.Header().Get("Content-Type") != "application/json; charset=utf-8" || !strings.Contains(w.Body.String(), `"error":"`+problem.KindOf(c.err).String()+`"`) {
			t.Errorf("JSON %v: %d %s %s", c.err, w.Code, w.Header().Get("Content-Type"), w.Body)
		}
	}
	if w := httptest.NewRecorder(); true {
		r := httptest.NewRequest("GET", "/api/v1/x", nil)
		a.FailJSON(w, r, problem.Fields{"email": "identity.error.email"})
		if !strings.Contains(w.Body.String(), `"email":"Scrivi un indirizzo email valido`) {
			t.Errorf("the fields' messages are not translated: %s", w.Body)
		}
	}
	if !errors.Is(problem.Fields{"a": "b"}, problem.ErrInvalid) || !errors.Is(fmt.Errorf("w: %w", problem.New(problem.NotFound, "m", nil)), problem.ErrNotFound) ||
		errors.Is(problem.New(problem.NotFound, "", nil), problem.ErrConflict) {
		t.Error("errors.Is does not match kinds")
	}
}
