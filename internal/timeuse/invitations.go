package timeuse

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/identity"
	tokens "github.com/civico-pa/civico/internal/token"
)

// Subject is who answers: an account, or the holder of an invitation
// (the hash of its secret).
type Subject struct {
	Account string
	// Person is the account's identity.Account.Subject: the same across
	// a closed account and the person's next one, so the participation
	// mark is kept under it ('' : Account) and closing an account never
	// opens a second answer.
	Person     string
	Invitation string
}

// AccountSubject is the Subject of an account.
func AccountSubject(a *identity.Account) Subject {
	return Subject{Account: a.ID, Person: a.Subject()}
}

// mark is what the participation mark is kept under.
func (sub Subject) mark() string {
	if sub.Person != "" {
		return sub.Person
	}
	return sub.Account
}

// MaxInvitations bounds the invitations made at once.
const MaxInvitations = 5000

// DefaultInvitationDays is how long an invitation works by default.
const DefaultInvitationDays = 60

// ErrInvitation is an invitation link that is unknown or expired.
var ErrInvitation = errors.New("timeuse: unknown or expired invitation")

// Invite makes n invitations valid for days and returns their secrets
// (only their hashes are kept: the links are shown once). The batch and
// the actor are audited, not the links.
func (s *Store) Invite(ctx context.Context, w audit.Writer, n, days int, actor, remote string) ([]string, error) {
	if n < 1 || n > MaxInvitations || days < 1 || days > 366 {
		return nil, errors.New("timeuse: 1 to 5000 invitations, valid 1 to 366 days")
	}
	batch := tokens.ID()
	expires := s.now().AddDate(0, 0, days)
	out := make([]string, n)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		for i := range out {
			secret, hash := tokens.New()
			out[i] = secret
			if _, err := tx.ExecContext(ctx, `INSERT INTO timeuse_invitations (token_hash, batch, expires_at) VALUES ($1, $2, $3)`, hash, batch, expires); err != nil {
				return err
			}
		}
		if w == nil {
			return nil
		}
		return w.Write(ctx, tx, audit.Entry{Actor: actor, Action: "timeuse.invitations", Subject: "timeuse:batch:" + batch, Remote: remote,
			Details: map[string]string{"invitations": strconv.Itoa(n), "expires": expires.Format(time.DateOnly)}})
	})
	return out, err
}

// Invitation returns the subject of an invitation's secret, or
// ErrInvitation (unknown, or expired; a used one is returned, and answers
// "you have taken part").
func (s *Store) Invitation(ctx context.Context, secret string) (Subject, error) {
	if len(secret) < 20 || len(secret) > 100 {
		return Subject{}, ErrInvitation
	}
	hash := tokens.Hash(secret)
	var n int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM timeuse_invitations WHERE token_hash = $1 AND expires_at > $2`, hash, s.now()).Scan(&n); err != nil {
		return Subject{}, err
	}
	if n == 0 {
		return Subject{}, ErrInvitation
	}
	return Subject{Invitation: hash}, nil
}

// InvitationCounts are the invitations made and answered.
type InvitationCounts struct{ Made, Answered int }

// CountInvitations counts the invitations made and answered.
func (s *Store) CountInvitations(ctx context.Context) (InvitationCounts, error) {
	var c InvitationCounts
	err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN used THEN 1 ELSE 0 END), 0) FROM timeuse_invitations`).Scan(&c.Made, &c.Answered)
	return c, err
}

// PurgeInvitations deletes the invitations that expired unused, with
// their drafts (job timeuse.expired-invitations); used ones stay, counted.
func (s *Store) PurgeInvitations(ctx context.Context) error {
	_, err := s.DB.ExecContext(ctx, `DELETE FROM timeuse_invitations WHERE used = FALSE AND expires_at <= $1`, s.now())
	return err
}
