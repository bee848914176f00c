package main

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/web"
)

var proposalRE = regexp.MustCompile(`^/proposte/([0-9a-f]{32})\?fatto=created$`)

// A resident proposes (a wrong form first, kept as typed), two residents
// support it (one twice: it counts once) and it reaches the threshold,
// which shows the answer's deadline; residents comment, reply and report a
// comment; the participation office finds the answer due and the report,
// hides the comment with a public reason (refused without one) and
// publishes its answer and status. Through the server as built, on both
// engines.
func TestPartecipaProposalJourney(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newTunedIDSite(t, d, func(c *config) {
			c.ProposalThreshold, c.ProposalAnswerDays = 2, 30
			c.Maps, _ = web.ParseMapTiles("http://127.0.0.1:9/{z}/{x}/{y}.png", "Test tiles")
		})
		part := s.part.URL
		anon := s.browser(t, nil)
		if res, body := anon.do("GET", part+"/proposte/nuova", nil); res.StatusCode != 200 || !strings.Contains(body, "accedi con SPID") {
			t.Fatalf("the form, logged out: %d", res.StatusCode)
		}

		luca := partecipaResident(t, s, "FRRLCU78H15C707", "LUCA", "FERRARI", "/proposte")
		form := url.Values{"title": {"Ab"}, "body": {"Una fontanella vicino ai giochi del Parco Nord, d'estate."}, "category": {"verde"},
			"address": {"Via Cilea"}, "lat": {"quarantacinque"}, "lon": {"9.2079"}}
		res, body := luca.do("POST", part+"/proposte/nuova", form)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-title-error"`) || !strings.Contains(body, `id="f-lat-error"`) ||
			!strings.Contains(body, "Una fontanella vicino ai giochi") || !strings.Contains(body, `value="Via Cilea"`) {
			t.Fatalf("a wrong proposal: %d\n%s", res.StatusCode, body)
		}
		form.Set("title", "Una fontanella al Parco Nord")
		form.Set("lat", "45.5701")
		res, _ = luca.do("POST", part+"/proposte/nuova", form)
		m := proposalRE.FindStringSubmatch(res.Header.Get("Location"))
		if res.StatusCode != http.StatusSeeOther || m == nil {
			t.Fatalf("propose: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		page := part + "/proposte/" + m[1]
		if res, body := anon.do("GET", page, nil); res.StatusCode != 200 || !strings.Contains(body, "0 sostegni su 2 richiesti") ||
			!strings.Contains(body, `<image href="http://127.0.0.1:9/17/`) || !strings.Contains(body, "Accedi per commentare") {
			t.Fatalf("the proposal's page: %d\n%s", res.StatusCode, body)
		}
		if _, body := anon.do("GET", part+"/proposte?categoria=verde", nil); !strings.Contains(body, `href="/proposte/`+m[1]+`"`) {
			t.Fatal("the proposal is not in its category's list")
		}

		giulia := partecipaResident(t, s, "BNCGLI90A41F205", "GIULIA", "BIANCHI", "/proposte/"+m[1])
		for _, want := range []string{"supported", "already_supported"} {
			if res, _ := giulia.do("POST", page+"/sostieni", nil); res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "fatto="+want+"#") {
				t.Fatalf("Giulia's support: %d %s, want %s", res.StatusCode, res.Header.Get("Location"), want)
			}
		}
		if _, body := giulia.do("GET", page, nil); !strings.Contains(body, "1 sostegni su 2") || !strings.Contains(body, `data-element="supported"`) {
			t.Fatal("Giulia's support does not show")
		}
		luca.do("POST", page+"/sostieni", nil)
		if _, body := anon.do("GET", page, nil); !strings.Contains(body, `data-element="threshold-reached"`) || !strings.Contains(body, "Risposta dovuta entro il") {
			t.Fatalf("at the threshold the page shows no deadline:\n%s", body)
		}

		// Comments: an empty one is told beside its field; a comment, a
		// reply; Giulia reports Luca's comment (without a reason first).
		if res, body := luca.do("POST", page+"/commenti", url.Values{"body": {" "}}); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-comment-error"`) {
			t.Fatalf("an empty comment: %d", res.StatusCode)
		}
		res, _ = luca.do("POST", page+"/commenti", url.Values{"body": {"Compra le mie borracce su esempio.invalid!"}})
		cid := regexp.MustCompile(`#c-([0-9a-f]{32})$`).FindStringSubmatch(res.Header.Get("Location"))
		if res.StatusCode != http.StatusSeeOther || cid == nil {
			t.Fatalf("a comment: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		if res, _ := giulia.do("POST", page+"/commenti", url.Values{"body": {"Non c'entra."}, "parent": {cid[1]}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("a reply: %d", res.StatusCode)
		}
		if res, body := giulia.do("POST", page+"/segnala", url.Values{"kind": {"comment"}, "target": {cid[1]}, "note": {"Pubblicità"}}); res.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(body, `id="r-`+cid[1]+`-reason-error"`) || !strings.Contains(body, ">Pubblicità</textarea>") {
			t.Fatalf("a report without a reason: %d", res.StatusCode)
		}
		if res, _ := giulia.do("POST", page+"/segnala", url.Values{"kind": {"comment"}, "target": {cid[1]}, "reason": {"spam"}}); res.StatusCode != http.StatusSeeOther ||
			!strings.Contains(res.Header.Get("Location"), "fatto=reported") {
			t.Fatalf("a report: %d", res.StatusCode)
		}
		if res, _ := luca.do("GET", part+"/ufficio/proposte", nil); res.StatusCode != http.StatusForbidden {
			t.Fatalf("a resident in the office's proposals: %d", res.StatusCode)
		}
		if res, _ := luca.do("POST", page+"/nascondi", url.Values{"kind": {"comment"}, "target": {cid[1]}, "reason": {"Non mi piace."}}); res.StatusCode != http.StatusForbidden {
			t.Fatalf("a resident hiding a comment: %d", res.StatusCode)
		}

		// The office: the answer due, the report; it hides the comment
		// and answers.
		office := operatorBrowser(t, s, "partecipazione@comune.example.it", "participation")
		office.follow(part+"/accedi?next=/ufficio", "")
		if _, body := office.do("GET", part+"/ufficio/proposte?filtro=da-rispondere", nil); !strings.Contains(body, `href="/proposte/`+m[1]+`/gestione"`) {
			t.Fatalf("the answers due lack the proposal:\n%s", body)
		}
		if _, body := office.do("GET", part+"/ufficio/segnalazioni", nil); !strings.Contains(body, "Compra le mie borracce") {
			t.Fatal("the reports lack the comment")
		}
		if res, body := office.do("POST", page+"/nascondi", url.Values{"kind": {"comment"}, "target": {cid[1]}, "reason": {"no"}}); res.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(body, `id="h-`+cid[1]+`-error"`) {
			t.Fatalf("hiding without a reason: %d", res.StatusCode)
		}
		if res, _ := office.do("POST", page+"/nascondi", url.Values{"kind": {"comment"}, "target": {cid[1]}, "reason": {"Pubblicità commerciale."}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("hide: %d", res.StatusCode)
		}
		if res, body := office.do("POST", page+"/gestione", url.Values{"status": {"accepted"}}); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-answer-error"`) {
			t.Fatalf("accepting without an answer: %d", res.StatusCode)
		}
		if res, _ := office.do("POST", page+"/gestione", url.Values{"status": {"accepted"}, "answer": {"La fontanella sarà installata in primavera."}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("decide: %d", res.StatusCode)
		}
		_, body = anon.do("GET", page, nil)
		if !strings.Contains(body, "Commento nascosto dall&#39;ufficio partecipazione. Motivo: Pubblicità commerciale.") || strings.Contains(body, "borracce") ||
			!strings.Contains(body, "La fontanella sarà installata in primavera.") || !strings.Contains(body, ">Accolta<") || strings.Contains(body, "Risposta dovuta") {
			t.Fatalf("the page after the office's work:\n%s", body)
		}
		if _, body := office.do("GET", part+"/ufficio/proposte?filtro=da-rispondere", nil); strings.Contains(body, m[1]) {
			t.Fatal("an answered proposal is still due")
		}
		var entries int
		_ = d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE action IN ('partecipa.report', 'partecipa.moderation.hide', 'partecipa.proposal.decide', 'partecipa.proposal.threshold')`).Scan(&entries)
		if entries != 4 {
			t.Fatalf("%d audit entries of the report, the hiding, the threshold and the decision, want 4", entries)
		}
	})
}
