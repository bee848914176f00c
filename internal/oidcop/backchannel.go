package oidcop

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// backchannelEvent is the event a logout token carries (OpenID Connect
// Back-Channel Logout 1.0, section 2.4).
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

type rpSession struct {
	clientID, uri, sid, subject string
}

// SessionsEnded is identity's OnEnd hook: the portal sessions that a logout
// ended are forgotten by the provider (their access tokens stop working) and
// every application they logged into that has a back-channel logout address
// is told, in parallel, before the logout page answers; an application that
// does not answer within five seconds is logged and left to its own session
// expiry.
func (p *Provider) SessionsEnded(ctx context.Context, hashes []string) {
	targets, err := p.Storage.forgetSessions(ctx, hashes)
	if err != nil {
		p.Log.Error("back-channel logout: reading sessions", "err", err)
		return
	}
	var wg sync.WaitGroup
	for _, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.sendLogout(ctx, t); err != nil {
				p.Log.Warn("back-channel logout failed", "client", t.clientID, "err", err)
			}
		}()
	}
	wg.Wait()
}

func (s *Storage) forgetSessions(ctx context.Context, hashes []string) ([]rpSession, error) {
	var out []rpSession
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		for _, h := range hashes {
			rows, err := tx.QueryContext(ctx, `SELECT r.client_id, c.backchannel_logout_uri, r.sid, r.subject FROM oidc_rp_sessions r
				JOIN oidc_clients c ON c.id = r.client_id WHERE r.session_hash = $1 AND c.backchannel_logout_uri <> '' AND c.disabled_at IS NULL`, h)
			if err != nil {
				return err
			}
			for rows.Next() {
				var t rpSession
				if err := rows.Scan(&t.clientID, &t.uri, &t.sid, &t.subject); err != nil {
					_ = rows.Close()
					return err
				}
				out = append(out, t)
			}
			_ = rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM oidc_rp_sessions WHERE session_hash = $1`, h); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM oidc_tokens WHERE session_hash = $1`, h); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
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
		"iss": p.Issuer, "aud": clientID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(), "jti": newID(),
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

func (p *Provider) sendLogout(ctx context.Context, t rpSession) error {
	tok, err := p.LogoutToken(ctx, t.clientID, t.subject, t.sid)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
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
