package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/catalog"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/identity"
)

func newCatalogSite(t *testing.T, d *db.DB) *site {
	t.Helper()
	if err := ensureDemoCatalog(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	return newSite(t, d)
}

func TestServicePagesFollowTheMunicipalModel(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newCatalogSite(t, d)
		_, index := get(t, s.portal.URL+"/servizi")
		links := regexp.MustCompile(`href="(/servizi/[a-z0-9-]+/[a-z0-9-]+)" data-element="service-link"`).FindAllStringSubmatch(index, -1)
		if len(links) < 10 {
			t.Fatalf("the services page has %d service links, the national model wants 10 or more", len(links))
		}
		order := []string{"A chi è rivolto", "Come fare", "Cosa serve", "Cosa si ottiene", "Tempi e scadenze", "Accedi al servizio", "Condizioni di servizio", "Contatti"}
		for _, l := range links {
			res, body := get(t, s.portal.URL+l[1])
			if res.StatusCode != 200 {
				t.Errorf("%s: %d", l[1], res.StatusCode)
				continue
			}
			idx := regexp.MustCompile(`(?s)<ul[^>]*data-element="page-index">(.*?)</ul>`).FindStringSubmatch(body)
			if idx == nil {
				t.Errorf("%s: no page index", l[1])
				continue
			}
			var texts []string
			for _, m := range regexp.MustCompile(`<a[^>]*>([^<]*)</a>`).FindAllStringSubmatch(idx[1], -1) {
				texts = append(texts, m[1])
			}
			if strings.Join(texts, "|") != strings.Join(order, "|") {
				t.Errorf("%s: page index %v", l[1], texts)
			}
			for _, el := range []string{"service-title", "service-description", "service-addressed", "service-how-to", "service-needed",
				"service-achieved", "service-calendar-text", "service-file", "service-area"} {
				m := regexp.MustCompile(`(?s)data-element="` + el + `"[^>]*>(.*?)</(div|h1|p)>`).FindStringSubmatch(body)
				if m == nil || len(strings.TrimSpace(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[1], ""))) < 3 {
					t.Errorf("%s: %s missing or shorter than 3 characters", l[1], el)
				}
			}
			for _, el := range []string{"service-status", "service-topic", "appointment-booking", "breadcrumb"} {
				if !strings.Contains(body, `data-element="`+el+`"`) {
					t.Errorf("%s: no %s", l[1], el)
				}
			}
			meta := regexp.MustCompile(`(?s)<script type="application/ld\+json" data-element="metatag">(.*?)</script>`).FindStringSubmatch(body)
			var ld struct {
				Name             string `json:"name"`
				ServiceType      string `json:"serviceType"`
				ServiceOperator  struct{ Name string }
				AreaServed       struct{ Name string }
				Audience         struct{ AudienceType string }
				AvailableChannel struct {
					ServiceURL      string `json:"serviceUrl"`
					ServiceLocation struct {
						Name    string
						Address struct{ StreetAddress, PostalCode, AddressLocality string }
					}
				}
			}
			if meta == nil || json.Unmarshal([]byte(meta[1]), &ld) != nil || ld.Name == "" || ld.ServiceType == "" || ld.ServiceOperator.Name == "" ||
				ld.AreaServed.Name == "" || ld.Audience.AudienceType == "" || ld.AvailableChannel.ServiceURL == "" || ld.AvailableChannel.ServiceLocation.Name == "" ||
				ld.AvailableChannel.ServiceLocation.Address.StreetAddress == "" || ld.AvailableChannel.ServiceLocation.Address.PostalCode == "" ||
				ld.AvailableChannel.ServiceLocation.Address.AddressLocality == "" {
				t.Errorf("%s: service metadata incomplete: %+v", l[1], ld)
			}
		}
		if res, _ := get(t, s.portal.URL+"/servizi/ambiente/carta-identita-elettronica"); res.StatusCode != http.StatusNotFound {
			t.Errorf("a service under another category: %d", res.StatusCode)
		}
	})
}

func TestServicesByAudience(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newCatalogSite(t, d)
		_, all := get(t, s.portal.URL+"/servizi")
		_, fam := get(t, s.portal.URL+"/servizi?destinatari=famiglie")
		n, m := strings.Count(all, `data-element="service-link"`), strings.Count(fam, `data-element="service-link"`)
		if m == 0 || m >= n {
			t.Errorf("services for families: %d of %d", m, n)
		}
		if res, _ := get(t, s.portal.URL+"/servizi?destinatari=marziani"); res.StatusCode != http.StatusNotFound {
			t.Errorf("unknown audience: %d", res.StatusCode)
		}
	})
}

func TestOfficesAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newCatalogSite(t, d)
		var offices []catalog.OfficeJSON
		_, body := get(t, s.portal.URL+"/api/v1/offices")
		if err := json.Unmarshal([]byte(body), &offices); err != nil || len(offices) < 8 {
			t.Fatalf("/api/v1/offices: %v, %d offices", err, len(offices))
		}
		if o := offices[0]; o.ID == "" || o.Address == "" || len(o.OpeningHours) == 0 {
			t.Errorf("office without id, address or hours: %+v", o)
		}
		_, body = get(t, s.portal.URL+"/api/v1/offices?open_at="+url.QueryEscape("2026-12-25T10:00:00+01:00"))
		if strings.TrimSpace(body) != "[]" {
			t.Errorf("offices open on Christmas morning: %s", body)
		}
		_, body = get(t, s.portal.URL+"/api/v1/offices?open_at="+url.QueryEscape("2026-11-25T18:30:00+01:00"))
		if err := json.Unmarshal([]byte(body), &offices); err != nil || len(offices) == 0 {
			t.Errorf("no office open on Wednesday evening: %s", body)
		}
		res, body := get(t, s.portal.URL+"/api/v1/offices?open_at=domani")
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"field": "open_at"`) {
			t.Errorf("malformed instant: %d %s", res.StatusCode, body)
		}
		if res, _ := get(t, s.portal.URL+"/api/v1/offices/nessuno"); res.StatusCode != http.StatusNotFound {
			t.Errorf("unknown office: %d", res.StatusCode)
		}
		res, body = get(t, s.portal.URL+"/api/v1/services/carta-identita-elettronica")
		if res.StatusCode != 200 || !strings.Contains(body, `"how_to"`) {
			t.Errorf("service API: %d", res.StatusCode)
		}
	})
}

func TestFinderWithoutJavaScript(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, _ := finderSite(t, d)
		res, body := get(t, s.portal.URL+"/dove-e-quando?quando=libero&giorno=2026-11-25&dalle=18:00&alle=19:30")
		if res.StatusCode != 200 || !strings.Contains(body, "Aperti tra 25/11 18:00 e 19:30") || !strings.Contains(body, "/amministrazione/uffici/") {
			t.Errorf("Wednesday evening: %d", res.StatusCode)
		}
		_, body = get(t, s.portal.URL+"/dove-e-quando?quando=libero&giorno=2026-12-25&dalle=10:00&alle=12:00")
		if !strings.Contains(body, "Nessun ufficio è aperto in questa fascia") || !strings.Contains(body, "La prima occasione dopo") {
			t.Error("Christmas morning: no 'next chance'")
		}
		res, body = get(t, s.portal.URL+"/dove-e-quando?quando=libero&giorno=2026-02-30&dalle=12:00&alle=11:00")
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="f-giorno-error"`) || !strings.Contains(body, `id="f-alle-error"`) {
			t.Errorf("bad window: %d", res.StatusCode)
		}
	})
}

func TestCoordinationView(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newCatalogSite(t, d)
		base := s.portal.URL + "/coordinamento-orari?categoria=anagrafe-e-stato-civile&settimana=2026-11-25"
		res, body := get(t, base)
		if res.StatusCode != 200 || !strings.Contains(body, "dal 23/11/2026") || !strings.Contains(body, `<table class="table table-sm table-bordered coverage">`) {
			t.Fatalf("coordination view: %d", res.StatusCode)
		}
		figure := regexp.MustCompile(`Ore con almeno un ufficio aperto</th><td>([^<]+)</td>`)
		now := figure.FindStringSubmatch(body)
		if now == nil {
			t.Fatal("no total figure")
		}
		// Opening the Anagrafe on Sunday morning, when nothing else is open,
		// adds those hours to the week's coverage and to the time outside work.
		q := url.Values{"ufficio": {"anagrafe"}, "monday": {"08:30-12:30"}, "tuesday": {"08:30-12:30, 14:00-16:00"}, "wednesday": {"08:30-12:30, 17:00-19:30"},
			"thursday": {"08:30-12:30, 14:00-16:00"}, "friday": {"08:30-12:30"}, "saturday": {"09:00-12:00"}, "sunday": {"09:00-12:00"}}
		res, body = get(t, base+"&"+q.Encode())
		m := regexp.MustCompile(`Ore con almeno un ufficio aperto</th><td>[^<]+</td><td>[^<]+</td><td>([^<]+)</td>`).FindStringSubmatch(body)
		if res.StatusCode != 200 || m == nil || m[1] != "&#43;3 h" {
			t.Errorf("proposal with a Sunday morning: %d, change %v", res.StatusCode, m)
		}
		res, body = get(t, base+"&ufficio=anagrafe&monday=12:00-08:00")
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="f-monday-error"`) {
			t.Errorf("inverted hours in a proposal: %d", res.StatusCode)
		}
		if res, _ := get(t, s.portal.URL+"/coordinamento-orari?categoria=nessuna"); res.StatusCode != http.StatusNotFound {
			t.Errorf("unknown category: %d", res.StatusCode)
		}
	})
}

func TestOfficeCalendarAndMetadata(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newCatalogSite(t, d)
		res, body := get(t, s.portal.URL+"/offices/anagrafe/hours.ics")
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/calendar; charset=utf-8" {
			t.Fatalf("calendar: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
		}
		if !strings.HasPrefix(body, "BEGIN:VCALENDAR\r\n") || !strings.HasSuffix(body, "END:VCALENDAR\r\n") || strings.Count(body, "BEGIN:VEVENT") < 20 {
			t.Errorf("calendar: %d events", strings.Count(body, "BEGIN:VEVENT"))
		}
		for _, line := range strings.Split(body, "\r\n") {
			if len(line) > 75 {
				t.Errorf("line longer than 75 octets: %q", line)
			}
		}
		_, page := get(t, s.portal.URL+"/amministrazione/uffici/anagrafe")
		if !strings.Contains(page, `"@type":"OpeningHoursSpecification"`) || !strings.Contains(page, `"dayOfWeek":"https://schema.org/Wednesday"`) {
			t.Error("office page without OpeningHoursSpecification")
		}
		res, body = get(t, s.portal.URL+"/api/v1/openapi.json")
		var doc struct {
			OpenAPI string         `json:"openapi"`
			Paths   map[string]any `json:"paths"`
		}
		if res.StatusCode != 200 || json.Unmarshal([]byte(body), &doc) != nil || doc.OpenAPI == "" {
			t.Fatalf("openapi: %d", res.StatusCode)
		}
		for _, p := range []string{"/offices", "/offices/{id}", "/services", "/services/{id}", "/me", "/notices/{number}", "/positions"} {
			if doc.Paths[p] == nil {
				t.Errorf("openapi lacks %s", p)
			}
		}
	})
}

// operatorBrowser logs in an operator with the given roles (password and
// TOTP) and returns their browser.
func operatorBrowser(t *testing.T, s *idSite, email string, roles ...string) *browser {
	t.Helper()
	b := s.browser(t, nil)
	operatorLogin(t, s, b, identity.NewOperator{Email: email, Roles: roles})
	return b
}

// operatorLogin creates the operator and logs them in on b (password and
// TOTP enrolment).
func operatorLogin(t *testing.T, s *idSite, b *browser, op identity.NewOperator) {
	t.Helper()
	email := op.Email
	if _, err := s.apps.identity.CreateOperator(context.Background(), op, "Sportello-Prima-Volta-1", "test"); err != nil {
		t.Fatal(err)
	}
	_, body := b.do("POST", s.plain.URL+"/accedi", url.Values{"email": {email}, "password": {"Sportello-Prima-Volta-1"}})
	token := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(body)
	secret := regexp.MustCompile(`<code class="fs-5">([A-Z2-7]+)</code>`).FindStringSubmatch(body)
	if token == nil || secret == nil {
		t.Fatalf("no TOTP enrolment for %s", email)
	}
	code, _ := identity.TOTPCode(secret[1], time.Now())
	if res, _ := b.do("POST", s.plain.URL+"/accedi/codice", url.Values{"token": {token[1]}, "code": {code}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("operator login: %d", res.StatusCode)
	}
}

// A service that is online says where: every demo service whose channel is
// online or both leads there from its page, and one that is only online
// offers no appointment as its way in.
func TestOnlineServicesLeadOnline(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newCatalogSite(t, d)
		cat, err := s.apps.civico.catalog.Store.Get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		access := regexp.MustCompile(`(?s)<section id="accedi-al-servizio".*?</section>`)
		online := 0
		for _, sv := range cat.Services {
			_, body := get(t, s.portal.URL+"/servizi/"+sv.Category+"/"+sv.ID)
			sec := access.FindString(body)
			hasOnline := strings.Contains(sec, `data-element="service-online-access"`) && strings.Contains(sec, "Accedi al servizio online")
			hasBooking := strings.Contains(sec, `href="/prenota-appuntamento?servizio=`+sv.ID+`"`)
			switch sv.Channel {
			case "online", "both":
				online++
				if sv.OnlineURL == "" || !hasOnline || !strings.Contains(sec, `href="`+sv.OnlineURL+`"`) {
					t.Errorf("%s (%s): no way online (%q)", sv.ID, sv.Channel, sv.OnlineURL)
				}
				if sv.Channel == "online" && hasBooking {
					t.Errorf("%s is online only and offers an appointment", sv.ID)
				}
				if sv.Channel == "both" && !hasBooking {
					t.Errorf("%s is also at the desk and offers no appointment", sv.ID)
				}
				// An address on the portal itself leads to a page.
				if strings.HasPrefix(sv.OnlineURL, "/") {
					path, _, _ := strings.Cut(sv.OnlineURL, "#")
					if res, _ := get(t, s.portal.URL+path); res.StatusCode != http.StatusOK {
						t.Errorf("%s: its online address %s answers %d", sv.ID, sv.OnlineURL, res.StatusCode)
					}
				}
			case "desk":
				if !hasBooking {
					t.Errorf("%s is at the desk and offers no appointment", sv.ID)
				}
			}
		}
		if online < 50 {
			t.Errorf("%d demo services online", online)
		}
		_, body := get(t, s.portal.URL+"/servizi/tributi-finanze-e-contravvenzioni/pagamenti-pagopa")
		if sec := access.FindString(body); !strings.Contains(sec, "Accedi al servizio online") || strings.Contains(sec, "Prenota un appuntamento") {
			t.Errorf("Pagare online con pagoPA:\n%s", sec)
		}
	})
}
