package booking

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	tokens "github.com/civico-pa/civico/internal/token"
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

// HistoricBooking is an appointment of the past, kept (confirmed), with
// no one's data: the demo's history for the figures and the dashboard.
type HistoricBooking struct {
	OfficeID, ServiceID string
	Start, Created      time.Time
	Minutes             int
	// Sex is the booker's proven sex, "" unknown.
	Sex string
}

// historyHolder is the holder of the historic bookings.
const historyHolder = "history"

// HistoryImported reports whether a history of bookings was imported.
func (s *Store) HistoryImported(ctx context.Context) (bool, error) {
	var n int
	err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM bookings WHERE holder = $1`, historyHolder).Scan(&n)
	return n > 0, err
}

// ImportHistory adds past appointments, kept, without anyone's data (no
// account, mail or name), in one transaction.
func (s *Store) ImportHistory(ctx context.Context, list []HistoricBooking) error {
	for _, b := range list {
		if b.Sex != "" && b.Sex != "F" && b.Sex != "M" {
			return errors.New("booking: a historic booking's sex is F, M or empty")
		}
		if b.Created.After(b.Start) || b.Minutes <= 0 || b.OfficeID == "" || b.ServiceID == "" {
			return errors.New("booking: a historic booking is made before it starts, lasts and has an office and a service")
		}
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		const batch = 200
		for start := 0; start < len(list); start += batch {
			part := list[start:min(start+batch, len(list))]
			var q strings.Builder
			q.WriteString(`INSERT INTO bookings (id, code, office_id, service_id, start_at, end_at, start_unix, holder, email, given_name, family_name,
				state, link_hash, created_at, sex) VALUES `)
			args := make([]any, 0, 11*len(part))
			for i, b := range part {
				if i > 0 {
					q.WriteString(", ")
				}
				n := len(args)
				fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, '', '', '', 'confirmed', $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9, n+10, n+11)
				end := b.Start.Add(time.Duration(b.Minutes) * time.Minute)
				args = append(args, tokens.ID(), newCode(), b.OfficeID, b.ServiceID, b.Start.UTC(), end.UTC(), Key(b.Start), historyHolder,
					tokens.Hash(tokens.ID()), b.Created.UTC(), b.Sex)
			}
			if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
				return err
			}
		}
		return nil
	})
}
