package oidcop

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/identity"
)

// amrOf is how a portal session logged in, as RFC 8176 authentication
// method references; the acr is the session's level of assurance, in the
// words of package assurance.
func amrOf(method string, levels ...assurance.Level) []string {
	switch method {
	case "crs":
		return []string{"sc", "pin", "hwk", "mfa"}
	case "password+totp":
		return []string{"pwd", "otp", "mfa"}
	case "spid", "cie":
		// SPID's and the CIE's levels: a password; with a one-time code or app; with a
		// device or smart card.
		if len(levels) > 0 {
			switch levels[0] {
			case assurance.Substantial:
				return []string{"pwd", "otp", "mfa"}
			case assurance.High:
				return []string{"hwk", "mfa"}
			}
		}
		return []string{"pwd"}
	default:
		return []string{"pwd"}
	}
}

// mac is HMAC-SHA256 of parts joined by NUL, base64url, cut to n characters.
func mac(key []byte, n int, parts ...string) string {
	h := hmac.New(sha256.New, key)
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(p))
	}
	s := base64.RawURLEncoding.EncodeToString(h.Sum(nil))
	return s[:n]
}

// subject is the sub a client sees for an account: pairwise (different for
// every client, so applications cannot join their users by sub) unless the
// client is registered for the public one.
//
// A pairwise subject derives from the account's Subject: the same for the
// person's next account after closing one (identity.Account.Subject), so
// that an application counting people by sub (Partecipa's one voice) is
// not given a new person by a closed account.
func (s *Storage) subject(c *Client, acc *identity.Account) string {
	if !c.Pairwise {
		return acc.ID
	}
	return s.seedSubject(c, acc.Subject())
}

// sessionID is the sid a client is told for a portal session: pairwise too.
func (s *Storage) sessionID(clientID, sessionHash string) string {
	return mac(s.pairwiseKey, 32, "sid", clientID, sessionHash)
}

// AgeBand is the age group an eligibility check needs, without the birth
// date: under 18, then ten-year bands from 25, and 75 and over.
func AgeBand(birthDate string, now time.Time) string {
	b, err := time.Parse("2006-01-02", birthDate)
	if err != nil {
		return ""
	}
	age := now.Year() - b.Year()
	if now.Month() < b.Month() || now.Month() == b.Month() && now.Day() < b.Day() {
		age--
	}
	bands := []struct {
		below int
		name  string
	}{{18, "0-17"}, {25, "18-24"}, {35, "25-34"}, {45, "35-44"}, {55, "45-54"}, {65, "55-64"}, {75, "65-74"}}
	if age < 0 {
		return ""
	}
	for _, band := range bands {
		if age < band.below {
			return band.name
		}
	}
	return "75+"
}

// filterScopes keeps the requested scopes the client may have.
func filterScopes(c *Client, requested []string) []string {
	out := []string{}
	for _, sc := range requested {
		if (sc == "openid" || slices.Contains(c.Scopes, sc)) && !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out
}
