package payments

import (
	"context"
	"time"

	"github.com/civico-pa/civico/internal/cf"
)

// Paid is one receipt as the dashboard counts it: when it was recorded,
// the position's category, the channel (checkout: paid on the portal;
// node: paid elsewhere through pagoPA, at a bank, a shop, an app) and the
// debtor's sex where their fiscal code gives it (a company's has none).
type Paid struct {
	At                     time.Time
	Category, Channel, Sex string
}

// Receipts are the receipts recorded in [from, to): what the dashboard adds
// to its counters of payments online against the total as they happen (an
// index range on recorded_at).
func (s *Service) Receipts(ctx context.Context, from, to time.Time) ([]Paid, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT recorded_at, category, channel, debtor_cf FROM payments_receipts
		WHERE recorded_at >= $1 AND recorded_at < $2 ORDER BY recorded_at`, from.UTC(), to.UTC())
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []Paid
	for rows.Next() {
		var p Paid
		var code string
		if err := rows.Scan(&p.At, &p.Category, &p.Channel, &code); err != nil {
			return nil, err
		}
		if c, err := cf.Parse(code); err == nil {
			p.Sex = c.Sex()
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
