package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	tokens "github.com/civico-pa/civico/internal/token"
)

// Registration is one resident's account as the dashboard counts it: when
// it was made, by which login method, and the person's sex where a proof
// or the register gave it ("" when unknown).
type Registration struct {
	At          time.Time
	Method, Sex string
}

// Registrations are the residents' accounts made in [from, to), in order:
// what the dashboard adds to its counters as they happen (it asks for the
// few minutes since its last watermark, never for the whole history).
func (s *Store) Registrations(ctx context.Context, from, to time.Time) ([]Registration, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT created_at, first_method, sex FROM accounts
		WHERE kind = 'resident' AND created_at >= $1 AND created_at < $2 ORDER BY created_at`, from.UTC(), to.UTC())
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []Registration
	for rows.Next() {
		var r Registration
		if err := rows.Scan(&r.At, &r.Method, &r.Sex); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ActiveBySex counts the residents whose last login is at or after since,
// by sex ("" unknown): the dashboard's active residents (30 and 90 days),
// asked once a day, an index range on last_login_at.
func (s *Store) ActiveBySex(ctx context.Context, since time.Time) (map[string]int64, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT sex, COUNT(*) FROM accounts
		WHERE kind = 'resident' AND closed_at IS NULL AND last_login_at >= $1 GROUP BY sex`, since.UTC())
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := map[string]int64{}
	for rows.Next() {
		var sex string
		var n int64
		if err := rows.Scan(&sex, &n); err != nil {
			return nil, err
		}
		out[sex] += n
	}
	return out, rows.Err()
}

// recordLogin writes the login's method as the account's first when it
// has none, and its time as the last login, in the login's transaction.
func (s *Store) recordLogin(ctx context.Context, tx *sql.Tx, id, method string) error {
	now := s.now()
	s.Cache.Invalidate(id)
	_, err := tx.ExecContext(ctx, `UPDATE accounts SET first_method = CASE WHEN first_method = '' THEN $1 ELSE first_method END,
		last_login_at = $2, updated_at = $2 WHERE id = $3`, method, now, id)
	return err
}

// HistoricAccount is a resident's account of the years before civico, as
// a demo's history (or a migration from the town's earlier portal) brings
// it: made at Created by Method, last seen at LastLogin. It has no
// fiscal code, e-mail or password: nobody can log in to it.
type HistoricAccount struct {
	Created, LastLogin time.Time
	Method, Sex        string
	GivenName, Family  string
}

// ImportHistory adds the accounts of an earlier portal in one transaction,
// each a resident without credentials, so that the figures of the years
// before civico count them; it refuses a sex other than F, M or "".
func (s *Store) ImportHistory(ctx context.Context, list []HistoricAccount) error {
	for _, a := range list {
		if a.Sex != "" && a.Sex != "F" && a.Sex != "M" {
			return errors.New("identity: a historic account's sex is F, M or empty")
		}
		if strings.TrimSpace(a.Method) == "" || a.Created.IsZero() {
			return errors.New("identity: a historic account needs its method and creation time")
		}
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		// Many rows a statement: ten years of a town's accounts in seconds.
		const batch = 200
		for start := 0; start < len(list); start += batch {
			part := list[start:min(start+batch, len(list))]
			var q strings.Builder
			q.WriteString(`INSERT INTO accounts (id, kind, given_name, family_name, sex, lang, created_at, updated_at, first_method, last_login_at, name_source) VALUES `)
			args := make([]any, 0, 7*len(part))
			for i, a := range part {
				if i > 0 {
					q.WriteString(", ")
				}
				n := len(args)
				fmt.Fprintf(&q, "($%d, 'resident', $%d, $%d, $%d, 'it', $%d, $%d, $%d, $%d, 'self')", n+1, n+2, n+3, n+4, n+5, n+5, n+6, n+7)
				last := sql.NullTime{Time: a.LastLogin.UTC(), Valid: !a.LastLogin.IsZero()}
				args = append(args, tokens.ID(), a.GivenName, a.Family, a.Sex, a.Created.UTC(), a.Method, last)
			}
			if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// Earliest is when the first resident's account was made (the zero time
// when there is none): the demo's history is loaded once.
func (s *Store) Earliest(ctx context.Context) (time.Time, error) {
	var t time.Time
	err := s.DB.QueryRowContext(ctx, `SELECT created_at FROM accounts WHERE kind = 'resident' ORDER BY created_at LIMIT 1`).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	return t, err
}
