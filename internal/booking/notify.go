package booking

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/ical"
	"github.com/civico-pa/civico/internal/mail"
	"github.com/civico-pa/civico/internal/town"
	"github.com/civico-pa/civico/internal/web"
)

// Notifier writes the booking's mails through the outbox, in the
// transaction of the change they report: the confirmation (with the
// appointment as an iCalendar file), the link to confirm a booking made
// with a mail address, the reminder the day before, the cancellation.
// Every mail carries the booking's link, whose page lets the resident
// cancel (a POST: a mail scanner that follows the link changes nothing).
type Notifier struct {
	Outbox    *mail.Outbox
	I18n      *web.I18n
	Towns     *town.Store
	BaseURL   string
	Catalogue Catalogue
}

// Ready reads what the mails need (the catalogue's names, the town's),
// before the change's transaction.
func (n *Notifier) Ready(ctx context.Context) (Letters, error) {
	if n == nil || n.Outbox == nil {
		return func(context.Context, *sql.Tx, *Booking, string, string) error { return nil }, nil
	}
	dir, err := n.Catalogue(ctx)
	if err != nil {
		return nil, err
	}
	townName := "civico"
	if n.Towns != nil {
		if p, err := n.Towns.Get(ctx); err == nil {
			townName = p.FullName()
		}
	}
	return func(ctx context.Context, tx *sql.Tx, b *Booking, what, link string) error {
		m, err := n.Letter(dir, townName, b, what, link)
		if err != nil {
			return err
		}
		_, err = n.Outbox.Enqueue(ctx, tx, m)
		return err
	}, nil
}

// Letter is the mail of what happened to b.
func (n *Notifier) Letter(dir *Directory, townName string, b *Booking, what, link string) (mail.Message, error) {
	lang := b.Lang
	t := func(id string, args ...any) string {
		if n.I18n == nil {
			return id
		}
		return n.I18n.T(lang, id, args...)
	}
	office, service := placeOf(dir, b)
	start := b.Start.In(hours.Rome)
	args := []any{"Code", b.Code, "Service", service.Title, "Office", office.Name, "Address", office.Address,
		"Date", start.Format("02/01/2006"), "Time", start.Format("15:04") + "–" + b.End.In(hours.Rome).Format("15:04"),
		"Link", n.BaseURL + LinkPath(link), "Town", townName, "Name", b.GivenName, "Minutes", int(PendingFor / time.Minute),
		"Reason", b.Notes}
	if !b.WasStart.IsZero() {
		was := b.WasStart.In(hours.Rome)
		args = append(args, "WasDate", was.Format("02/01/2006"), "WasTime", was.Format("15:04")+"–"+b.WasEnd.In(hours.Rome).Format("15:04"))
	}
	if strings.HasPrefix(what, "cancelled") {
		// The link of a cancelled booking leads to booking another.
		args[13] = n.BaseURL + StartPath
	}
	m := mail.Message{To: b.Email, Subject: t("booking.mail."+what+".subject", args...), Text: t("booking.mail."+what+".text", args...)}
	if what == "booked" || what == "reminder" || what == "moved_by_office" || what == "moved" {
		// The calendar file, and the code as a QR code for the kiosk (the
		// text gives the code too).
		qr, err := CodePNG(b.Code)
		if err != nil {
			return m, err
		}
		m.Attachments = []mail.Attachment{{Name: "appuntamento.ics", MediaType: "text/calendar; charset=utf-8; method=PUBLISH",
			Content: []byte(ICS(b, office, service, townName, n.BaseURL, time.Now()))}, {Name: QRFile, MediaType: "image/png", Content: qr}}
	}
	if m.Subject == "" || strings.HasPrefix(m.Subject, "booking.") {
		return m, fmt.Errorf("booking: no mail for %q", what)
	}
	return m, nil
}

// placeOf is the booking's office and service as the catalogue names
// them; one that left the catalogue is named by its id.
func placeOf(dir *Directory, b *Booking) (*Office, *Service) {
	office, ok := dir.Office(b.OfficeID)
	if !ok {
		office = &Office{ID: b.OfficeID, Name: b.OfficeID}
	}
	service, ok := dir.Service(b.ServiceID)
	if !ok {
		service = &Service{ID: b.ServiceID, Title: b.ServiceID}
	}
	return office, service
}

// LinkPath is the page of a booking's mailed link.
func LinkPath(link string) string { return StartPath + "/link/" + link }

// ICS is the appointment as an iCalendar event (RFC 5545), for the
// resident's calendar: its UID is the booking's and its DTSTAMP when the
// file was made (stamp), so a later file (the reminder's, an office's
// move) updates the first.
func ICS(b *Booking, office *Office, service *Service, townName, baseURL string, stamp time.Time) string {
	var s strings.Builder
	line := func(v string) { s.WriteString(ical.Line(v)) }
	line("BEGIN:VCALENDAR")
	line("VERSION:2.0")
	line("PRODID:-//civico//booking//IT")
	line("CALSCALE:GREGORIAN")
	line("METHOD:PUBLISH")
	line("BEGIN:VEVENT")
	line("UID:" + b.ID + "@booking.civico")
	line("DTSTAMP:" + stamp.UTC().Format(ical.UTC))
	line("DTSTART:" + b.Start.UTC().Format(ical.UTC))
	line("DTEND:" + b.End.UTC().Format(ical.UTC))
	line("SUMMARY:" + ical.Escape(service.Title+" – "+office.Name))
	if office.Address != "" {
		line("LOCATION:" + ical.Escape(office.Name+", "+office.Address))
	}
	line("DESCRIPTION:" + ical.Escape("Codice "+b.Code+" – "+townName))
	if baseURL != "" {
		line("URL:" + baseURL + AreaPath + "/" + b.ID)
	}
	if b.State == Cancelled {
		line("STATUS:CANCELLED")
	} else {
		line("STATUS:CONFIRMED")
	}
	line("END:VEVENT")
	line("END:VCALENDAR")
	return s.String()
}
