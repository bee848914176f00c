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
	tokens "github.com/civico-pa/civico/internal/token"
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
	CounterSeed(ctx context.Context, code string, inRegister bool, registered identity.Registered, then func(tx *sql.Tx, seed, accountID string) error) (string, error)
	// FiscalCodeAuditMAC is the keyed hash that names a fiscal code in
	// the audit log.
	FiscalCodeAuditMAC(code string) string
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
	// The code is in the entry as a keyed hash only: whoever holds the
	// installation's secret finds a person's look-ups by hashing their
	// code (civico audit list --fiscal-code), a copy of the log alone
	// names nobody.
	entry := audit.Entry{Actor: actor, Action: "oidc.counter.subject", Subject: "client:" + c.ID, Remote: remote,
		Details: map[string]string{"fiscal_code_mac": s.Seeds.FiscalCodeAuditMAC(string(code))}}
	registered := func(ctx context.Context, code string) (bool, error) {
		ok, _, err := s.Residents.Residence(ctx, code)
		return ok, err
	}
	seed, err := s.Seeds.CounterSeed(ctx, string(code), resident, registered, func(tx *sql.Tx, seed, accountID string) error {
		if err := s.Audit.Write(ctx, tx, entry); err != nil {
			return err
		}
		return s.tellLookedUp(ctx, tx, seed, accountID, c, op.DisplayName())
	})
	if errors.Is(err, identity.ErrUnknownPerson) || errors.Is(err, identity.ErrOtherSpelling) {
		entry.Action = "oidc.counter.unknown"
		status, code, text := http.StatusNotFound, "unknown_person", "nobody known has this fiscal code"
		if errors.Is(err, identity.ErrOtherSpelling) {
			entry.Action = "oidc.counter.other_spelling"
			status, code, text = http.StatusConflict, "other_spelling", "another spelling of this fiscal code is on file: the registry office must settle it"
		}
		if err := s.Audit.Write(ctx, nil, entry); err != nil {
			p.Log.Error("counter subject", "err", err)
		}
		tokenError(w, status, code, text)
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

// tellLookedUp tells the person a look-up identified, in the look-up's
// transaction, that the participation desk identified them by their
// fiscal code: an operator recording an answer for someone who never came
// is then found out by that person, not only by the audit log (outside
// review L1). One with an account finds it in the inbox now; for one
// without (accountID ""), the notice waits beside the seed answered for
// them (oidc_counter_notices) for the account that will take the seed
// over (DeliverCounterNotices). The message is personal, so its mail
// says nothing of it.
func (s *Storage) tellLookedUp(ctx context.Context, tx *sql.Tx, seed, accountID string, c *Client, operator string) error {
	if s.Inbox == nil {
		return nil
	}
	if accountID == "" {
		_, err := tx.ExecContext(ctx, `INSERT INTO oidc_counter_notices (id, subject_seed, client_id, operator, looked_up_at) VALUES ($1, $2, $3, $4, $5)`,
			tokens.ID(), seed, c.ID, operator, s.now())
		return err
	}
	_, err := s.Inbox.Post(ctx, tx, accountID, lookedUpMessage(c.Name, operator, time.Time{}, s.now()))
	return err
}

// lookedUpMessage is the inbox message of a look-up at the counter of the
// client named client, at when; kept says it was kept until now.
func lookedUpMessage(client, operator string, kept, when time.Time) area.Message {
	m := area.Message{Sender: "oidcop", Category: "area.category.town",
		Subject: "Identificazione allo sportello di " + client,
		Body: "Il " + when.In(hours.Rome).Format("02/01/2006 15:04") + " l'operatore " + operator + " ti ha identificato con il tuo codice fiscale allo sportello di " + client + ", " +
			"per registrare una tua risposta a una consultazione.\n\nSe non eri tu allo sportello, scrivi all'ufficio relazioni con il pubblico: " +
			"ogni identificazione è registrata."}
	if !kept.IsZero() {
		m.At = kept
		m.Body += "\n\nNon avevi un account attivo quando ti hanno identificato: il Comune ha conservato questo avviso per consegnartelo ora."
	}
	return m
}

// DeliverCounterNotices is identity's SeedTaken: the account that takes
// over a seed receives, in its inbox and in the same transaction, every
// look-up the counter kept for the person under that seed, at the
// look-up's time; the kept notices are deleted.
func (s *Storage) DeliverCounterNotices(ctx context.Context, tx *sql.Tx, accountID, seed string) error {
	if s.Inbox == nil {
		return nil
	}
	type kept struct {
		client, operator string
		at               time.Time
	}
	rows, err := tx.QueryContext(ctx, `SELECT client_id, operator, looked_up_at FROM oidc_counter_notices WHERE subject_seed = $1 ORDER BY looked_up_at, id`, seed)
	if err != nil {
		return err
	}
	var all []kept
	for rows.Next() {
		var k kept
		if err := rows.Scan(&k.client, &k.operator, &k.at); err != nil {
			_ = rows.Close()
			return err
		}
		all = append(all, k)
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil || len(all) == 0 {
		return err
	}
	names := map[string]string{}
	for _, k := range all {
		name, ok := names[k.client]
		if !ok {
			name = k.client
			if c, err := s.Clients.Get(ctx, k.client); err == nil {
				name = c.Name
			} else if !errors.Is(err, ErrClientNotFound) {
				return err
			}
			names[k.client] = name
		}
		if _, err := s.Inbox.Post(ctx, tx, accountID, lookedUpMessage(name, k.operator, k.at, k.at)); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM oidc_counter_notices WHERE subject_seed = $1`, seed)
	return err
}
