package payments

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/civico-pa/civico/internal/db"
)

// Biller lets another feature (a certificate's stamp duty, a school's
// tariff) make a payable position for a resident inside its own
// transaction, so that its record and the bill commit together. The
// consumer declares the interface it needs in its own words, e.g.
//
//	type Biller interface {
//		Bill(ctx context.Context, tx *sql.Tx, p payments.NewPosition) (payments.Notice, error)
//	}
//
// and cmd/civico hands it Module.Biller().
type Biller struct{ m *Module }

// Biller is the feature's Biller; usable once the feature is wired.
func (m *Module) Biller() *Biller { return &Biller{m: m} }

// ErrNotWired: the payments feature is not wired (yet).
var ErrNotWired = errors.New("payments: the feature is not wired")

// Bill records p in tx and returns the notice to pay it in one go (the
// single payment, or the first instalment when there is none). Source
// names the calling feature ("desk", "schools"); ExternalID, when set,
// makes the bill idempotent: billing the same id again is refused with a
// problem.Fields on external_id, and nothing is written.
func (b *Biller) Bill(ctx context.Context, tx *sql.Tx, p NewPosition) (Notice, error) {
	if b.m == nil || b.m.Service == nil {
		return Notice{}, ErrNotWired
	}
	if p.Source == "" {
		p.Source = "feature"
	}
	pos, err := b.m.Service.CreateTx(ctx, tx, p, Actor{Name: "feature:" + p.Source})
	if err != nil {
		return Notice{}, err
	}
	return pos.Notices[0], nil
}

// MaxStatuses is the most external ids one Statuses call asks about.
const MaxStatuses = 500

// Statuses returns the status (StatusOpen, StatusPaid, ...) of the
// positions source billed under the given external ids; an id it did not
// bill is absent. A feature learns this way that a bill it made was paid,
// cancelled or expired, without reading payments' tables.
func (b *Biller) Statuses(ctx context.Context, source string, externalIDs []string) (map[string]string, error) {
	if b.m == nil || b.m.Service == nil {
		return nil, ErrNotWired
	}
	if len(externalIDs) > MaxStatuses {
		return nil, fmt.Errorf("payments: %d external ids in one call, at most %d", len(externalIDs), MaxStatuses)
	}
	out := make(map[string]string, len(externalIDs))
	if len(externalIDs) == 0 {
		return out, nil
	}
	in, args := db.InList([]any{source}, externalIDs)
	rows, err := b.m.Service.DB.QueryContext(ctx, `SELECT external_id, status FROM payments_positions WHERE source = $1 AND external_id IN `+in, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, st string
		if err := rows.Scan(&id, &st); err != nil {
			return nil, err
		}
		out[id] = st
	}
	return out, rows.Err()
}
