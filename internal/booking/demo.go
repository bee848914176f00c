package booking

import (
	"context"
	"database/sql"
)

// DemoOffers are the demo town's services by appointment: its registry
// offices, the multi-purpose desk, taxes and the social workers.
var DemoOffers = []Offer{
	{OfficeID: "anagrafe", ServiceID: "carta-identita-elettronica", Minutes: 20, Counters: 2, MaxFuture: 1},
	{OfficeID: "sportello-unico-cittadino", ServiceID: "carta-identita-elettronica", Minutes: 20, Counters: 3, MaxFuture: 1},
	{OfficeID: "anagrafe", ServiceID: "cambio-residenza", Minutes: 30, Counters: 1, MaxFuture: 1},
	{OfficeID: "anagrafe", ServiceID: "autentica-firme-copie", Minutes: 10, Counters: 1, MaxFuture: 2, Anonymous: true},
	{OfficeID: "sportello-unico-cittadino", ServiceID: "autentica-firme-copie", Minutes: 10, Counters: 2, MaxFuture: 2, Anonymous: true},
	{OfficeID: "stato-civile", ServiceID: "matrimonio-civile", Minutes: 60, Counters: 1, MaxFuture: 1},
	{OfficeID: "tributi", ServiceID: "tari", Minutes: 30, Counters: 2, MaxFuture: 2},
	{OfficeID: "servizi-sociali", ServiceID: "segretariato-sociale", Minutes: 45, Counters: 1, MaxFuture: 1, Anonymous: true},
}

// SeedDemo adds the demo offers when there is none.
func (s *Store) SeedDemo(ctx context.Context) error {
	var n int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM booking_offers`).Scan(&n); err != nil || n > 0 {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		for _, o := range DemoOffers {
			if _, err := tx.ExecContext(ctx, `INSERT INTO booking_offers (office_id, service_id, minutes, counters, max_future, anonymous, updated_at, updated_by)
				VALUES ($1, $2, $3, $4, $5, $6, $7, 'demo')`, o.OfficeID, o.ServiceID, o.Minutes, o.Counters, o.MaxFuture, o.Anonymous, s.now()); err != nil {
				return err
			}
		}
		return nil
	})
}
