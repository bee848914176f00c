package booking

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/ical"
	"github.com/civico-pa/civico/internal/identity"
	tokens "github.com/civico-pa/civico/internal/token"
	"github.com/civico-pa/civico/internal/web"
)

// Each office's appointments as an iCalendar feed (RFC 5545) its operators
// subscribe to in their calendar: a secret address an operator makes in
// the agenda (calendar programs cannot log in). The feed holds the least
// the counter needs to prepare: time, service, code and state, never the
// resident's name or contacts (those are in the agenda, behind the login).

// FeedPath is where the feeds are served.
const FeedPath = "/appuntamenti/calendario"

// The feed's window: a week back, two months ahead.
const (
	FeedBack  = 7 * 24 * time.Hour
	FeedAhead = 62 * 24 * time.Hour
	// FeedMax bounds the events of a feed.
	FeedMax = 5000
)

// NewFeed makes (or replaces) an office's feed and returns its token,
// which is shown once.
func (s *Store) NewFeed(ctx context.Context, officeID, operator, remote string) (string, error) {
	token := tokens.Secret(24)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO booking_feeds (office_id, token_hash, created_at, created_by) VALUES ($1, $2, $3, $4)
			ON CONFLICT (office_id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at, created_by = excluded.created_by`,
			officeID, tokens.Hash(token), s.now(), operator); err != nil {
			return err
		}
		return s.audit(ctx, tx, operator, "booking.feed.new", officeID, remote, nil)
	})
	return token, err
}

// FeedMade is when the office's feed was made (zero: none).
func (s *Store) FeedMade(ctx context.Context, officeID string) (time.Time, error) {
	var at time.Time
	err := s.DB.QueryRowContext(ctx, `SELECT created_at FROM booking_feeds WHERE office_id = $1`, officeID).Scan(&at)
	if err == sql.ErrNoRows {
		return time.Time{}, nil
	}
	return at, err
}

// FeedOffice is the office a feed's token opens.
func (s *Store) FeedOffice(ctx context.Context, token string) (string, error) {
	if token == "" || len(token) > 64 {
		return "", ErrNotFound
	}
	var office string
	err := s.DB.QueryRowContext(ctx, `SELECT office_id FROM booking_feeds WHERE token_hash = $1`, tokens.Hash(token)).Scan(&office)
	if err == sql.ErrNoRows {
		return "", ErrNotFound
	}
	return office, err
}

// feed serves an office's calendar.
func (h *Web) feed(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutSuffix(r.PathValue("token"), ".ics")
	if !ok {
		h.App.Fail(w, r, ErrNotFound)
		return
	}
	officeID, err := h.Store.FeedOffice(r.Context(), token)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	dir, err := h.Catalogue(r.Context())
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	now := h.now()
	rows, err := h.Store.DB.QueryContext(r.Context(), `SELECT `+columns+` FROM bookings WHERE office_id = $1 AND start_at >= $2 AND start_at < $3
		AND state IN ('pending', 'confirmed', 'cancelled') ORDER BY start_at, id LIMIT $4`, officeID, now.Add(-FeedBack), now.Add(FeedAhead), FeedMax)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	defer rows.Close()
	var b strings.Builder
	line := func(v string) { b.WriteString(ical.Line(v)) }
	office, _ := dir.Office(officeID)
	name := officeID
	if office != nil {
		name = office.Name
	}
	line("BEGIN:VCALENDAR")
	line("VERSION:2.0")
	line("PRODID:-//civico//booking office feed//IT")
	line("CALSCALE:GREGORIAN")
	line("METHOD:PUBLISH")
	line("X-WR-CALNAME:" + ical.Escape("Appuntamenti – "+name))
	for rows.Next() {
		bk, err := scan(rows)
		if err != nil {
			h.App.Fail(w, r, err)
			return
		}
		_, service := placeOf(dir, bk)
		line("BEGIN:VEVENT")
		line("UID:" + bk.ID + "@office.booking.civico")
		line("DTSTAMP:" + now.UTC().Format(ical.UTC))
		line("DTSTART:" + bk.Start.UTC().Format(ical.UTC))
		line("DTEND:" + bk.End.UTC().Format(ical.UTC))
		line("SUMMARY:" + ical.Escape(service.Title+" – "+bk.Code))
		switch bk.State {
		case Cancelled:
			line("STATUS:CANCELLED")
		case Pending:
			line("STATUS:TENTATIVE")
		default:
			line("STATUS:CONFIRMED")
		}
		line("END:VEVENT")
	}
	if err := rows.Err(); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	line("END:VCALENDAR")
	hd := w.Header()
	hd.Set("Content-Type", "text/calendar; charset=utf-8")
	hd.Set("Cache-Control", "private, no-store")
	hd.Set("X-Robots-Tag", "noindex")
	_, _ = w.Write([]byte(b.String()))
}

// boNewFeed makes an office's feed and shows its address once.
func (h *Web) boNewFeed(w http.ResponseWriter, r *http.Request) {
	_, o, ok := h.officeForm(w, r, 1<<10)
	if !ok {
		return
	}
	acc, _ := identity.Current(r.Context())
	token, err := h.Store.NewFeed(r.Context(), o.ID, acc.ID, web.RemoteAddr(r))
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	h.renderAgenda(w, r, http.StatusOK, &AgendaData{FeedURL: h.BaseURL + FeedPath + "/" + token + ".ics"})
}
