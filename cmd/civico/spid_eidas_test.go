package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/spid"
	"github.com/civico-pa/civico/internal/spid/spidtest"
)

// eidasShaped makes a SPID-shaped answer the eIDAS node's: the eIDAS
// person identifier as spidCode (none when id is ""), no placeOfBirth,
// and the fiscal number only when fiscal is not "" ("keep" keeps the
// person's).
func eidasShaped(id, fiscal string) func(doc *etree.Document) {
	return func(doc *etree.Document) {
		stmt := doc.Root().FindElement("./Assertion/AttributeStatement")
		for _, a := range stmt.SelectElements("Attribute") {
			switch a.SelectAttrValue("Name", "") {
			case "placeOfBirth":
				stmt.RemoveChild(a)
			case "fiscalNumber":
				if fiscal == "" {
					stmt.RemoveChild(a)
				} else if fiscal != "keep" {
					a.SelectElement("AttributeValue").SetText(fiscal)
				}
			}
		}
		if id != "" {
			at := stmt.CreateElement("saml:Attribute")
			at.CreateAttr("Name", "spidCode")
			v := at.CreateElement("saml:AttributeValue")
			v.CreateAttr("xmlns:xs", "http://www.w3.org/2001/XMLSchema")
			v.CreateAttr("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
			v.CreateAttr("xsi:type", "xs:string")
			v.SetText(id)
		}
	}
}

// TestEIDASProfile runs the Italian eIDAS node's profile (FICEP) beside
// SPID's through the portal built as production: a European without a
// fiscal code logs in at substantial or high, their account keyed by the
// proven eIDAS identifier; every refused answer leaves a 4xx and nothing
// created.
func TestEIDASProfile(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newSPIDSite(t, d)
		spidIdP := s.idp
		node, err := spidtest.New("https://sp-proxy.eid.test/spproxy/idpit", "https://sp-proxy.eid.test/spproxy")
		if err != nil {
			t.Fatal(err)
		}
		idps, err := spid.ParseMetadata(node.Metadata("eIDAS (nodo di prova)"), spid.EIDAS.Name)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Tx(ctx, func(tx *sql.Tx) error { return (&spid.Registry{DB: d}).Put(ctx, tx, idps) }); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.idp = spidIdP })
		n := 0
		newID := func() string { n++; return fmt.Sprintf("DE/IT/%d-deadbeef+/=", 1000+n) }

		t.Run("the button, at substantial and high only", func(t *testing.T) {
			b := s.spidBrowser(t)
			_, body := b.do("GET", s.plain.URL+"/accedi", nil)
			want := `href="` + spid.PathLogin + `?idp=https%3A%2F%2Fsp-proxy.eid.test%2Fspproxy%2Fidpit&amp;livello=substantial`
			if !strings.Contains(body, want) || !strings.Contains(body, "Accedi con eIDAS") || strings.Contains(body, "btn-cie\" href=\""+spid.PathLogin+"?idp=https%3A%2F%2Fsp-proxy") {
				t.Fatalf("no eIDAS button at substantial:\n%s", body)
			}
			_, body = b.do("GET", s.plain.URL+"/accedi/carta?livello=high", nil)
			if !strings.Contains(body, `?idp=https%3A%2F%2Fsp-proxy.eid.test%2Fspproxy%2Fidpit&amp;livello=high`) {
				t.Fatalf("no eIDAS button at high:\n%s", body)
			}
			// A request below substantial is not made: nothing recorded.
			before := s.count(t, "spid_requests")
			res, body := b.do("GET", s.plain.URL+spid.PathLogin+"?"+url.Values{"idp": {node.EntityID}, "livello": {"low"}}.Encode(), nil)
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "livello di sicurezza significativo o elevato") || s.count(t, "spid_requests") != before {
				t.Fatalf("eIDAS at low: %d, %d requests (were %d)\n%s", res.StatusCode, s.count(t, "spid_requests"), before, body)
			}
		})

		// login runs one login through the node and returns the final
		// status, URL and page.
		login := func(t *testing.T, b *browser, idp *spidtest.IdP, level, classRef string, p spidtest.Person, edit func(*etree.Document)) (int, string, string) {
			t.Helper()
			s.idp = idp
			req := s.start(t, b, level, "/area-personale")
			if idp == node && (req.AttrIndex != spid.EIDASAttributeIndex || req.ForceAuthn != "true") {
				t.Fatalf("eIDAS request: AttributeConsumingServiceIndex %q ForceAuthn %q", req.AttrIndex, req.ForceAuthn)
			}
			doc := idp.Response(s.answer(req, p, classRef))
			edit(doc)
			xml, err := idp.Sign(doc, true, true)
			if err != nil {
				t.Fatal(err)
			}
			return s.post(t, b, xml, req.RelayState)
		}
		accountOf := func(t *testing.T, eidasID string) (id, source, code string) {
			t.Helper()
			if err := d.QueryRowContext(ctx, `SELECT id, eidas_id_source, COALESCE(fiscal_code, '') FROM accounts WHERE eidas_id = $1`, eidasID).Scan(&id, &source, &code); err != nil {
				t.Fatalf("account of %s: %v", eidasID, err)
			}
			return id, source, code
		}

		t.Run("a closed account's subject goes to the European's next one", func(t *testing.T) {
			eid, p := newID(), s.person(t)
			svc := s.apps.civico.spid.Web.ID.Svc
			var ids []string
			for i := range 2 {
				b := s.spidBrowser(t)
				if status, _, _ := login(t, b, node, "substantial", spid.SpidL2, p, eidasShaped(eid, "")); status != http.StatusOK {
					t.Fatalf("login %d: %d", i, status)
				}
				_, me := b.me(s.plain.URL)
				a, err := svc.Store.ByID(ctx, me.ID)
				if err != nil {
					t.Fatal(err)
				}
				if i == 1 && (a.ID == ids[0] || a.Subject() != ids[0]) {
					t.Fatalf("the next account %s has subject %s, want a new id with %s", a.ID, a.Subject(), ids[0])
				}
				ids = append(ids, a.ID)
				if err := svc.CloseAccount(ctx, a, "192.0.2.1"); err != nil {
					t.Fatal(err)
				}
				var left string
				if err := d.QueryRowContext(ctx, `SELECT COALESCE(eidas_id, '') FROM accounts WHERE id = $1`, a.ID).Scan(&left); err != nil || left != "" {
					t.Fatalf("closed account keeps %q (%v)", left, err)
				}
			}
		})

		t.Run("a European without a fiscal code, twice", func(t *testing.T) {
			eid := newID()
			p := s.person(t)
			p.Name, p.FamilyName = "ANNA", "MÜLLER"
			var first string
			for i, c := range []struct{ level, classRef, assurance string }{{"substantial", spid.SpidL2, "substantial"}, {"high", spid.SpidL3, "high"}} {
				b := s.spidBrowser(t)
				before := s.count(t, "accounts")
				status, u, _ := login(t, b, node, c.level, c.classRef, p, eidasShaped(eid, ""))
				if status != http.StatusOK || !strings.HasSuffix(u, "/area-personale") {
					t.Fatalf("login %d: %d at %s", i, status, u)
				}
				if want := before + 1 - i; s.count(t, "accounts") != want {
					t.Fatalf("login %d: %d accounts, want %d", i, s.count(t, "accounts"), want)
				}
				_, me := b.me(s.plain.URL)
				if me.Method != "eidas" || me.Assurance != c.assurance || me.EIDASID != eid || me.FiscalCode != "" ||
					me.Sources["eidas_id"] != identity.SourceEIDAS || me.Sources["name"] != identity.SourceEIDAS || me.GivenName != "Anna" || me.FamilyName != "Müller" {
					t.Fatalf("me: %+v", me)
				}
				if i == 0 {
					first = me.ID
				} else if me.ID != first {
					t.Fatalf("second login opened %s, not %s", me.ID, first)
				}
				// The data download names the identifier and its source.
				_, dl := b.download(t, s.plain.URL)
				var acc struct {
					EIDASID string                     `json:"eidas_id"`
					Sources map[string]identity.Source `json:"sources"`
					Birth   string                     `json:"birth_date"`
				}
				if err := json.Unmarshal(dl["account"], &acc); err != nil || acc.EIDASID != eid || acc.Sources["eidas_id"] != identity.SourceEIDAS ||
					acc.Birth != "1950-01-01" || acc.Sources["sex_and_birth_date"] != identity.SourceEIDAS {
					t.Fatalf("download: %v %+v", err, acc)
				}
				// The profile says what the person can and cannot do.
				_, body := b.do("GET", s.plain.URL+"/profilo", nil)
				if !strings.Contains(body, strings.TrimSuffix(eid, "+/=")) || !strings.Contains(body, "senza codice fiscale italiano") ||
					!strings.Contains(body, "dal nodo eIDAS") || strings.Contains(body, "identity.") {
					t.Fatalf("profile:\n%s", body)
				}
				// What needs a proven fiscal code says why, and does not fail.
				res, body := b.do("GET", s.plain.URL+"/area-personale/pagamenti", nil)
				if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "serve un accesso che provi il tuo codice fiscale") {
					t.Fatalf("payments without a fiscal code: %d\n%s", res.StatusCode, body)
				}
			}
			if _, src, code := accountOf(t, eid); src != "eidas" || code != "" {
				t.Fatalf("stored: source %q code %q", src, code)
			}
		})

		t.Run("a fiscal number in the node's answer proves nothing: the identifier's account", func(t *testing.T) {
			eid, p := newID(), s.person(t)
			b := s.spidBrowser(t)
			status, u, _ := login(t, b, node, "substantial", spid.SpidL2, p, eidasShaped(eid, "keep"))
			if status != http.StatusOK || !strings.HasSuffix(u, "/area-personale") {
				t.Fatalf("%d at %s", status, u)
			}
			_, me := b.me(s.plain.URL)
			if me.FiscalCode != "" || me.EIDASID != eid {
				t.Fatalf("me: %+v", me)
			}
			// The same fiscal code by SPID: its own account, not the
			// European's (outside review M4: an eIDAS answer naming an
			// operator's code entered the operator's account).
			b2 := s.spidBrowser(t)
			if status, _, _ := login(t, b2, spidIdP, "substantial", spid.SpidL2, p, func(*etree.Document) {}); status != http.StatusOK {
				t.Fatalf("SPID login: %d", status)
			}
			if _, me2 := b2.me(s.plain.URL); me2.ID == me.ID || me2.EIDASID != "" {
				t.Fatalf("SPID opened %s (eIDAS %q), the eIDAS login %s", me2.ID, me2.EIDASID, me.ID)
			}
		})

		t.Run("a typed fiscal code is left to the proofs of fiscal codes", func(t *testing.T) {
			eid, p := newID(), s.person(t)
			code := strings.TrimPrefix(p.FiscalNumber, "TINIT-")
			if _, err := d.ExecContext(ctx, `INSERT INTO accounts (id, kind, email, fiscal_code, fiscal_code_source, given_name, family_name, created_at, updated_at)
				VALUES ('claimer', 'resident', 'claimer@example.test', $1, 'self', 'Mal', 'Intenzionato', $2, $2)`, code, time.Now().UTC()); err != nil {
				t.Fatal(err)
			}
			b := s.spidBrowser(t)
			if status, _, _ := login(t, b, node, "substantial", spid.SpidL2, p, eidasShaped(eid, "keep")); status != http.StatusOK {
				t.Fatalf("login: %d", status)
			}
			_, me := b.me(s.plain.URL)
			var claimed string
			if err := d.QueryRowContext(ctx, `SELECT COALESCE(fiscal_code, '') FROM accounts WHERE id = 'claimer'`).Scan(&claimed); err != nil {
				t.Fatal(err)
			}
			if me.ID == "claimer" || claimed != code || me.FiscalCode != "" {
				t.Fatalf("the claimer's account: me %+v, claimed %q", me, claimed)
			}
		})

		t.Run("an eIDAS identifier recorded without proof opens nothing", func(t *testing.T) {
			eid := newID()
			if _, err := d.ExecContext(ctx, `INSERT INTO accounts (id, kind, email, eidas_id, eidas_id_source, given_name, family_name, created_at, updated_at)
				VALUES ('eidasclaimer', 'resident', 'eidasclaimer@example.test', $1, 'self', 'Mal', 'Intenzionato', $2, $2)`, eid, time.Now().UTC()); err != nil {
				t.Fatal(err)
			}
			b := s.spidBrowser(t)
			if status, _, _ := login(t, b, node, "substantial", spid.SpidL2, s.person(t), eidasShaped(eid, "")); status != http.StatusOK {
				t.Fatalf("login: %d", status)
			}
			_, me := b.me(s.plain.URL)
			if id, src, _ := accountOf(t, eid); me.ID == "eidasclaimer" || id != me.ID || src != "eidas" {
				t.Fatalf("opened %s; the identifier is on %s (%s)", me.ID, id, src)
			}
		})

		t.Run("an identifier's account stays the identifier's, with or without a fiscal number", func(t *testing.T) {
			eid, p := newID(), s.person(t)
			b := s.spidBrowser(t)
			if status, _, _ := login(t, b, node, "substantial", spid.SpidL2, p, eidasShaped(eid, "")); status != http.StatusOK {
				t.Fatalf("login: %d", status)
			}
			first, _, _ := accountOf(t, eid)
			b2 := s.spidBrowser(t)
			if status, _, _ := login(t, b2, node, "substantial", spid.SpidL2, p, eidasShaped(eid, "keep")); status != http.StatusOK {
				t.Fatalf("login: %d", status)
			}
			_, me := b2.me(s.plain.URL)
			if now, _, _ := accountOf(t, eid); now != first || me.ID != first || me.EIDASID != eid || me.FiscalCode != "" {
				t.Fatalf("identifier on %s (was %s), the second login's account %+v", now, first, me)
			}
		})

		cases := []struct {
			name     string
			idp      *spidtest.IdP
			level    string
			classRef string
			edit     func(*etree.Document)
		}{
			{"eIDAS: an answer at level 1", node, "substantial", spid.SpidL1, eidasShaped(newID(), "")},
			{"eIDAS: no PersonIdentifier", node, "substantial", spid.SpidL2, eidasShaped("", "")},
			{"eIDAS: no PersonIdentifier, a fiscal number", node, "substantial", spid.SpidL2, eidasShaped("", "keep")},
			{"eIDAS: an identifier for another country's services", node, "substantial", spid.SpidL2, eidasShaped("DE/FR/12345", "")},
			{"eIDAS: an identifier without its countries", node, "substantial", spid.SpidL2, eidasShaped("12345", "")},
			{"eIDAS: an identifier with a space", node, "substantial", spid.SpidL2, eidasShaped("DE/IT/12 345", "")},
			{"eIDAS: a fiscal number that is not TINIT-", node, "substantial", spid.SpidL2, eidasShaped(newID(), "DE-12345")},
			{"eIDAS: a malformed fiscal number", node, "substantial", spid.SpidL2, eidasShaped(newID(), "TINIT-RSSMRA80A01F205Y")},
			{"eIDAS: no dateOfBirth", node, "substantial", spid.SpidL2, func(doc *etree.Document) {
				eidasShaped(newID(), "")(doc)
				for _, a := range doc.Root().FindElements("./Assertion/AttributeStatement/Attribute[@Name='dateOfBirth']") {
					a.Parent().RemoveChild(a)
				}
			}},
			{"SPID: an eIDAS answer without a fiscal number", spidIdP, "substantial", spid.SpidL2, eidasShaped(newID(), "")},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				b := s.spidBrowser(t)
				accounts, sessions := s.count(t, "accounts"), s.count(t, "sessions")
				status, u, _ := login(t, b, c.idp, c.level, c.classRef, s.person(t), c.edit)
				if status < 400 || status > 499 || s.count(t, "accounts") != accounts || s.count(t, "sessions") != sessions {
					t.Fatalf("want a 4xx and nothing created, got %d at %s (accounts %d→%d, sessions %d→%d)", status, u,
						accounts, s.count(t, "accounts"), sessions, s.count(t, "sessions"))
				}
			})
		}

		t.Run("only the eIDAS node proves an identifier, at substantial or more", func(t *testing.T) {
			svc := s.apps.civico.spid.Web.ID.Svc
			for _, p := range []identity.Proven{
				{EIDASID: newID(), GivenName: "A", FamilyName: "B", Source: identity.SourceSPID, Level: assurance.Substantial, Method: "spid"},
				{EIDASID: newID(), GivenName: "A", FamilyName: "B", Source: identity.SourceCIE, Level: assurance.High, Method: "cie"},
				{EIDASID: newID(), GivenName: "A", FamilyName: "B", Source: identity.SourceEIDAS, Level: assurance.Low, Method: "eidas"},
				{EIDASID: "DE/FR/1", GivenName: "A", FamilyName: "B", Source: identity.SourceEIDAS, Level: assurance.High, Method: "eidas"},
				{GivenName: "A", FamilyName: "B", Source: identity.SourceEIDAS, Level: assurance.High, Method: "eidas"},
			} {
				before := s.count(t, "accounts")
				if _, err := svc.LoginProven(ctx, p, "192.0.2.1", "test"); err == nil || s.count(t, "accounts") != before {
					t.Fatalf("%+v: %v, accounts %d→%d", p, err, before, s.count(t, "accounts"))
				}
			}
		})

		t.Run("SPID: a spidCode that looks like an eIDAS identifier is not one", func(t *testing.T) {
			eid, p := newID(), s.person(t)
			b := s.spidBrowser(t)
			if status, _, _ := login(t, b, spidIdP, "substantial", spid.SpidL2, p, eidasShaped(eid, "keep")); status != http.StatusOK {
				t.Fatalf("login: %d", status)
			}
			_, me := b.me(s.plain.URL)
			var n int
			if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts WHERE eidas_id = $1`, eid).Scan(&n); err != nil || n != 0 || me.EIDASID != "" {
				t.Fatalf("a SPID provider's spidCode recorded as an eIDAS identifier: %v %d %+v", err, n, me)
			}
		})
	})
}
