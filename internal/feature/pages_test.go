package feature

import (
	"errors"
	"slices"
	"testing"
)

// AllPages reads every page and stops at the total, or at an empty page
// (rows gone since the count); an error ends it with nothing.
func TestAllPages(t *testing.T) {
	rows := []int{1, 2, 3, 4, 5, 6, 7}
	calls := 0
	fetch := func(page int) ([]int, int, error) {
		calls++
		lo := min((page-1)*3, len(rows))
		return rows[lo:min(lo+3, len(rows))], len(rows), nil
	}
	if got, err := AllPages(3, fetch); err != nil || !slices.Equal(got, rows) || calls != 3 {
		t.Errorf("got %v (%v) in %d calls, want %v in 3", got, err, calls, rows)
	}
	if got, err := AllPages(3, func(int) ([]int, int, error) { return nil, 10, nil }); err != nil || len(got) != 0 {
		t.Errorf("an empty page with a total of 10: %v %v", got, err)
	}
	boom := errors.New("boom")
	if got, err := AllPages(3, func(int) ([]int, int, error) { return []int{1}, 10, boom }); !errors.Is(err, boom) || got != nil {
		t.Errorf("a failing page: %v %v", got, err)
	}
}
