package identity

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/throttle"
)

func TestRetryWait(t *testing.T) {
	for _, c := range []struct {
		err  error
		wait time.Duration
		ok   bool
	}{
		{fmt.Errorf("taking: %w", &throttle.Refused{Wait: 3 * time.Second}), 3 * time.Second, true},
		{&ThrottledError{Wait: time.Minute}, time.Minute, true},
		{errors.New("no"), 0, false},
		{nil, 0, false},
	} {
		if wait, ok := RetryWait(c.err); wait != c.wait || ok != c.ok {
			t.Errorf("RetryWait(%v) = %v %v, want %v %v", c.err, wait, ok, c.wait, c.ok)
		}
	}
}
