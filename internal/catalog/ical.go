package catalog

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/hours"
)

// icsHorizon is how far ahead an office's calendar feed reaches.
const icsHorizon = 60 * 24 * time.Hour

// officeICS serves GET /offices/{id}/hours.ics: the office's openings from
// today for 60 days as an iCalendar feed residents can subscribe to.
func (h *Web) officeICS(w http.ResponseWriter, r *http.Request) {
	c, ok := h.catalog(w, r)
	if !ok {
		return
	}
	o, found := c.Office(r.PathValue("id"))
	if !found {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	now := h.now().UTC()
	town, _ := h.App.Town.Get(r.Context())
	host := h.Host
	if host == "" {
		host = r.Host
	}
	var b strings.Builder
	line := func(s string) { b.WriteString(foldICS(s)) }
	line("BEGIN:VCALENDAR")
	line("VERSION:2.0")
	line("PRODID:-//civico//opening hours//IT")
	line("CALSCALE:GREGORIAN")
	line("METHOD:PUBLISH")
	line("X-WR-CALNAME:" + escapeICS(o.Name))
	line("X-WR-TIMEZONE:Europe/Rome")
	// The feed starts at the beginning of today, so that today's openings
	// start when the office opens whenever the feed is read; each opening's
	// UID is its office, day and time of opening in Rome, the same at every
	// read, so that a subscribed calendar updates it instead of adding it
	// again.
	from := hours.DateOf(now).At(0)
	for _, s := range o.Hours.Spans(from, from.Add(icsHorizon)) {
		line("BEGIN:VEVENT")
		line(fmt.Sprintf("UID:%s-%s@%s", o.ID, s.Start.In(hours.Rome).Format("20060102T1504"), host))
		line("DTSTAMP:" + now.Format("20060102T150405Z"))
		line("DTSTART:" + s.Start.UTC().Format("20060102T150405Z"))
		line("DTEND:" + s.End.UTC().Format("20060102T150405Z"))
		line("SUMMARY:" + escapeICS(o.Name+" – aperto"))
		line("LOCATION:" + escapeICS(o.Address+", "+o.PostalCode+" "+town.Name))
		line("TRANSP:TRANSPARENT")
		line("END:VEVENT")
	}
	line("END:VCALENDAR")
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", `inline; filename="`+o.ID+`.ics"`)
	_, _ = w.Write([]byte(b.String()))
}

// escapeICS escapes a TEXT value (RFC 5545, 3.3.11).
func escapeICS(s string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`).Replace(s)
}

// foldICS ends a content line with CRLF, folding it at 75 octets without
// splitting a UTF-8 character.
func foldICS(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		size := len(string(r))
		if n+size > 75 {
			b.WriteString("\r\n ")
			n = 1
		}
		b.WriteRune(r)
		n += size
	}
	b.WriteString("\r\n")
	return b.String()
}
