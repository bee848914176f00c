package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/hours"
)

// newCatalogIDSite is the demo town with its catalogue and an operator of
// the public relations office logged in.
func newCatalogIDSite(t *testing.T, d *db.DB) (*idSite, *browser) {
	t.Helper()
	if err := ensureDemoCatalog(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	s := newIDSite(t, d)
	return s, operatorBrowser(t, s, "urp@comune.example.it", "urp")
}

// inLanguage switches a browser's language.
func (b *browser) inLanguage(base, lang string) {
	b.t.Helper()
	if res, _ := b.do("GET", base+"/lingua/"+lang, nil); res.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("switching to %s: %d", lang, res.StatusCode)
	}
}

// Every field of the service form wrong at once: every error is shown
// beside its field, in the operator's language, with what they typed kept,
// and nothing is saved.
func TestServiceFormShowsEveryErrorAtOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, urp := newCatalogIDSite(t, d)
		base := s.plain.URL
		path := "/backoffice/servizi/carta-identita-elettronica"
		_, form := urp.do("GET", base+path, nil)
		v := formValues(t, form, path)
		if v.Get("title") != "Carta d'identità elettronica" || v.Get("category") != "anagrafe-e-stato-civile" || v.Get("channel") != "both" ||
			len(v["topics"]) != 2 || len(v["offices"]) != 2 || v.Get("version") != "1" {
			t.Fatalf("the form does not hold the service: %v", v)
		}
		bad := clone(v)
		for k, x := range map[string]string{"title": "ab", "summary": strings.Repeat("s", 200), "description": "Con un carattere \x01 di controllo",
			"category": "burocrazia", "status": "suspended", "status_reason": "", "audience": "", "how_to": "x", "needed": "", "outcome": " ",
			"deadlines": "", "max_days": "dieci", "fees": strings.Repeat("€", 2001), "conditions": "", "channel": "fax",
			"online_url": "javascript:alert(1)", "assurance": "medium", "en.title": strings.Repeat("t", 121), "en.summary": strings.Repeat("e", 161)} {
			bad.Set(k, x)
		}
		bad["offices"] = []string{"nonesiste"}
		bad["topics"] = nil
		bad["audiences"] = []string{"marziani"}
		bad["life_events"] = []string{"99"}
		bad["business_events"] = []string{"0"}

		want := []struct{ id, it, en string }{
			{"title", "Scrivi almeno 3 caratteri.", "Write at least 3 characters."},
			{"summary", "Al massimo 160 caratteri: ora sono 200.", "At most 160 characters: there are 200."},
			{"description", "Il testo contiene caratteri di controllo", "The text contains control characters"},
			{"category", "Scegli una categoria dell'elenco.", "Choose a category from the list."},
			{"status-reason", "Spiega perché il servizio è sospeso", "Say why the service is suspended"},
			{"audience", "Scrivi almeno 3 caratteri.", "Write at least 3 characters."},
			{"how-to", "Scrivi almeno 3 caratteri.", "Write at least 3 characters."},
			{"needed", "Scrivi almeno 3 caratteri.", "Write at least 3 characters."},
			{"outcome", "Scrivi almeno 3 caratteri.", "Write at least 3 characters."},
			{"deadlines", "Scrivi almeno 3 caratteri.", "Write at least 3 characters."},
			{"max-days", "Scrivi un numero intero di giorni, da 0 a 3650.", "Write a whole number of days, from 0 to 3650."},
			{"fees", "Al massimo 2000 caratteri: ora sono 2001.", "At most 2000 characters: there are 2001."},
			{"conditions", "Scrivi almeno 3 caratteri.", "Write at least 3 characters."},
			{"channel", "Scegli un canale dell'elenco.", "Choose a channel from the list."},
			{"online-url", "Scrivi un indirizzo che inizia con https://", "Write an address starting with https://"},
			{"assurance", "Scegli un livello di accesso dell'elenco.", "Choose a level of access from the list."},
			{"offices", "Ufficio sconosciuto: nonesiste.", "Unknown office: nonesiste."},
			{"topics", "Scegli almeno un argomento.", "Choose at least one topic."},
			{"audiences", "Destinatario sconosciuto: marziani.", "Unknown audience: marziani."},
			{"life-events", "Evento della vita sconosciuto: 99.", "Unknown life event: 99."},
			{"business-events", "Evento della vita d'impresa sconosciuto: 0.", "Unknown business event: 0."},
			{"en-title", "Al massimo 120 caratteri: ora sono 121.", "At most 120 characters: there are 121."},
			{"en-summary", "Al massimo 160 caratteri: ora sono 161.", "At most 160 characters: there are 161."},
		}
		for _, lang := range []string{"it", "en"} {
			urp.inLanguage(base, lang)
			res, page := urp.do("POST", base+path, bad)
			if res.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("%s: status %d, want 422", lang, res.StatusCode)
			}
			for _, w := range want {
				msg := w.it
				if lang == "en" {
					msg = w.en
				}
				if got := fieldError(page, w.id); !strings.Contains(got, msg) {
					t.Errorf("%s: beside %s: %q, want %q", lang, w.id, got, msg)
				}
				if !strings.Contains(page, `href="#f-`+w.id+`"`) {
					t.Errorf("%s: the summary does not link to %s", lang, w.id)
				}
			}
			for _, english := range []string{"at least 3 characters", "unknown office", "not a national"} {
				if lang == "it" && strings.Contains(page, english) {
					t.Errorf("the Italian page says %q", english)
				}
			}
			// What was typed is kept.
			if fieldValue(page, "title") != "ab" || fieldValue(page, "max_days") != "dieci" || fieldValue(page, "online_url") != "javascript:alert(1)" {
				t.Errorf("%s: the form lost what was typed", lang)
			}
		}
		_, api := get(t, base+"/api/v1/services/carta-identita-elettronica")
		if !strings.Contains(api, `"title": "Carta d'identità elettronica"`) || !strings.Contains(api, `"status": "active"`) {
			t.Errorf("a refused form changed the service: %s", api)
		}
	})
}

// Every field of the office form wrong at once, the timetables included.
func TestOfficeFormShowsEveryErrorAtOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, urp := newCatalogIDSite(t, d)
		base := s.plain.URL
		path := "/backoffice/uffici/anagrafe"
		_, form := urp.do("GET", base+path, nil)
		v := formValues(t, form, path)
		if v.Get("hours.periods[0].from") != "2027-07-19" || v.Get("hours.periods[0].week.wednesday") != "08:30-12:30, 14:00-16:00" {
			t.Fatalf("the summer timetable is not in the form: %v", v)
		}
		bad := clone(v)
		for k, x := range map[string]string{"name": "", "description": strings.Repeat("d", 5000), "address": "V", "postal_code": "ABC",
			"phone": "<b>", "email": "not-an-email", "lat": "200", "lon": "9.2",
			"hours.week.monday": "09:00-12:00, 11:00-13:00", "hours.week.tuesday": "12:00-09:00", "hours.week.friday": "9 alle 12",
			"hours.periods[1].from": "2027-07-20", "hours.periods[1].to": "2027-07-30", "hours.periods[1].week.monday": "08:00-10:00",
			"hours.periods[2].from": "2027-09-10", "hours.periods[2].to": "2027-09-01",
			"hours.exceptions[0].date": "2026-13-40", "hours.exceptions[1].date": v.Get("hours.exceptions[2].date"),
			"en.description": strings.Repeat("e", 161)} {
			bad.Set(k, x)
		}
		want := []struct{ id, it, en string }{
			{"name", "Scrivi almeno 3 caratteri.", "Write at least 3 characters."},
			{"description", "Al massimo 160 caratteri: ora sono 5000.", "At most 160 characters: there are 5000."},
			{"address", "Scrivi almeno 3 caratteri.", "Write at least 3 characters."},
			{"postal-code", "Il CAP è di 5 cifre", "The postcode (CAP) has 5 digits"},
			{"phone", "Scrivi un numero di telefono", "Write a phone number"},
			{"email", "Scrivi un indirizzo email valido", "Write a valid email address"},
			{"lat", "Scrivi latitudine e longitudine in gradi decimali", "Write latitude and longitude in decimal degrees"},
			{"hours-week-monday", "Due orari dello stesso giorno si sovrappongono", "Two openings of the same day overlap"},
			{"hours-week-tuesday", "Un orario finisce prima di cominciare", "An opening ends before it starts"},
			{"hours-week-friday", "Scrivi gli orari come 09:00-12:30", "Write the hours as 09:00-12:30"},
			{"hours-periods-2-to", "La fine del periodo deve essere uguale o successiva all'inizio.", "The period must end on or after the day it starts."},
			{"hours-periods-1-from", "Questo periodo si sovrappone a un altro", "This period overlaps another"},
			{"hours-exceptions-0-date", "Scrivi una data valida (AAAA-MM-GG).", "Write a valid date (YYYY-MM-DD)."},
			{"hours-exceptions-2-date", "C'è già un'eccezione per questa data", "There is already an exception on this date"},
			{"en-description", "Al massimo 160 caratteri: ora sono 161.", "At most 160 characters: there are 161."},
		}
		for _, lang := range []string{"it", "en"} {
			urp.inLanguage(base, lang)
			res, page := urp.do("POST", base+path, bad)
			if res.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("%s: status %d, want 422", lang, res.StatusCode)
			}
			for _, w := range want {
				msg := w.it
				if lang == "en" {
					msg = w.en
				}
				if got := fieldError(page, w.id); !strings.Contains(got, msg) {
					t.Errorf("%s: beside %s: %q, want %q", lang, w.id, got, msg)
				}
			}
			if fieldValue(page, "phone") != "<b>" || fieldValue(page, "email") != "not-an-email" || fieldValue(page, "hours.week.friday") != "9 alle 12" {
				t.Errorf("%s: the form lost what was typed", lang)
			}
			if strings.Contains(page, "%3cb%3e") || strings.Contains(page, "tel:+39<b>") {
				t.Errorf("%s: the phone typed became a link", lang)
			}
		}
		_, api := get(t, base+"/api/v1/offices/anagrafe")
		var o struct {
			Phone, Email string
			Periods      []struct{ From, To string }
		}
		if err := json.Unmarshal([]byte(api), &o); err != nil || o.Phone != "02 660231" || o.Email != "" || len(o.Periods) != 1 || o.Periods[0].To != "2027-08-27" {
			t.Errorf("a refused form changed the office: %v %+v", err, o)
		}
	})
}

// weekdayAfter is the first Monday-to-Friday day at least n days after
// today, in Rome.
func weekdayAfter(n int) hours.Date {
	d := hours.DateOf(time.Now()).AddDays(n)
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		d = d.AddDays(1)
	}
	return d
}

// nextChristmasEve is the coming 24 December (this year's until it is
// past).
func nextChristmasEve() hours.Date {
	today := hours.DateOf(time.Now())
	eve := hours.Date{Year: today.Year, Month: time.December, Day: 24}
	if eve.Before(today) || eve == today {
		eve.Year++
	}
	return eve
}

// An administrator creates an office with a summer timetable and a
// Christmas closure, and a service handled there: both appear on the
// portal, in the API, in the finder and in the office's calendar feed, in
// Italian and, where written, in English; each creation is in the audit
// log.
func TestBackOfficeCreatesOfficeAndService(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, _ := newCatalogIDSite(t, d)
		admin := operatorBrowser(t, s, "admin@comune.example.it", "admin")
		base := s.plain.URL
		summerFrom, closed, eve := weekdayAfter(20), weekdayAfter(8), nextChristmasEve()
		summerTo := summerFrom.AddDays(20)

		_, form := admin.do("GET", base+"/backoffice/uffici/nuovo", nil)
		v := formValues(t, form, "/backoffice/uffici/nuovo")
		for k, x := range map[string]string{"name": "Sportello di quartiere Crocetta", "en.name": "Crocetta neighbourhood desk",
			"description": "Certificati, carta d'identità e informazioni vicino a casa, anche la sera del giovedì.",
			"address":     "Via Crocetta 12", "postal_code": "20092", "phone": "02 6602 1234", "email": "crocetta@comune.example.it",
			"lat": "45,5512", "lon": "9.2301", "accessibility": "Ingresso senza gradini.",
			"hours.week.monday": "08:30-12:30", "hours.week.tuesday": "08:30-12:30", "hours.week.wednesday": "08:30-12:30",
			"hours.week.thursday": "08:30-12:30, 17:00-20:00", "hours.week.friday": "08:30-12:30",
			"hours.periods[0].from": summerFrom.String(), "hours.periods[0].to": summerTo.String(),
			"hours.periods[0].week.monday": "09:00-11:00", "hours.periods[0].week.wednesday": "09:00-11:00",
			"hours.exceptions[0].date": closed.String(), "hours.exceptions[0].kind": "closed", "hours.exceptions[0].note": "Inventario",
			"hours.exceptions[1].date": eve.String(), "hours.exceptions[1].kind": "open", "hours.exceptions[1].hours": "09:00-11:30",
			"hours.exceptions[1].note": "Vigilia di Natale"} {
			v.Set(k, x)
		}
		// The preview first: what residents will read, nothing saved.
		v.Set("action", "preview")
		v.Set("preview_from", closed.String())
		res, page := admin.do("POST", base+"/backoffice/uffici/nuovo", v)
		if res.StatusCode != http.StatusOK || !strings.Contains(page, "Orario del periodo dal "+summerFrom.At(0).Format("02/01/2006")) ||
			!strings.Contains(page, "(Vigilia di Natale)") || !strings.Contains(page, "(Inventario)") {
			t.Fatalf("preview: %d\n%s", res.StatusCode, page[strings.Index(page, "<main"):])
		}
		if res, _ := get(t, base+"/amministrazione/uffici/sportello-di-quartiere-crocetta"); res.StatusCode != http.StatusNotFound {
			t.Fatalf("the preview saved the office: %d", res.StatusCode)
		}
		v.Set("action", "save")
		res, _ = admin.do("POST", base+"/backoffice/uffici/nuovo", v)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/backoffice/uffici/sportello-di-quartiere-crocetta?creato=1" {
			t.Fatalf("create office: %d %s", res.StatusCode, res.Header.Get("Location"))
		}

		_, form = admin.do("GET", base+"/backoffice/servizi/nuovo", nil)
		sv := formValues(t, form, "/backoffice/servizi/nuovo")
		for k, x := range map[string]string{"title": "Ritiro dei sacchi per la raccolta differenziata", "en.title": "Collecting bags for recycling",
			"category": "ambiente", "summary": "I sacchi gialli e il mastello dell'umido per chi risiede in città, gratis, allo sportello di quartiere.",
			"en.summary": "Yellow bags and the food-waste bin for residents, free, at the neighbourhood desk.",
			"audience":   "A chi risiede a Cinisello Balsamo e paga la TARI.", "how_to": "Vai allo sportello con la tessera sanitaria.",
			"needed": "La tessera sanitaria dell'intestatario della TARI.", "outcome": "Un rotolo di sacchi gialli ogni sei mesi.",
			"deadlines": "Subito, allo sportello.", "max_days": "0", "conditions": "Un ritiro ogni sei mesi per famiglia.",
			"channel": "desk", "status": "active"} {
			sv.Set(k, x)
		}
		sv["offices"] = []string{"sportello-di-quartiere-crocetta"}
		sv["topics"] = []string{"gestione-rifiuti"}
		sv["life_events"] = []string{"9"}
		res, _ = admin.do("POST", base+"/backoffice/servizi/nuovo", sv)
		id := "ritiro-dei-sacchi-per-la-raccolta-differenziata"
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/backoffice/servizi/"+id+"?creato=1" {
			t.Fatalf("create service: %d %s", res.StatusCode, res.Header.Get("Location"))
		}

		// The portal, at once.
		_, office := get(t, base+"/amministrazione/uffici/sportello-di-quartiere-crocetta")
		if !strings.Contains(office, "Sportello di quartiere Crocetta") || !strings.Contains(office, `href="/servizi/ambiente/`+id+`"`) ||
			!strings.Contains(office, "Inventario") {
			t.Error("the office page lacks its name, its service or its closure")
		}
		res, svc := get(t, base+"/servizi/ambiente/"+id)
		if res.StatusCode != 200 || !strings.Contains(svc, `href="/amministrazione/uffici/sportello-di-quartiere-crocetta"`) {
			t.Errorf("service page: %d", res.StatusCode)
		}
		_, index := get(t, base+"/servizi/ambiente")
		if !strings.Contains(index, "Ritiro dei sacchi per la raccolta differenziata") {
			t.Error("the category does not list the new service")
		}
		// In English: the English title where written, the Italian
		// elsewhere, marked and said to be Italian.
		en := s.browser(t, nil)
		en.inLanguage(base, "en")
		_, svcEN := en.do("GET", base+"/servizi/ambiente/"+id, nil)
		if !strings.Contains(svcEN, `<h1 data-element="service-title" lang="en">Collecting bags for recycling</h1>`) ||
			!strings.Contains(svcEN, "Some parts of this page are available in Italian only.") ||
			!strings.Contains(svcEN, `<div data-element="service-how-to"><div lang="it"><p>Vai allo sportello`) {
			t.Error("the English service page does not show the English title, or does not mark the Italian text")
		}
		_, officeEN := en.do("GET", base+"/amministrazione/uffici/sportello-di-quartiere-crocetta", nil)
		if !strings.Contains(officeEN, `<h1 lang="en">Crocetta neighbourhood desk</h1>`) || !strings.Contains(officeEN, `<p class="lead" lang="it">Certificati`) {
			t.Error("the English office page does not show the English name, or does not mark the Italian description")
		}

		// The API.
		_, api := get(t, base+"/api/v1/offices/sportello-di-quartiere-crocetta")
		var o struct {
			Periods      []hours.PeriodSpec
			Exceptions   []hours.ExceptionSpec
			Services     []string
			Lat          float64
			Translations map[string]struct{ Name string }
		}
		if err := json.Unmarshal([]byte(api), &o); err != nil || len(o.Periods) != 1 || o.Periods[0].From != summerFrom.String() ||
			len(o.Exceptions) != 2 || len(o.Services) != 1 || o.Lat != 45.5512 || o.Translations["en"].Name != "Crocetta neighbourhood desk" {
			t.Errorf("office API: %v %s", err, api)
		}

		// The finder: a summer morning finds it; the day it is closed, not.
		at := func(day hours.Date, from, to string) string {
			return base + "/dove-e-quando?" + url.Values{"quando": {"libero"}, "giorno": {day.String()}, "dalle": {from}, "alle": {to}}.Encode()
		}
		summerMonday := summerFrom
		for summerMonday.Weekday() != time.Monday {
			summerMonday = summerMonday.AddDays(1)
		}
		if _, body := get(t, at(summerMonday, "09:30", "10:30")); !strings.Contains(body, `href="/amministrazione/uffici/sportello-di-quartiere-crocetta"`) {
			t.Errorf("the finder does not find the office on a summer Monday (%s)", summerMonday)
		}
		if _, body := get(t, at(summerMonday, "11:30", "12:00")); strings.Contains(body, `href="/amministrazione/uffici/sportello-di-quartiere-crocetta"`) {
			t.Errorf("the finder finds the office out of its summer hours (%s)", summerMonday)
		}
		if _, body := get(t, at(closed, "09:00", "10:00")); strings.Contains(body, `href="/amministrazione/uffici/sportello-di-quartiere-crocetta"`) {
			t.Errorf("the finder finds the office on the day it is closed (%s)", closed)
		}

		// The calendar feed: summer hours, and nothing on the closed day.
		_, ics := get(t, base+"/offices/sportello-di-quartiere-crocetta/hours.ics")
		stamp := func(day hours.Date, clock string) string {
			c, _ := hours.ParseClock(clock)
			return day.At(c).UTC().Format("20060102T150405Z")
		}
		if !strings.Contains(ics, "DTSTART:"+stamp(summerMonday, "09:00")) || !strings.Contains(ics, "DTEND:"+stamp(summerMonday, "11:00")) {
			t.Errorf("the calendar lacks the summer hours of %s", summerMonday)
		}
		if strings.Contains(ics, "DTSTART:"+stamp(closed, "08:30")) || !strings.Contains(ics, "DTSTART:"+stamp(closed.AddDays(-1), "08:30")) &&
			!strings.Contains(ics, "DTSTART:"+stamp(closed.AddDays(1), "08:30")) {
			t.Errorf("the calendar is open on the closed day %s, or not around it", closed)
		}
		if eve.Before(hours.DateOf(time.Now()).AddDays(55)) && !strings.Contains(ics, "DTEND:"+stamp(eve, "11:30")) {
			t.Errorf("the calendar lacks Christmas Eve's special hours")
		}

		log := &audit.Log{DB: d}
		for _, action := range []string{"catalog.office.created", "catalog.service.created"} {
			recs, err := log.List(context.Background(), audit.ListFilter{Action: action, Limit: 5})
			if err != nil || len(recs) != 1 || !strings.HasPrefix(recs[0].Actor, "account:") {
				t.Errorf("audit %s: %v %+v", action, err, recs)
			}
		}
	})
}
