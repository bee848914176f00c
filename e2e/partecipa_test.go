package e2e

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/civico-pa/civico/internal/hours"
)

// The demo's operator with the participation role: her card.
const (
	demoOfficeCardFile   = "paola-esposito.p12"
	demoOfficeFiscalCode = "SPSPLA75C50C707X"
)

// A proposal reaches its threshold and gets an answer, in Chromium: Luca,
// logged in on the portal with his card, opens Partecipa without logging
// in again, writes a proposal by keyboard and supports it; Giulia
// supports it too, which reaches the threshold (2 in this demo) and shows
// the answer's deadline; the participation office (Paola, by card) finds
// it among the answers due and publishes its status and answer, which the
// proposal's page then shows.
func TestProposalThresholdAndAnswer(t *testing.T) {
	requireE2E(t)
	d := startDemoWith(t, "CIVICO_PARTECIPA_THRESHOLD=2")

	luca := cardBrowser(t, d, demoCardFile, demoCardFiscalCode)
	cardLogin(luca, d)
	luca.open(d.Partecipa+"/accedi?"+url.Values{"livello": {"substantial"}, "next": {"/proposte/nuova"}}.Encode(), 200)
	luca.waitLocation("Partecipa's new proposal, logged in by single sign-on", d.Partecipa+"/proposte/nuova")
	luca.step("writing the proposal",
		chromedp.SendKeys(chromedp.CSS("#f-title"), "Panchine all'ombra in Piazza Gramsci"),
		chromedp.SendKeys(chromedp.CSS("#f-body"), "In estate le panchine della piazza sono sempre al sole: bastano alcuni alberi o una tettoia."),
		chromedp.SetValue(chromedp.CSS("#f-category"), "verde"),
		chromedp.SendKeys(chromedp.CSS("#f-address"), "Piazza Gramsci"),
	)
	clickAndLoad(luca, "publishing the proposal", chromedp.CSS(`main form[action="/proposte/nuova"] button[type="submit"]`), 200)
	luca.wantText("main", "La tua proposta è pubblicata.")
	page := strings.SplitN(luca.location(), "?", 2)[0]
	if !strings.HasPrefix(page, d.Partecipa+"/proposte/") {
		t.Fatalf("after publishing the page is %s", luca.location())
	}
	clickAndLoad(luca, "Luca's support", chromedp.CSS(`main form[action$="/sostieni"] button`), 200)
	luca.wantText("main", "1 sostegni su 2 richiesti")

	giulia := cardBrowser(t, d, demoBothCardFile, demoBothFiscalCode)
	cardLogin(giulia, d)
	path := strings.TrimPrefix(page, d.Partecipa)
	giulia.open(d.Partecipa+"/accedi?"+url.Values{"livello": {"substantial"}, "next": {path}}.Encode(), 200)
	giulia.waitLocation("the proposal, Giulia logged in by single sign-on", page)
	clickAndLoad(giulia, "Giulia's support", chromedp.CSS(`main form[action$="/sostieni"] button`), 200)
	giulia.wantText(`main [data-element="threshold-reached"]`, "Risposta dovuta entro il")
	giulia.wantText(`main [data-element="supported"]`, "Sostieni questa proposta.")

	paola := cardBrowser(t, d, demoOfficeCardFile, demoOfficeFiscalCode)
	paola.open(d.TLS+"/login/crs", 200)
	paola.open(d.Partecipa+"/accedi?"+url.Values{"next": {"/ufficio/proposte?filtro=da-rispondere"}}.Encode(), 200)
	paola.waitLocation("the answers due, Paola logged in by single sign-on", d.Partecipa+"/ufficio/proposte?filtro=da-rispondere")
	clickAndLoad(paola, "the proposal in the office", chromedp.CSS(`main a[href="`+path+`/gestione"]`), 200)
	paola.step("writing the answer",
		chromedp.SetValue(chromedp.CSS("#f-status"), "accepted"),
		chromedp.SendKeys(chromedp.CSS("#f-answer"), "Pianteremo quattro alberi nella piazza entro l'autunno."),
	)
	clickAndLoad(paola, "publishing the answer", chromedp.CSS(`main form[action="`+path+`/gestione"] button[type="submit"]`), 200)
	paola.wantText("main", "Stato e risposta pubblicati.")

	giulia.open(page, 200)
	giulia.wantText(`main [data-element="answer"]`, "Pianteremo quattro alberi nella piazza entro l'autunno.")
	giulia.wantText("main", "Accolta")
}

// A desk answer blocks the online one, in Chromium: Paola (the office,
// who also holds the counter role), logged in by card, creates and opens
// a consultation, then at Partecipa's counter records by keyboard the
// answer of Luca, whom she identified by his fiscal code; Luca, logged in
// on the portal with his card, opens the consultation on Partecipa
// without logging in again and is told he has taken part, with no form
// to answer twice.
func TestDeskAnswerBlocksOnline(t *testing.T) {
	requireE2E(t)
	d := startDemo(t)

	paola := cardBrowser(t, d, demoOfficeCardFile, demoOfficeFiscalCode)
	paola.open(d.TLS+"/login/crs", 200)
	paola.open(d.Partecipa+"/accedi?"+url.Values{"next": {"/ufficio/nuova"}}.Encode(), 200)
	paola.waitLocation("the new consultation's form, Paola logged in by single sign-on", d.Partecipa+"/ufficio/nuova")
	opens := time.Now().In(hours.Rome).Add(-time.Minute).Format("2006-01-02T15:04")
	paola.step("writing the consultation",
		chromedp.SendKeys(chromedp.CSS("#f-title"), "Il nuovo parco di Via Cilea"),
		chromedp.SetValue(chromedp.CSS("#f-opens_at"), opens),
		chromedp.SetValue(chromedp.CSS("#f-source"), "[parco] single required\nChe cosa vorresti nel parco?\n- giochi: Giochi per bambini\n- alberi: Più alberi\n"),
	)
	clickAndLoad(paola, "creating the consultation", chromedp.CSS(`main form[action="/ufficio/nuova"] button[type="submit"]`), 200)
	id := strings.TrimPrefix(strings.SplitN(paola.location(), "?", 2)[0], d.Partecipa+"/ufficio/")
	if len(id) != 32 {
		t.Fatalf("after creating, the page is %s", paola.location())
	}
	clickAndLoad(paola, "opening the consultation", chromedp.CSS(`main form[action="/ufficio/`+id+`/apri"] button`), 200)

	paola.open(d.Partecipa+"/sportello", 200)
	clickAndLoad(paola, "the consultation at the counter", chromedp.CSS(`main a[href="/sportello/`+id+`"]`), 200)
	paola.step("Luca's answer, typed at the counter",
		chromedp.SendKeys(chromedp.CSS("#fiscal_code"), demoCardFiscalCode),
		chromedp.Click(chromedp.CSS(`input[name="q-parco"][value="alberi"]`)),
	)
	clickAndLoad(paola, "recording Luca's answer", chromedp.CSS(`main form[action="/sportello/`+id+`"] button[type="submit"]`), 200)
	paola.wantText("main", "Risposta registrata.")
	// Twice: refused, nothing recorded.
	paola.step("Luca's answer again",
		chromedp.SendKeys(chromedp.CSS("#fiscal_code"), demoCardFiscalCode),
		chromedp.Click(chromedp.CSS(`input[name="q-parco"][value="giochi"]`)),
	)
	clickAndLoad(paola, "recording Luca's answer again", chromedp.CSS(`main form[action="/sportello/`+id+`"] button[type="submit"]`), 422)
	paola.wantText("main", "Questa persona ha già partecipato")

	luca := cardBrowser(t, d, demoCardFile, demoCardFiscalCode)
	cardLogin(luca, d)
	page := "/consultazioni/" + id
	luca.open(d.Partecipa+"/accedi?"+url.Values{"livello": {"substantial"}, "next": {page}}.Encode(), 200)
	luca.waitLocation("the consultation, Luca logged in by single sign-on", d.Partecipa+page)
	luca.wantText("main", "Hai già partecipato a questa consultazione")
	if forms := eval[int](luca, `document.querySelectorAll('input[name="q-parco"]').length`); forms != 0 {
		t.Fatalf("Luca is offered the questionnaire after answering at the counter (%d inputs)", forms)
	}
}
