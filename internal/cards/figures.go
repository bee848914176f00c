package cards

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/hours"
	tokens "github.com/civico-pa/civico/internal/token"
)

// PIN is one PIN handed out, as the dashboard counts it: when, and
// the holder's sex (from the holder's fiscal code).
type PIN struct {
	At  time.Time
	Sex string
}

// PINs are the PINs handed out in [from, to), in order: what the
// dashboard adds to its counters as they happen. The holder's fiscal code
// is read here and only their sex leaves the package.
func (s *Service) PINs(ctx context.Context, from, to time.Time) ([]PIN, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT delivered_at, fiscal_code FROM card_deliveries
		WHERE delivered_at >= $1 AND delivered_at < $2 ORDER BY delivered_at`, from.UTC(), to.UTC())
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []PIN
	for rows.Next() {
		var d PIN
		var code string
		if err := rows.Scan(&d.At, &code); err != nil {
			return nil, err
		}
		if c, err := cf.Parse(code); err == nil {
			d.Sex = c.Sex()
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// HistoricDelivery is a PIN the URP handed out before civico, from its
// paper register: the card, its holder and when.
type HistoricDelivery struct {
	Serial, FiscalCode string
	At                 time.Time
}

// ImportHistory records the URP's earlier deliveries in one transaction,
// under one import of kind "history": each card (active, issued the day of
// its delivery, valid six years), an envelope already delivered (it never
// held a secret here) and the delivery, attested on paper at place. A
// second import of the same list is refused (its digest is known).
func (s *Service) ImportHistory(ctx context.Context, place, actor string, list []HistoricDelivery) error {
	if len(list) == 0 {
		return nil
	}
	sum := sha256.New()
	for _, d := range list {
		if _, err := cf.Parse(d.FiscalCode); err != nil || !serialRE.MatchString(d.Serial) || d.At.IsZero() {
			return errors.New("cards: a historic delivery needs a card number, a valid fiscal code and a time")
		}
		sum.Write([]byte(d.Serial + ";" + d.FiscalCode + ";" + d.At.UTC().Format(time.RFC3339) + "\n"))
	}
	digest := hex.EncodeToString(sum.Sum(nil))
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		importID := tokens.ID()
		if _, err := tx.ExecContext(ctx, `INSERT INTO card_imports (id, kind, file_name, sha256, lines, actor, created_at) VALUES ($1, 'history', 'history', $2, $3, $4, $5)`,
			importID, digest, len(list), actor, time.Now().UTC()); err != nil {
			return err
		}
		// Many rows a statement: years of the URP's register in seconds.
		const batch = 200
		for first := 0; first < len(list); first += batch {
			part := list[first:min(first+batch, len(list))]
			var qc, qe, qd strings.Builder
			qc.WriteString(`INSERT INTO cards (serial, fiscal_code, issued_on, expires_on, status, import_id, updated_at) VALUES `)
			qe.WriteString(`INSERT INTO card_envelopes (id, serial, sha256, ciphertext, status, import_id, imported_at, closed_at) VALUES `)
			qd.WriteString(`INSERT INTO card_deliveries (id, envelope_id, envelope_ref, serial, fiscal_code, delivered_at, day, place,
				operator_id, operator_name, collector, doc_type, doc_number, doc_expiry, doc_issuer, receipt) VALUES `)
			var ac, ae, ad []any
			for i, d := range part {
				sep := ""
				if i > 0 {
					sep = ", "
				}
				at := d.At.UTC()
				day := at.In(hours.Rome).Format(time.DateOnly)
				n := len(ac)
				fmt.Fprintf(&qc, "%s($%d, $%d, $%d, $%d, $%d, $%d, $%d)", sep, n+1, n+2, n+3, n+4, n+5, n+6, n+7)
				ac = append(ac, d.Serial, d.FiscalCode, day, at.In(hours.Rome).AddDate(6, 0, 0).Format(time.DateOnly), string(Active), importID, at)
				envID := tokens.ID()
				n = len(ae)
				fmt.Fprintf(&qe, "%s($%d, $%d, $%d, NULL, 'delivered', $%d, $%d, $%d)", sep, n+1, n+2, n+3, n+4, n+5, n+5)
				ae = append(ae, envID, d.Serial, "history:"+d.Serial, importID, at)
				n = len(ad)
				fmt.Fprintf(&qd, "%s($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, '', $%d, 'holder', 'carta_identita', '', '', '', 'attestation')",
					sep, n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9)
				ad = append(ad, tokens.ID(), envID, "history:"+d.Serial, d.Serial, d.FiscalCode, at, day, place, actor)
			}
			for _, q := range []struct {
				sql  string
				args []any
			}{{qc.String(), ac}, {qe.String(), ae}, {qd.String(), ad}} {
				if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// HistoryImported says whether an earlier register was imported
// (ImportHistory), so that a demo loads its history once.
func (s *Service) HistoryImported(ctx context.Context) (bool, error) {
	var n int
	err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM card_imports WHERE kind = 'history'`).Scan(&n)
	return n > 0, err
}
