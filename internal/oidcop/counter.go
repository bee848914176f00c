package oidcop

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/area"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/throttle"
	"github.com/civico-pa/civico/internal/web"
)

// PathCounterSubject answers the counter client (Partecipa) the pairwise
// subject of a resident an operator identified at a counter by fiscal code.
const PathCounterSubject = "/oidc/counter/subject"

// CounterRole is the operators' role that may record answers at a
// counter: the provider releases it to first-party clients in the roles
// claim, and answers the counter endpoint only for an operator holding it.
const CounterRole = "participation_desk"

// CounterRule is an operator's budget of counter look-ups: a counter
// serves a resident every few minutes, never hundreds an hour.
var CounterRule = throttle.Rule{Free: 60, Window: time.Hour}

// CounterSeeds finds or reserves the subject seed of a person a fiscal code
// names (identity's Store.CounterSeed), with then run in its transaction.
type CounterSeeds interface {
	CounterSeed(ctx context.Context, code string, inRegister bool, then func(tx *sql.Tx, seed, accountID string) error) (string, error)
}

// CounterAnswer is all the counter endpoint answers: the subject the
// counter client knows the person by, and what its residence scope would
// say of them (resident, district, age band), for eligibility, and the
// demographics scope's sex, for the breakdowns. Never
// whether they took part in anything: the provider does not know.
type CounterAnswer struct {
	Subject  string `json:"sub"`
	Resident bool   `json:"resident"`
	District string `json:"district,omitempty"`
	AgeBand  string `json:"age_band,omitempty"`
	// Sex, from the register, for the breakdowns (the demographics
	// scope's; Partecipa keeps it only as aggregate counts).
	Sex string `json:"sex,omitempty"`
}

// Birthdays is what the register says of a person's birth, for the age
// band (population's Register).
type Birthdays interface {
	Birth(ctx context.Context, fiscalCode string) (sex, birthDate string, ok bool, err error)
}

// counterSubject is POST /oidc/counter/subject: client_id, client_secret
// and fiscal_code in the form body, the operator's access token (issued to
// that client after a login, with the roles scope) as the bearer. Only
// the configured counter client, only an operator who holds CounterRole
// now (read from the account, not from the token), within CounterRule;
// the code must belong to a real person: the population register's, or
// proven on an account (identity's CounterSeed); an omocodic variant is
// another code. Every look-up, answered or refused for its code, is an
// audit entry.
func (p *Provider) counterSubject(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s := p.Storage
	if s.CounterClient == "" || s.Seeds == nil {
		tokenError(w, http.StatusNotFound, "not_found", "")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<10))
	if err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "request too large or unreadable")
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || r.URL.RawQuery != "" {
		tokenError(w, http.StatusBadRequest, "invalid_request", "a form body, no query")
		return
	}
	for _, v := range form {
		if len(v) > 1 {
			tokenError(w, http.StatusBadRequest, "invalid_request", "repeated parameter")
			return
		}
	}
	c, err := s.Clients.Get(ctx, form.Get("client_id"))
	if err != nil || c.DisabledAt != nil || c.ID != s.CounterClient || !c.FirstParty || !c.Pairwise || !c.checkSecret(form.Get("client_secret")) {
		if err != nil && !errors.Is(err, ErrClientNotFound) {
			p.Log.Error("counter subject", "err", err)
		}
		tokenError(w, http.StatusUnauthorized, "invalid_client", "only the counter client")
		return
	}
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		tokenError(w, http.StatusUnauthorized, "invalid_token", "the operator's access token")
		return
	}
	g, err := p.Bearer(ctx, bearer)
	if err != nil || g.ClientID != c.ID || !g.Has(ScopeRoles) {
		tokenError(w, http.StatusUnauthorized, "invalid_token", "the operator's access token")
		return
	}
	op, err := s.Accounts.ByID(ctx, g.AccountID)
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		p.Log.Error("counter subject", "err", err)
		tokenError(w, http.StatusInternalServerError, "server_error", "")
		return
	}
	if err != nil || op.ClosedAt != nil || op.Kind != identity.KindOperator || !op.HasRole(CounterRole) {
		tokenError(w, http.StatusForbidden, "insufficient_scope", "the operator does not hold the counter role")
		return
	}
	actor := "operator:" + op.ID
	remote := web.RemoteAddr(r)
	if s.Limiter != nil {
		if err := s.Limiter.Take(ctx, nil, throttle.Key{Name: "oidc:counter:" + op.ID, Rule: CounterRule}); err != nil {
			var refused *throttle.Refused
			if errors.As(err, &refused) {
				w.Header().Set("Retry-After", strconv.Itoa(int(refused.Wait.Seconds())+1))
				tokenError(w, http.StatusTooManyRequests, "slow_down", "too many look-ups")
				return
			}
			p.Log.Error("counter subject", "err", err)
			tokenError(w, http.StatusInternalServerError, "server_error", "")
			return
		}
	}
	code, err := cf.Parse(form.Get("fiscal_code"))
	if err != nil {
		tokenError(w, http.StatusUnprocessableEntity, "invalid_fiscal_code", "not a valid fiscal code")
		return
	}
	resident, district, err := s.Residents.Residence(ctx, string(code))
	if err != nil {
		p.Log.Error("counter subject", "err", err)
		tokenError(w, http.StatusInternalServerError, "server_error", "")
		return
	}
	entry := audit.Entry{Actor: actor, Action: "oidc.counter.subject", Subject: "client:" + c.ID, Remote: remote,
		Details: map[string]string{"fiscal_code": string(code)}}
	seed, err := s.Seeds.CounterSeed(ctx, string(code), resident, func(tx *sql.Tx, _, accountID string) error {
		if err := s.Audit.Write(ctx, tx, entry); err != nil {
			return err
		}
		return s.tellLookedUp(ctx, tx, accountID, op.DisplayName())
	})
	if errors.Is(err, identity.ErrUnknownPerson) {
		entry.Action = "oidc.counter.unknown"
		if err := s.Audit.Write(ctx, nil, entry); err != nil {
			p.Log.Error("counter subject", "err", err)
		}
		tokenError(w, http.StatusNotFound, "unknown_person", "nobody known has this fiscal code")
		return
	}
	if err != nil {
		p.Log.Error("counter subject", "err", err)
		tokenError(w, http.StatusInternalServerError, "server_error", "")
		return
	}
	a := CounterAnswer{Subject: s.seedSubject(c, seed), Resident: resident}
	if resident {
		a.District = district
		if b, ok := s.Residents.(Birthdays); ok {
			if sex, date, ok, err := b.Birth(ctx, string(code)); err == nil && ok {
				a.AgeBand = AgeBand(date, s.now().In(hours.Rome))
				if sex == "F" || sex == "M" {
					a.Sex = sex
				}
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(a)
}

// seedSubject is the pairwise subject a client sees for a person whose
// subject seed is seed: what subject gives for their account
// (identity.Account.Subject), now or once they have one.
func (s *Storage) seedSubject(c *Client, seed string) string {
	return mac(s.pairwiseKey, 43, "sub", c.ID, seed)
}

// Inbox is the residents' inbox (area.Inbox): a feature posts in its own
// transaction.
type Inbox interface {
	Post(ctx context.Context, tx *sql.Tx, accountID string, m area.Message) (string, error)
}

// tellLookedUp tells a resident who has an account, in the look-up's
// transaction, that the participation desk identified them by their
// fiscal code: an operator recording an answer for someone who never came
// is then found out by that person, not only by the audit log (outside
// review L1). The message is personal, so its mail says nothing of it.
func (s *Storage) tellLookedUp(ctx context.Context, tx *sql.Tx, accountID, operator string) error {
	if s.Inbox == nil || accountID == "" {
		return nil
	}
	when := s.now().In(hours.Rome).Format("02/01/2006 15:04")
	_, err := s.Inbox.Post(ctx, tx, accountID, area.Message{Sender: "oidcop", Category: "area.category.town",
		Subject: "Identificazione allo sportello di Partecipa",
		Body: "Il " + when + " l'operatore " + operator + " ti ha identificato con il tuo codice fiscale allo sportello di Partecipa, " +
			"per registrare una tua risposta a una consultazione.\n\nSe non eri tu allo sportello, scrivi all'ufficio relazioni con il pubblico: " +
			"ogni identificazione è registrata."})
	return err
}
