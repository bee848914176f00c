package oidcop

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	tokens "github.com/civico-pa/civico/internal/token"
	jose "github.com/go-jose/go-jose/v4"
)

// backchannelEvent is the event a logout token carries (OpenID Connect
// Back-Channel Logout 1.0, section 2.4).
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// logoutNotice is one back-channel logout to deliver.
type logoutNotice struct {
	id, clientID, uri, sid, subject string
	attempts                        int
	createdAt                       time.Time
}

// Back-channel delivery: a notice is retried while the application's own
// session could still be alive (Partecipa's live 12 hours at most), with
// growing pauses; an attempt waits at most five seconds for an answer.
const (
	logoutGiveUp  = 12 * time.Hour
	logoutLease   = 30 * time.Second
	logoutTimeout = 5 * time.Second
)

var logoutBackoff = []time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour}

func backoff(attempts int) time.Duration {
	if attempts-1 < len(logoutBackoff) {
		return logoutBackoff[max(attempts-1, 0)]
	}
	return logoutBackoff[len(logoutBackoff)-1]
}

// SessionsEndTx is identity's OnEndTx hook, run in the transaction that
// ends portal sessions by a logout: the provider forgets them (their access
// tokens stop working) and writes a logout notice for every application
// they logged into that has a back-channel address. The notices commit with
// the logout, or neither does: none is lost. They are written leased to
// this process, which delivers them once the logout has committed
// (SessionsEnded).
func (p *Provider) SessionsEndTx(ctx context.Context, tx *sql.Tx, hashes []string) error {
	return p.Storage.endSessionsTx(ctx, tx, hashes, logoutLease)
}

// EndSessionsTx is SessionsEndTx without a provider: what a process that
// serves no provider (a command such as `civico user revoke`) installs as
// identity's OnEndTx, so that sessions it ends stop their tokens and leave
// their logout notices in the outbox, which a server's retries deliver
// at their next run (the notices are due at once: no lease).
func (s *Storage) EndSessionsTx(ctx context.Context, tx *sql.Tx, hashes []string) error {
	return s.endSessionsTx(ctx, tx, hashes, 0)
}

// endSessionsTx writes the notices leased to this process for lease.
func (s *Storage) endSessionsTx(ctx context.Context, tx *sql.Tx, hashes []string, lease time.Duration) error {
	now := s.now()
	for _, h := range hashes {
		rows, err := tx.QueryContext(ctx, `SELECT r.client_id, r.sid, r.subject FROM oidc_rp_sessions r
			JOIN oidc_clients c ON c.id = r.client_id WHERE r.session_hash = $1 AND c.backchannel_logout_uri <> '' AND c.disabled_at IS NULL`, h)
		if err != nil {
			return err
		}
		var notices []logoutNotice
		for rows.Next() {
			n := logoutNotice{id: tokens.Secret(24), createdAt: now}
			if err := rows.Scan(&n.clientID, &n.sid, &n.subject); err != nil {
				_ = rows.Close()
				return err
			}
			notices = append(notices, n)
		}
		_ = rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, n := range notices {
			if _, err := tx.ExecContext(ctx, `INSERT INTO oidc_logout_outbox (id, client_id, subject, sid, session_hash, next_attempt_at, lease_until, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $6)`, n.id, n.clientID, n.subject, n.sid, h, now, now.Add(lease)); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM oidc_rp_sessions WHERE session_hash = $1`, h); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM oidc_tokens WHERE session_hash = $1`, h); err != nil {
			return err
		}
	}
	return nil
}

// SessionsEnded is identity's OnEnd hook, once the logout has committed: the
// notices SessionsEndTx wrote are delivered at once, in parallel, before
// the logout page answers. A notice an application does not take stays in
// the outbox and is retried by DeliverDueLogouts.
func (p *Provider) SessionsEnded(ctx context.Context, hashes []string) {
	var notices []logoutNotice
	for start := 0; start < len(hashes); start += endedBatch {
		in, args := db.InList(nil, hashes[start:min(start+endedBatch, len(hashes))])
		rows, err := p.Storage.DB.QueryContext(ctx, `SELECT o.id, o.client_id, c.backchannel_logout_uri, o.subject, o.sid, o.attempts, o.created_at
			FROM oidc_logout_outbox o JOIN oidc_clients c ON c.id = o.client_id WHERE o.session_hash IN `+in+` AND o.attempts = 0`, args...)
		if err != nil {
			p.Log.Error("back-channel logout: reading the outbox", "err", err)
			return
		}
		for rows.Next() {
			var n logoutNotice
			if err := rows.Scan(&n.id, &n.clientID, &n.uri, &n.subject, &n.sid, &n.attempts, &n.createdAt); err != nil {
				p.Log.Error("back-channel logout: reading the outbox", "err", err)
				break
			}
			notices = append(notices, n)
		}
		_ = rows.Close()
	}
	p.deliver(ctx, notices)
}

// endedBatch is how many sessions' notices one query of SessionsEnded
// reads.
const endedBatch = 500

// deliverParallel is how many logout notices deliver sends at once: a
// mass revocation's thousands go out in waves, not all at once.
const deliverParallel = 16

// deliver sends notices in parallel, deliverParallel at a time, and
// records each outcome.
func (p *Provider) deliver(ctx context.Context, notices []logoutNotice) {
	var wg sync.WaitGroup
	slots := make(chan struct{}, deliverParallel)
	for _, n := range notices {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			err := p.sendLogout(ctx, n)
			if rerr := p.Storage.logoutOutcome(ctx, n, err); rerr != nil {
				p.Log.Error("back-channel logout: recording the outcome", "err", rerr)
			}
			if err != nil {
				p.Log.Warn("back-channel logout not delivered, will retry", "client", n.clientID, "attempt", n.attempts+1, "err", err)
			}
		})
	}
	wg.Wait()
}

// logoutOutcome deletes a delivered notice, or schedules the next attempt
// (or gives up, logged, once the application's session cannot be alive).
func (s *Storage) logoutOutcome(ctx context.Context, n logoutNotice, sendErr error) error {
	now := s.now()
	if sendErr == nil {
		_, err := s.DB.ExecContext(ctx, `DELETE FROM oidc_logout_outbox WHERE id = $1`, n.id)
		return err
	}
	attempts := n.attempts + 1
	if now.Sub(n.createdAt) > logoutGiveUp {
		_, err := s.DB.ExecContext(ctx, `DELETE FROM oidc_logout_outbox WHERE id = $1`, n.id)
		if err == nil {
			err = s.Audit.Write(ctx, nil, audit.Entry{Actor: "system", Action: "oidc.backchannel.abandoned", Subject: n.clientID,
				Details: map[string]string{"attempts": fmt.Sprint(attempts), "error": db.Clip(sendErr.Error(), 200)}})
		}
		return err
	}
	_, err := s.DB.ExecContext(ctx, `UPDATE oidc_logout_outbox SET attempts = $1, next_attempt_at = $2, lease_until = NULL, last_error = $3 WHERE id = $4`,
		attempts, now.Add(backoff(attempts)), db.CleanText(sendErr.Error(), 500), n.id)
	return err
}

// DeliverDueLogouts retries the notices whose time has come, claiming them
// under a lease so that several processes do not send the same one at
// once. It returns how many it tried.
func (p *Provider) DeliverDueLogouts(ctx context.Context) (int, error) {
	s := p.Storage
	now := s.now()
	var claimed []logoutNotice
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		claimed = claimed[:0]
		rows, err := tx.QueryContext(ctx, `UPDATE oidc_logout_outbox SET lease_until = $1
			WHERE id IN (SELECT id FROM oidc_logout_outbox WHERE next_attempt_at <= $2 AND (lease_until IS NULL OR lease_until < $2)
				ORDER BY next_attempt_at LIMIT 50)
			RETURNING id, client_id, subject, sid, attempts, created_at`, now.Add(logoutLease), now)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n logoutNotice
			if err := rows.Scan(&n.id, &n.clientID, &n.subject, &n.sid, &n.attempts, &n.createdAt); err != nil {
				return err
			}
			claimed = append(claimed, n)
		}
		return rows.Err()
	})
	if err != nil {
		return 0, err
	}
	for i := range claimed {
		c, err := s.Clients.Get(ctx, claimed[i].clientID)
		if err != nil {
			return 0, err
		}
		claimed[i].uri = c.BackchannelLogoutURI
	}
	p.deliver(ctx, claimed)
	return len(claimed), nil
}

// LogoutToken signs a logout token for a client.
func (p *Provider) LogoutToken(ctx context.Context, clientID, subject, sid string) (string, error) {
	key, err := p.Storage.Keys.SigningKey(ctx)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: key.SignatureAlgorithm(), Key: key.Key()},
		(&jose.SignerOptions{}).WithType("logout+jwt").WithHeader("kid", key.ID()))
	if err != nil {
		return "", err
	}
	now := p.Storage.now()
	claims := map[string]any{
		"iss": p.Issuer, "aud": clientID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(), "jti": tokens.Secret(24),
		"sub": subject, "sid": sid, "events": map[string]any{backchannelEvent: map[string]any{}},
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

func (p *Provider) sendLogout(ctx context.Context, t logoutNotice) error {
	if t.uri == "" {
		return errors.New("the client has no back-channel logout address any more")
	}
	tok, err := p.LogoutToken(ctx, t.clientID, t.subject, t.sid)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, logoutTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.uri, strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.HTTP.Do(req) // #nosec G704 -- the address is a client's back-channel URI, registered by an administrator
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("%s answered %s", t.uri, resp.Status)
	}
	return nil
}

// Sweep deletes expired authorization requests and tokens and keys retired
// long ago; any process may run it.
func (s *Storage) Sweep(ctx context.Context) error {
	now := s.now()
	if _, err := s.DB.ExecContext(ctx, `DELETE FROM oidc_auth_requests WHERE expires_at < $1`, now); err != nil {
		return err
	}
	if _, err := s.DB.ExecContext(ctx, `DELETE FROM oidc_tokens WHERE expires_at < $1`, now); err != nil {
		return err
	}
	// The record of which applications a session logged into lives as long
	// as a portal session can (12 hours) and a day more.
	if _, err := s.DB.ExecContext(ctx, `DELETE FROM oidc_rp_sessions WHERE created_at < $1`, now.Add(-36*time.Hour)); err != nil {
		return err
	}
	return s.Keys.Purge(ctx)
}
