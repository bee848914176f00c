package identity

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// TestSessionKeepsAnyUserAgent: a browser's User-Agent is any bytes the
// header allows; a session keeps 200 bytes of it as valid UTF-8, so that a
// long accented one, or one with a byte that is not UTF-8, does not fail
// the login on PostgreSQL.
func TestSessionKeepsAnyUserAgent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := &Store{DB: d}
		sessions := &Sessions{DB: d, Idle: time.Hour, Absolute: 12 * time.Hour}
		ctx := context.Background()
		for i, ua := range []string{"Mozilla/5.0 " + strings.Repeat("è", 150), "Mozilla/5.0 (\xff\xfe)", strings.Repeat("a", 199) + "€"} {
			acc := &Account{Kind: "resident", Email: "ua" + string(rune('a'+i)) + "@example.org", GivenName: "Anna"}
			var token string
			err := d.Tx(ctx, func(tx *sql.Tx) error {
				if err := s.insert(ctx, tx, acc); err != nil {
					return err
				}
				var err error
				token, err = sessions.Create(ctx, tx, acc.ID, assurance.Low, "password", "", ua)
				return err
			})
			if err != nil {
				t.Fatalf("user agent %q: %v", ua, err)
			}
			se, err := sessions.Lookup(ctx, token)
			if err != nil {
				t.Fatal(err)
			}
			if !utf8.ValidString(se.UserAgent) || len(se.UserAgent) > 200 || !strings.HasPrefix(se.UserAgent, ua[:5]) {
				t.Errorf("user agent %q kept as %q", ua, se.UserAgent)
			}
		}
	})
}
