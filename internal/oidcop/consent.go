package oidcop

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/identity"
)

// Consent is an application a resident allowed, with what it may read.
type Consent struct {
	ClientID  string
	Client    string
	Scopes    []string
	GrantedAt time.Time
}

// hasConsent reports whether the resident already allowed the client every
// scope it now asks for, and when they last consented.
func (s *Storage) hasConsent(ctx context.Context, accountID, clientID string, scopes []string) (bool, time.Time, error) {
	var raw string
	var at time.Time
	err := s.DB.QueryRowContext(ctx, `SELECT scopes, granted_at FROM oidc_consents WHERE account_id = $1 AND client_id = $2`, accountID, clientID).Scan(&raw, &at)
	if err == sql.ErrNoRows {
		return false, at, nil
	}
	if err != nil {
		return false, at, err
	}
	var granted []string
	if err := json.Unmarshal([]byte(raw), &granted); err != nil {
		return false, at, err
	}
	for _, sc := range scopes {
		if !slices.Contains(granted, sc) {
			return false, at, nil
		}
	}
	return true, at, nil
}

// grantConsent remembers the resident's consent (the union with any earlier
// one) and audits it.
func (s *Storage) grantConsent(ctx context.Context, accountID, clientID string, scopes []string, remote string) error {
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var raw string
		granted := []string{}
		err := tx.QueryRowContext(ctx, `SELECT scopes FROM oidc_consents WHERE account_id = $1 AND client_id = $2`, accountID, clientID).Scan(&raw)
		if err == nil {
			if err := json.Unmarshal([]byte(raw), &granted); err != nil {
				return err
			}
		} else if err != sql.ErrNoRows {
			return err
		}
		for _, sc := range scopes {
			if !slices.Contains(granted, sc) {
				granted = append(granted, sc)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO oidc_consents (account_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (account_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at`,
			accountID, clientID, jsonList(granted), s.now()); err != nil {
			return err
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + accountID, Action: "oidc.consent.granted", Subject: accountID,
			Remote: remote, Details: map[string]string{"client": clientID}})
	})
}

// Consents lists the applications the resident allowed.
func (s *Storage) Consents(ctx context.Context, accountID string) ([]Consent, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT c.id, c.name, k.scopes, k.granted_at FROM oidc_consents k JOIN oidc_clients c ON c.id = k.client_id
		WHERE k.account_id = $1 ORDER BY c.name, c.id`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Consent
	for rows.Next() {
		var c Consent
		var raw string
		if err := rows.Scan(&c.ClientID, &c.Client, &raw, &c.GrantedAt); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(raw), &c.Scopes); err != nil {
			return nil, err
		}
		c.Scopes = slices.DeleteFunc(c.Scopes, func(s string) bool { return s == "openid" })
		out = append(out, c)
	}
	return out, rows.Err()
}

// RevokeConsent withdraws a consent: the application's access tokens for
// the resident stop working, and its next login asks again.
func (s *Storage) RevokeConsent(ctx context.Context, accountID, clientID, remote string) error {
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM oidc_consents WHERE account_id = $1 AND client_id = $2`, accountID, clientID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errNotFound
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM oidc_tokens WHERE account_id = $1 AND client_id = $2`, accountID, clientID); err != nil {
			return err
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + accountID, Action: "oidc.consent.revoked", Subject: accountID,
			Remote: remote, Details: map[string]string{"client": clientID}})
	})
}

// MergeAccounts moves the applications one account allowed to another, in
// the transaction that links them (identity.Merger): where both allowed an
// application, the account kept keeps its own consent.
func (s *Storage) MergeAccounts(ctx context.Context, tx *sql.Tx, from, into string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE oidc_consents SET account_id = $1 WHERE account_id = $2
		AND client_id NOT IN (SELECT client_id FROM oidc_consents WHERE account_id = $1)`, into, from); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM oidc_consents WHERE account_id = $1`, from)
	return err
}

// Application is an application a person logged into through the portal.
type Application struct {
	Client string    `json:"application"`
	At     time.Time `json:"first_login_of_the_session"`
}

// Export is what the provider holds about a person: the applications they
// allowed, and those their portal sessions logged into.
func (s *Storage) Export(ctx context.Context, a *identity.Account) (any, error) {
	consents, err := s.Consents(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT c.name, r.created_at FROM oidc_rp_sessions r JOIN oidc_clients c ON c.id = r.client_id
		WHERE r.account_id = $1 ORDER BY r.created_at`, a.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	logins := []Application{}
	for rows.Next() {
		var app Application
		if err := rows.Scan(&app.Client, &app.At); err != nil {
			return nil, err
		}
		logins = append(logins, app)
	}
	if consents == nil {
		consents = []Consent{}
	}
	return map[string]any{"consents": consents, "logins": logins}, rows.Err()
}
