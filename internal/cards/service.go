package cards

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/attachments"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/jobs"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/token"
)

// Service is the cards' rules: the registry, the envelopes and their
// delivery at the URP.
type Service struct {
	DB          *db.DB
	Registry    *Registry
	Keys        *Keys
	Audit       audit.Writer
	Attachments *attachments.Store
	// Jobs queues the back office's uploads (Accept); nil on the
	// command line, which imports at once.
	Jobs jobs.Enqueuer
	// Place is where PINs are handed out, as the resident reads it
	// (CIVICO_CARDS_PLACE).
	Place string
	// Town names the town on the letter.
	Town func(ctx context.Context) string
	Now  func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

// Who collects an envelope.
const (
	Holder   = "holder"
	Delegate = "delegate"
)

// DocTypes are the identity documents the URP accepts.
var DocTypes = []string{"carta_identita", "cie", "passaporto", "patente"}

// The ways the holder's receipt is recorded.
const (
	// Attestation: the operator attests, under their name, that the
	// person signed the paper receipt in front of them.
	Attestation = "attestation"
	// Scan: the signed paper receipt, scanned and attached.
	Scan = "scan"
)

// Delivery is a request to hand an envelope out.
type Delivery struct {
	EnvelopeID string
	Collector  string
	// DocType, DocNumber, DocExpiry (YYYY-MM-DD) and DocIssuer are the
	// identity document of whoever collects (the holder or the delegate).
	DocType, DocNumber, DocExpiry, DocIssuer string
	// DelegateName and DelegateFiscalCode, for a delegate; the signed
	// delegation (with a copy of the holder's document) is Delegation.
	DelegateName, DelegateFiscalCode string
	Delegation                       *attachments.Staged
	// Receipt is Attestation (Attested must be true) or Scan (ReceiptScan).
	Receipt     string
	Attested    bool
	ReceiptScan *attachments.Staged
	// OperatorID and OperatorName are the URP operator's.
	OperatorID, OperatorName, Remote string
}

// Delivered is a delivery as recorded.
type Delivered struct {
	ID, EnvelopeID, EnvelopeRef, Serial, FiscalCode string
	DeliveredAt                                     time.Time
	Place, OperatorID, OperatorName, Collector      string
	DelegateName, DelegateFiscalCode                string
	DocType, DocNumber, DocExpiry, DocIssuer        string
	Receipt, ReceiptAttachment, DelegationAttach    string
}

var docNumberRE = func(s string) bool {
	if len(s) < 5 || len(s) > 20 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// check validates what the operator wrote, field by field.
func (d *Delivery) check(today string) problem.Fields {
	fe := problem.Fields{}
	d.DocNumber = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(d.DocNumber), " ", ""))
	d.DocIssuer, d.DocExpiry = strings.TrimSpace(d.DocIssuer), strings.TrimSpace(d.DocExpiry)
	d.DelegateName, d.DelegateFiscalCode = strings.TrimSpace(d.DelegateName), strings.ToUpper(strings.TrimSpace(d.DelegateFiscalCode))
	if d.Collector != Holder && d.Collector != Delegate {
		fe["collector"] = "cards.error.collector"
	}
	known := false
	for _, t := range DocTypes {
		known = known || t == d.DocType
	}
	if !known {
		fe["doc_type"] = "cards.error.doc_type"
	}
	if !docNumberRE(d.DocNumber) {
		fe["doc_number"] = "cards.error.doc_number"
	}
	if _, err := time.Parse(time.DateOnly, d.DocExpiry); err != nil {
		fe["doc_expiry"] = "cards.error.date"
	} else if d.DocExpiry < today {
		fe["doc_expiry"] = "cards.error.doc_expired"
	}
	if n := len([]rune(d.DocIssuer)); n < 2 || n > 120 {
		fe["doc_issuer"] = "cards.error.doc_issuer"
	}
	if d.Collector == Delegate {
		if n := len([]rune(d.DelegateName)); n < 3 || n > 120 {
			fe["delegate_name"] = "cards.error.delegate_name"
		}
		if _, err := cf.Parse(d.DelegateFiscalCode); err != nil {
			fe["delegate_fiscal_code"] = "cards.error.fiscal_code"
		}
		if d.Delegation == nil {
			fe["delegation"] = "cards.error.delegation"
		}
	}
	switch d.Receipt {
	case Attestation:
		if !d.Attested {
			fe["attested"] = "cards.error.attested"
		}
	case Scan:
		if d.ReceiptScan == nil {
			fe["receipt_scan"] = "cards.error.receipt_scan"
		}
	default:
		fe["receipt"] = "cards.error.receipt"
	}
	return fe
}

// ErrRefusedEnvelope is an envelope that did not open for the town, or
// held another card's PIN, or one delivered before (a replay): it is
// destroyed and the card needs a new one.
var ErrRefusedEnvelope = problem.New(problem.Conflict, "cards.error.envelope_refused", errors.New("cards: the envelope was refused"))

// ErrCardNotActive is a card the registry says is suspended, revoked or
// expired: its PIN is not handed out.
var ErrCardNotActive = problem.New(problem.Conflict, "cards.error.card_not_active", errors.New("cards: the card is not active"))

// Deliver hands an envelope out: in one transaction it claims the
// envelope (a second operator delivering it at once finds it no longer
// pending), decrypts it, destroys its ciphertext, records the delivery
// with the identification and the receipt, and writes the audit entries.
// It returns the letter to print, made before the commit and shown only
// if it committed. An envelope that does not open, is not the card's or
// was delivered before is refused: its refusal is recorded and its
// ciphertext destroyed just the same.
func (s *Service) Deliver(ctx context.Context, d Delivery) (*Delivered, []byte, error) {
	now := s.now()
	today := now.In(hours.Rome).Format(time.DateOnly)
	if fe := d.check(today); len(fe) > 0 {
		return nil, nil, fe
	}
	town := "Comune"
	if s.Town != nil {
		town = s.Town(ctx)
	}
	var out *Delivered
	var letter []byte
	var refusal error
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var serial, status string
		var cipher sql.NullString
		// The claim: the row is locked (PostgreSQL) or the writer held
		// (SQLite) until the commit; a second delivery waits, then finds
		// the envelope closed.
		res, err := tx.ExecContext(ctx, `UPDATE card_envelopes SET status = 'delivering' WHERE id = $1 AND status = 'pending'`, d.EnvelopeID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			err := tx.QueryRowContext(ctx, `SELECT status FROM card_envelopes WHERE id = $1`, d.EnvelopeID).Scan(&status)
			if errors.Is(err, sql.ErrNoRows) {
				return problem.New(problem.NotFound, "", errors.New("cards: no such envelope"))
			}
			if err != nil {
				return err
			}
			return ErrNotPending
		}
		if err := tx.QueryRowContext(ctx, `SELECT serial, ciphertext FROM card_envelopes WHERE id = $1`, d.EnvelopeID).Scan(&serial, &cipher); err != nil {
			return err
		}
		card, err := scanCard(tx.QueryRowContext(ctx, selectCard+` WHERE serial = $1`, serial))
		if err != nil {
			return err
		}
		if card.Status != Active || card.ExpiresOn < today {
			return ErrCardNotActive
		}
		ids, err := s.Keys.identities(ctx, tx)
		if err != nil {
			return err
		}
		raw, err := base64.StdEncoding.DecodeString(cipher.String)
		var sec *Secret
		if err == nil {
			sec, err = open(raw, ids, card)
		}
		if err == nil {
			var dup int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM card_deliveries WHERE envelope_ref = $1`, sec.Ref).Scan(&dup); err != nil {
				return err
			}
			if dup > 0 {
				err = fmt.Errorf("%w: envelope %s was delivered before (a replay)", errEnvelope, sec.Ref)
			}
		}
		if err != nil {
			// Refused, for good: recorded and destroyed in this
			// transaction, which commits.
			refusal = fmt.Errorf("%w: %v", ErrRefusedEnvelope, err)
			if _, err := tx.ExecContext(ctx, `UPDATE card_envelopes SET status = 'refused', ciphertext = NULL, closed_at = $1 WHERE id = $2`, now, d.EnvelopeID); err != nil {
				return err
			}
			return s.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + d.OperatorID, Action: "cards.envelope.refused", Subject: "card:" + serial,
				Remote: d.Remote, Details: map[string]string{"envelope": d.EnvelopeID, "reason": err.Error()}})
		}
		out = &Delivered{ID: token.ID(), EnvelopeID: d.EnvelopeID, EnvelopeRef: sec.Ref, Serial: serial, FiscalCode: card.FiscalCode, DeliveredAt: now,
			Place: s.Place, OperatorID: d.OperatorID, OperatorName: d.OperatorName, Collector: d.Collector, DocType: d.DocType, DocNumber: d.DocNumber,
			DocExpiry: d.DocExpiry, DocIssuer: d.DocIssuer, Receipt: d.Receipt}
		if d.Collector == Delegate {
			out.DelegateName, out.DelegateFiscalCode = d.DelegateName, d.DelegateFiscalCode
			a, err := s.Attachments.Add(ctx, tx, attachments.Record("cards", "delivery", out.ID), d.Delegation)
			if err != nil {
				return err
			}
			out.DelegationAttach = a.ID
		}
		if d.Receipt == Scan {
			a, err := s.Attachments.Add(ctx, tx, attachments.Record("cards", "delivery", out.ID), d.ReceiptScan)
			if err != nil {
				return err
			}
			out.ReceiptAttachment = a.ID
		}
		if letter, err = Letter(LetterData{Town: town, Secret: sec, Card: card, Place: s.Place, When: now, Collector: d.Collector, Delegate: d.DelegateName}); err != nil {
			return err
		}
		// The secret is destroyed with the delivery's record: after this
		// commit no copy of the PIN exists at the town but the letter.
		if _, err := tx.ExecContext(ctx, `UPDATE card_envelopes SET status = 'delivered', ciphertext = NULL, closed_at = $1 WHERE id = $2`, now, d.EnvelopeID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO card_deliveries (id, envelope_id, envelope_ref, serial, fiscal_code, delivered_at, day, place,
			operator_id, operator_name, collector, delegate_name, delegate_fiscal_code, doc_type, doc_number, doc_expiry, doc_issuer, receipt,
			receipt_attachment, delegation_attachment) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
			out.ID, out.EnvelopeID, out.EnvelopeRef, out.Serial, out.FiscalCode, out.DeliveredAt, today, out.Place, out.OperatorID, out.OperatorName,
			out.Collector, out.DelegateName, out.DelegateFiscalCode, out.DocType, out.DocNumber, out.DocExpiry, out.DocIssuer, out.Receipt,
			out.ReceiptAttachment, out.DelegationAttach); err != nil {
			if db.IsUniqueViolation(err) {
				return ErrRefusedEnvelope
			}
			return err
		}
		actor := "account:" + d.OperatorID
		details := map[string]string{"envelope": d.EnvelopeID, "collector": d.Collector, "doc_type": d.DocType, "receipt": d.Receipt}
		if d.Collector == Delegate {
			details["delegate_fiscal_code"] = d.DelegateFiscalCode
		}
		for _, e := range []audit.Entry{
			{Actor: actor, Action: "cards.pin.identified", Subject: "card:" + serial, Remote: d.Remote, Details: details},
			{Actor: actor, Action: "cards.pin.decrypted", Subject: "card:" + serial, Remote: d.Remote, Details: map[string]string{"envelope": d.EnvelopeID}},
			{Actor: actor, Action: "cards.pin.destroyed", Subject: "card:" + serial, Remote: d.Remote, Details: map[string]string{"envelope": d.EnvelopeID}},
			{Actor: actor, Action: "cards.pin.delivered", Subject: "card:" + serial, Remote: d.Remote, Details: map[string]string{"delivery": out.ID, "place": s.Place}},
		} {
			if err := s.Audit.Write(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if refusal != nil {
		return nil, nil, refusal
	}
	return out, letter, nil
}

const selectDelivery = `SELECT id, envelope_id, envelope_ref, serial, fiscal_code, delivered_at, place, operator_id, operator_name, collector,
	delegate_name, delegate_fiscal_code, doc_type, doc_number, doc_expiry, doc_issuer, receipt, receipt_attachment, delegation_attachment FROM card_deliveries`

func scanDelivery(s interface{ Scan(...any) error }) (*Delivered, error) {
	d := &Delivered{}
	err := s.Scan(&d.ID, &d.EnvelopeID, &d.EnvelopeRef, &d.Serial, &d.FiscalCode, &d.DeliveredAt, &d.Place, &d.OperatorID, &d.OperatorName, &d.Collector,
		&d.DelegateName, &d.DelegateFiscalCode, &d.DocType, &d.DocNumber, &d.DocExpiry, &d.DocIssuer, &d.Receipt, &d.ReceiptAttachment, &d.DelegationAttach)
	d.DeliveredAt = d.DeliveredAt.UTC()
	return d, err
}

func (s *Service) deliveries(ctx context.Context, where string, limit, offset int, args ...any) ([]*Delivered, error) {
	args = append(args, limit, offset)
	q := fmt.Sprintf(`%s WHERE %s ORDER BY delivered_at DESC, id LIMIT $%d OFFSET $%d`, selectDelivery, where, len(args)-1, len(args))
	rows, err := s.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Delivered
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Mine lists the deliveries of the PINs of a fiscal code's cards (the
// resident's own: the fiscal code is in the WHERE clause).
func (s *Service) Mine(ctx context.Context, fiscalCode string, limit int) ([]*Delivered, error) {
	return s.deliveries(ctx, `fiscal_code = $1`, limit, 0, fiscalCode)
}

// Report is the URP's day: how many PINs were handed out, how, and each.
type Report struct {
	Day                             string
	Total, Holders, Delegates, Scan int
	List                            []*Delivered
}

// PageSize is the rows of one page of a list.
const PageSize = 50

// DailyReport is the deliveries of day (YYYY-MM-DD, Rome time), page
// page of them.
func (s *Service) DailyReport(ctx context.Context, day string, page int) (*Report, error) {
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return nil, problem.Fields{"giorno": "cards.error.date"}
	}
	r := &Report{Day: day}
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN collector = 'holder' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN receipt = 'scan' THEN 1 ELSE 0 END), 0) FROM card_deliveries WHERE day = $1`, day).Scan(&r.Total, &r.Holders, &r.Scan); err != nil {
		return nil, err
	}
	r.Delegates = r.Total - r.Holders
	var err error
	r.List, err = s.deliveries(ctx, `day = $1`, PageSize, (max(page, 1)-1)*PageSize, day)
	return r, err
}
