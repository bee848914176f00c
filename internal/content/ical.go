package content

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/civico-pa/civico/internal/ical"
	"github.com/civico-pa/civico/internal/town"
)

// calendar writes events as an iCalendar feed. An event's UID is its id
// and its DTSTAMP its last change: the same at every download, so a
// subscribed calendar updates the event instead of adding it again.
func calendar(name, base string, t town.Profile, events []EventView) string {
	var b strings.Builder
	line := func(s string) { b.WriteString(ical.Line(s)) }
	line("BEGIN:VCALENDAR")
	line("VERSION:2.0")
	line("PRODID:-//civico//events//IT")
	line("CALSCALE:GREGORIAN")
	line("METHOD:PUBLISH")
	line("X-WR-CALNAME:" + ical.Escape(name))
	line("X-WR-TIMEZONE:Europe/Rome")
	host := strings.TrimPrefix(strings.TrimPrefix(base, "https://"), "http://")
	for _, e := range events {
		line("BEGIN:VEVENT")
		line("UID:" + e.ID + "@" + host)
		line("DTSTAMP:" + e.UpdatedAt.UTC().Format(ical.UTC))
		line("LAST-MODIFIED:" + e.UpdatedAt.UTC().Format(ical.UTC))
		line("DTSTART:" + e.StartsAt.UTC().Format(ical.UTC))
		line("DTEND:" + e.EndsAt.UTC().Format(ical.UTC))
		line("SUMMARY;LANGUAGE=it:" + ical.Escape(e.Title.IT))
		line("DESCRIPTION;LANGUAGE=it:" + ical.Escape(e.Summary.IT))
		line("URL:" + base + e.Path())
		if p := e.Place; p != nil {
			where := p.Title.IT
			if p.Address != "" {
				where += ", " + p.Address + ", " + p.PostalCode + " " + t.Name
			}
			line("LOCATION:" + ical.Escape(where))
			if p.HasCoords {
				line("GEO:" + strconv.FormatFloat(p.Lat, 'f', 6, 64) + ";" + strconv.FormatFloat(p.Lon, 'f', 6, 64))
			}
		}
		line("STATUS:CONFIRMED")
		line("END:VEVENT")
	}
	line("END:VCALENDAR")
	return b.String()
}

// base is the portal's public address: the configured one, so that links
// and ids do not depend on how the request arrived.
func (h *Web) base(r *http.Request) string {
	if h.BaseURL != "" {
		return strings.TrimSuffix(h.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (h *Web) writeICS(w http.ResponseWriter, r *http.Request, filename, body string) {
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", `inline; filename="`+filename+`.ics"`)
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write([]byte(body))
}

// eventICS serves one event as an iCalendar file, to add it to a calendar.
func (h *Web) eventICS(w http.ResponseWriter, r *http.Request) {
	e, err := h.Store.Published(r.Context(), KindEvent, r.PathValue("slug"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	views, err := h.Store.WithPlaces(r.Context(), []Entry{*e})
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	t, _ := h.App.Town.Get(r.Context())
	h.writeICS(w, r, e.Slug, calendar(e.Title.IT, h.base(r), t, views))
}

// eventsICS serves the coming events as a feed residents subscribe to.
func (h *Web) eventsICS(w http.ResponseWriter, r *http.Request) {
	events, _, err := h.Store.Events(r.Context(), h.now(), false, "", 1, EventsFeedSize)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	views, err := h.Store.WithPlaces(r.Context(), events)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	t, _ := h.App.Town.Get(r.Context())
	h.writeICS(w, r, "eventi", calendar(t.FullName()+" — Eventi", h.base(r), t, views))
}
