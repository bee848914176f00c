package forms

import "testing"

func TestHumanSize(t *testing.T) {
	cases := []struct {
		n      int64
		it, en string
	}{
		{512, "512 byte", "512 bytes"},
		{250_000, "244 KB", "244 KB"},
		{1_300_000, "1,2 MB", "1.2 MB"},
		{20 << 20, "20 MB", "20 MB"},
	}
	for _, c := range cases {
		if got := HumanSize(c.n, "it"); got != c.it {
			t.Errorf("HumanSize(%d, it) = %q, want %q", c.n, got, c.it)
		}
		if got := HumanSize(c.n, "en"); got != c.en {
			t.Errorf("HumanSize(%d, en) = %q, want %q", c.n, got, c.en)
		}
	}
}
