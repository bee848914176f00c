package sportello

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/problem"
	tokens "github.com/civico-pa/civico/internal/token"
)

// Acting for someone else. A delegation lets one person, the delegate,
// submit applications for another, the holder, for the services it
// lists, until its last day. Only the desk records one, after checking
// what proves it: a delegation signed by the holder with the holder's
// identity document (BasisWritten), or, for a minor, the proof that the
// delegate holds parental responsibility with the child's document
// (BasisParent). Both files are kept with the delegation. The delegate
// acts with a login that proves their fiscal code (the card, SPID); the
// application then records the holder as its applicant, the delegate as
// who acted, and the delegation.
//
// What the delegate may reach is only what the delegation covers: the
// applications they started under it, and only while it is in force
// (revoked or past its last day, they are gone from the delegate's list
// and are not found). The holder, logging in with their own proven fiscal
// code, sees every application made in their name.

// Basis is what proved a delegation.
type Basis string

// The bases.
const (
	BasisWritten Basis = "written"
	BasisParent  Basis = "parent"
)

// Bases are the bases in the order the desk's form shows them.
var Bases = []Basis{BasisWritten, BasisParent}

// SourceDelegation marks the holder's data of an application made under a
// delegation: read by the desk from the holder's document when it
// recorded the delegation.
const SourceDelegation identity.Source = "delegation"

// MaxDelegationDays is the longest a delegation may last from the day it
// is recorded: three years.
const MaxDelegationDays = 3 * 366

// Delegation is one recorded delegation.
type Delegation struct {
	ID                                 string
	HolderFiscalCode                   string
	HolderGivenName, HolderFamilyName  string
	DelegateFiscalCode                 string
	Basis                              Basis
	Services                           []string
	ValidUntil                         string
	FormAttachment, DocumentAttachment string
	RecordedBy                         string
	RecordedAt                         time.Time
	RevokedAt                          *time.Time
	RevokedBy, RevokeReason            string
}

// HolderName is the holder's full name.
func (d Delegation) HolderName() string {
	return strings.TrimSpace(d.HolderGivenName + " " + d.HolderFamilyName)
}

// InForce reports whether the delegation holds on day (YYYY-MM-DD).
func (d Delegation) InForce(day string) bool { return d.RevokedAt == nil && day <= d.ValidUntil }

// Covers reports whether the delegation names the service.
func (d Delegation) Covers(service string) bool { return slices.Contains(d.Services, service) }

// UntilLabel is the last day in force as people write it.
func (d Delegation) UntilLabel() string { return dayLabel(d.ValidUntil) }

// Acting is who submitted an application for its holder: the delegate,
// as their login proved them.
type Acting struct {
	GivenName  string `json:"given_name"`
	FamilyName string `json:"family_name"`
	FiscalCode string `json:"fiscal_code"`
}

// Name is the acting person's full name.
func (a Acting) Name() string { return strings.TrimSpace(a.GivenName + " " + a.FamilyName) }

// NewDelegation is what the desk records.
type NewDelegation struct {
	HolderFiscalCode, HolderGivenName, HolderFamilyName string
	DelegateFiscalCode                                  string
	Basis                                               Basis
	Services                                            []string
	// ValidUntil is the last day in force (YYYY-MM-DD).
	ValidUntil string
	// Form and Document are the operator's uploads: the signed
	// delegation (or the proof of parental responsibility) and the
	// holder's identity document.
	Form, Document   string
	Operator, Remote string
}

// ErrDelegation: the delegation named does not let this person act for
// this service today (another's, revoked, expired, or not covering it).
var ErrDelegation = problem.New(problem.NotFound, "sportello.error.delegation", errors.New("no delegation in force for this person and service"))

const delegationColumns = `id, holder_fiscal_code, holder_given_name, holder_family_name, delegate_fiscal_code, basis, services, valid_until,
	form_attachment, document_attachment, recorded_by, recorded_at, revoked_at, revoked_by, revoke_reason`

func scanDelegation(r scanner) (*Delegation, error) {
	d := &Delegation{}
	var services string
	var revoked sql.NullTime
	if err := r.Scan(&d.ID, &d.HolderFiscalCode, &d.HolderGivenName, &d.HolderFamilyName, &d.DelegateFiscalCode, &d.Basis, &services, &d.ValidUntil,
		&d.FormAttachment, &d.DocumentAttachment, &d.RecordedBy, &d.RecordedAt, &revoked, &d.RevokedBy, &d.RevokeReason); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(services), &d.Services); err != nil {
		return nil, err
	}
	d.RecordedAt, d.RevokedAt = d.RecordedAt.UTC(), timePtr(revoked)
	return d, nil
}

// checkName is a holder's name as the desk typed it.
func checkName(v string) string {
	switch v = strings.TrimSpace(v); {
	case v == "":
		return "sportello.error.required"
	case utf8.RuneCountInString(v) > 100 || strings.ContainsAny(v, "<>\"\n\r\t"):
		return "sportello.error.invalid"
	}
	return ""
}

// RecordDelegation records a delegation the desk checked, with its two
// files, in one transaction with its audit entry. Every field's error is
// returned at once (problem.Fields); the operator's uploads are theirs
// until this attaches them to the delegation.
func (s *Store) RecordDelegation(ctx context.Context, n NewDelegation) (*Delegation, error) {
	fe := problem.Fields{}
	holder, err := cf.Parse(n.HolderFiscalCode)
	if err != nil {
		fe["holder_fiscal_code"] = "sportello.error." + fiscalCodeError(err)
	}
	delegate, err := cf.Parse(n.DelegateFiscalCode)
	if err != nil {
		fe["delegate_fiscal_code"] = "sportello.error." + fiscalCodeError(err)
	} else if holder != "" && delegate == holder {
		fe["delegate_fiscal_code"] = "sportello.error.delegate_self"
	}
	for name, v := range map[string]string{"holder_given_name": n.HolderGivenName, "holder_family_name": n.HolderFamilyName} {
		if msg := checkName(v); msg != "" {
			fe[name] = msg
		}
	}
	if !slices.Contains(Bases, n.Basis) {
		fe["basis"] = "sportello.error.basis"
	}
	var services []string
	for _, id := range n.Services {
		svc, ok, err := s.Service(ctx, id)
		if err != nil {
			return nil, err
		}
		if !ok || !svc.Active {
			fe["services"] = "sportello.error.services"
			break
		}
		if !slices.Contains(services, id) {
			services = append(services, id)
		}
	}
	if len(services) == 0 {
		fe["services"] = "sportello.error.services"
	}
	now := s.now()
	today := Day(now)
	until, err := time.Parse(time.DateOnly, n.ValidUntil)
	switch {
	case err != nil:
		fe["valid_until"] = "sportello.error.date"
	case n.ValidUntil < today:
		fe["valid_until"] = "sportello.error.delegation_past"
	case until.Sub(time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)) > MaxDelegationDays*24*time.Hour:
		fe["valid_until"] = "sportello.error.delegation_long"
	}
	for name, id := range map[string]string{"form": n.Form, "document": n.Document} {
		if id == "" {
			fe[name] = "sportello.error.delegation_file"
		}
	}
	if len(fe) > 0 {
		return nil, fe
	}
	if s.Files == nil {
		return nil, errors.New("sportello: delegations need the attachments")
	}
	d := &Delegation{ID: tokens.ID(), HolderFiscalCode: string(holder), HolderGivenName: strings.TrimSpace(n.HolderGivenName),
		HolderFamilyName: strings.TrimSpace(n.HolderFamilyName), DelegateFiscalCode: string(delegate), Basis: n.Basis, Services: services,
		ValidUntil: n.ValidUntil, FormAttachment: n.Form, DocumentAttachment: n.Document, RecordedBy: n.Operator, RecordedAt: now}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sportello_delegations (id, holder_fiscal_code, holder_given_name, holder_family_name,
			delegate_fiscal_code, basis, services, valid_until, form_attachment, document_attachment, recorded_by, recorded_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			d.ID, d.HolderFiscalCode, d.HolderGivenName, d.HolderFamilyName, d.DelegateFiscalCode, string(d.Basis), mustJSON(d.Services),
			d.ValidUntil, d.FormAttachment, d.DocumentAttachment, d.RecordedBy, d.RecordedAt); err != nil {
			return err
		}
		for name, id := range map[string]string{"form": d.FormAttachment, "document": d.DocumentAttachment} {
			err := s.Files.AttachDelegation(ctx, tx, id, n.Operator, d.ID)
			if problem.KindOf(err) == problem.NotFound {
				// Not the operator's upload (or attached already).
				return problem.Fields{name: "sportello.error.delegation_file"}
			}
			if err != nil {
				return err
			}
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + n.Operator, Action: "sportello.delegation.recorded", Subject: "delegation:" + d.ID,
			Remote: n.Remote, Details: map[string]string{"basis": string(d.Basis), "services": strings.Join(d.Services, " "), "valid_until": d.ValidUntil}})
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Delegation reads one delegation (the desk's).
func (s *Store) Delegation(ctx context.Context, id string) (*Delegation, error) {
	if !ValidID(id) {
		return nil, ErrNotFound
	}
	d, err := scanDelegation(s.DB.QueryRowContext(ctx, `SELECT `+delegationColumns+` FROM sportello_delegations WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return d, err
}

// RevokeDelegation ends a delegation today, with the reason, audited:
// from now on the delegate reaches none of the applications made under
// it. Revoking a revoked one changes nothing and says so.
func (s *Store) RevokeDelegation(ctx context.Context, id, operator, reason, remote string) error {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return problem.Fields{"reason": "sportello.error.revoke_reason"}
	case utf8.RuneCountInString(reason) > MaxNote:
		return problem.Fields{"reason": "sportello.error.reason_long"}
	}
	if !ValidID(id) {
		return ErrNotFound
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sportello_delegations SET revoked_at = $2, revoked_by = $3, revoke_reason = $4
			WHERE id = $1 AND revoked_at IS NULL`, id, s.now(), operator, reason)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			// Revoked already, or none: asked on the transaction's own
			// connection (a second one from the pool could wait for ever).
			var found int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sportello_delegations WHERE id = $1`, id).Scan(&found); err != nil {
				return err
			}
			if found == 0 {
				return ErrNotFound
			}
			return problem.New(problem.Conflict, "sportello.error.revoked_already", errors.New("the delegation was revoked already"))
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + operator, Action: "sportello.delegation.revoked", Subject: "delegation:" + id,
			Remote: remote})
	})
}

// DelegationsFor lists the delegations in force today that let the
// person with the proven fiscal code act for service ("" for any).
func (s *Store) DelegationsFor(ctx context.Context, fiscalCode, service string) ([]Delegation, error) {
	if fiscalCode == "" {
		return nil, nil
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT `+delegationColumns+` FROM sportello_delegations
		WHERE delegate_fiscal_code = $1 AND valid_until >= $2 AND revoked_at IS NULL ORDER BY holder_family_name, holder_given_name, id`,
		fiscalCode, Day(s.now()))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Delegation
	for rows.Next() {
		d, err := scanDelegation(rows)
		if err != nil {
			return nil, err
		}
		if service == "" || d.Covers(service) {
			out = append(out, *d)
		}
	}
	return out, rows.Err()
}

// Delegations lists the desk's delegations, the newest first, a page of
// PageSize (page from 1), with how many there are.
func (s *Store) Delegations(ctx context.Context, page int) ([]Delegation, int, error) {
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM sportello_delegations`).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT `+delegationColumns+` FROM sportello_delegations ORDER BY recorded_at DESC, id LIMIT $1 OFFSET $2`,
		PageSize, (max(page, 1)-1)*PageSize)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []Delegation
	for rows.Next() {
		d, err := scanDelegation(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, *d)
	}
	return out, total, rows.Err()
}

// delegationInForceTx reads the delegation id in tx, locked until tx
// ends (a revocation at the same moment waits or is waited for), and
// checks it lets the person with the proven fiscal code act for service
// today.
func (s *Store) delegationInForceTx(ctx context.Context, tx *sql.Tx, id, fiscalCode, service string) (*Delegation, error) {
	if !ValidID(id) || fiscalCode == "" {
		return nil, ErrDelegation
	}
	// #nosec G202 -- delegationColumns and ForUpdate are constant SQL text; the values are parameters
	d, err := scanDelegation(tx.QueryRowContext(ctx, `SELECT `+delegationColumns+` FROM sportello_delegations WHERE id = $1`+s.DB.ForUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrDelegation
	}
	if err != nil {
		return nil, err
	}
	if d.DelegateFiscalCode != fiscalCode || !d.InForce(Day(s.now())) || !d.Covers(service) {
		return nil, ErrDelegation
	}
	return d, nil
}
