package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/segnala"
)

// Segnala disservizio through the server as built: an anonymous resident
// reports with a mail address; a wrong form changes nothing and keeps what
// was typed; the report is off the public list until the mailed link is
// confirmed (its GET changes nothing); the office answers, the reporter is
// told by mail, the audit log has it, the public page shows the answer and
// never the address; a stale answer is refused; expired unconfirmed
// reports are purged.
func TestSegnalaJourney(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		base := s.plain.URL
		const mailbox = "giulia.riva@example.org"
		anon := s.browser(t, nil)
		res, body := anon.do("GET", base+segnala.NewPath, nil)
		if res.StatusCode != 200 || !strings.Contains(body, `name="email"`) {
			t.Fatalf("report form: %d", res.StatusCode)
		}
		bad := url.Values{"category": {"nessuna"}, "address": {"Via Libertà 12"}, "description": {"corto"}, "email": {"not-an-address"}}
		res, body = anon.do("POST", base+segnala.NewPath, bad)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-category-error"`) ||
			!strings.Contains(body, `id="f-description-error"`) || !strings.Contains(body, `id="f-email-error"`) ||
			!strings.Contains(body, `id="f-privacy-error"`) || !strings.Contains(body, `value="Via Libertà 12"`) || strings.Contains(body, `id="f-address-error"`) {
			t.Fatalf("a wrong report: %d\n%s", res.StatusCode, body)
		}
		if n := s.count(t, "segnala_reports"); n != 0 {
			t.Fatalf("a wrong report left %d rows", n)
		}
		report := url.Values{"category": {"illuminazione"}, "address": {"Via Libertà 12"},
			"description": {"Il lampione davanti al civico 12 è spento da una settimana.\nDi sera la strada è buia."}, "email": {mailbox}, "privacy": {"1"}}
		if res, _ = anon.do("POST", base+segnala.NewPath, report); res.StatusCode != 200 {
			t.Fatalf("report: %d", res.StatusCode)
		}
		if _, body = anon.do("GET", base+segnala.Path, nil); strings.Contains(body, "Via Libertà 12") {
			t.Error("an unconfirmed report is on the public list")
		}
		mails := s.deliverTo(t, mailbox)
		token := tokenOf(t, mails[0])
		if res, body = anon.do("GET", base+segnala.ConfirmPath+"?token="+token, nil); res.StatusCode != 200 || !strings.Contains(body, "lampione") {
			t.Fatalf("confirmation page: %d", res.StatusCode)
		}
		if _, body = anon.do("GET", base+segnala.Path, nil); strings.Contains(body, "Via Libertà 12") {
			t.Error("opening the mailed link (a GET) published the report")
		}
		res, _ = anon.do("POST", base+segnala.ConfirmPath, url.Values{"token": {token}})
		loc := res.Header.Get("Location")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, segnala.Path+"/") {
			t.Fatalf("confirm: %d %s", res.StatusCode, loc)
		}
		if res, _ = anon.do("POST", base+segnala.ConfirmPath, url.Values{"token": {token}}); res.StatusCode != http.StatusBadRequest {
			t.Errorf("the link used twice: %d", res.StatusCode)
		}
		id := strings.TrimPrefix(strings.SplitN(loc, "?", 2)[0], segnala.Path+"/")
		res, body = anon.do("GET", base+segnala.Path+"/"+id, nil)
		if res.StatusCode != 200 || !strings.Contains(body, "Di sera la strada è buia.") || strings.Contains(body, mailbox) {
			t.Fatalf("public page: %d (or it shows the address)", res.StatusCode)
		}
		if _, body = anon.do("GET", base+segnala.Path, nil); !strings.Contains(body, "Via Libertà 12") {
			t.Error("the confirmed report is not on the public list")
		}

		// The office.
		if res, _ = anon.do("GET", base+segnala.OfficePath, nil); res.StatusCode != http.StatusSeeOther {
			t.Errorf("the office's queue without login: %d", res.StatusCode)
		}
		op := operatorBrowser(t, s, "urp@comune.example.it", "urp")
		if res, body = op.do("GET", base+segnala.OfficePath, nil); res.StatusCode != 200 || !strings.Contains(body, id) {
			t.Fatalf("queue: %d", res.StatusCode)
		}
		res, body = op.do("GET", base+segnala.OfficePath+"/"+id, nil)
		if res.StatusCode != 200 || !strings.Contains(body, mailbox) {
			t.Fatalf("office detail: %d", res.StatusCode)
		}
		version := regexpFind(t, body, `name="version" value="(\d+)"`)
		res, body = op.do("POST", base+segnala.OfficePath+"/"+id, url.Values{"status": {segnala.Resolved}, "answer": {""}, "version": {version}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-answer-error"`) {
			t.Fatalf("resolved without an answer: %d", res.StatusCode)
		}
		answer := "Il lampione è stato riparato il 3 dicembre."
		if res, _ = op.do("POST", base+segnala.OfficePath+"/"+id, url.Values{"status": {segnala.Resolved}, "answer": {answer}, "version": {version}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("answer: %d", res.StatusCode)
		}
		if res, _ = op.do("POST", base+segnala.OfficePath+"/"+id, url.Values{"status": {segnala.Rejected}, "answer": {"no"}, "version": {version}}); res.StatusCode != http.StatusConflict {
			t.Errorf("an answer to a version changed meanwhile: %d", res.StatusCode)
		}
		if _, body = anon.do("GET", base+segnala.Path+"/"+id, nil); !strings.Contains(body, answer) {
			t.Error("the public page lacks the answer")
		}
		found := false
		for _, m := range s.deliverTo(t, mailbox) {
			found = found || strings.Contains(m.Text, answer)
		}
		if !found {
			t.Error("the reporter was not told the answer")
		}
		var n int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'segnala.reply' AND subject = $1`, "segnala:"+id).Scan(&n); err != nil || n != 1 {
			t.Errorf("audit entries of the answer: %d (%v)", n, err)
		}

		// Another report left unconfirmed is purged after its link expires.
		if res, _ = anon.do("POST", base+segnala.NewPath, report); res.StatusCode != 200 {
			t.Fatalf("second report: %d", res.StatusCode)
		}
		store := &segnala.Store{DB: d, Now: func() time.Time { return time.Now().Add(segnala.ConfirmTTL + time.Minute) }}
		if err := store.Purge(ctx); err != nil {
			t.Fatal(err)
		}
		if got := s.count(t, "segnala_reports"); got != 1 {
			t.Errorf("after the purge %d reports, want the confirmed one", got)
		}
	})
}
