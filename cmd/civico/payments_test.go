package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/cardca"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/pagopa"
	"github.com/civico-pa/civico/internal/payments"
	"github.com/civico-pa/civico/internal/town"
)

// paySite is the portal with Luca Ferrari's card and two notices of his.
type paySite struct {
	*idSite
	card          *cardca.Card
	code          string
	svc           *payments.Service
	canteen, fine *payments.Position
}

func newPaySite(t *testing.T, d *db.DB) *paySite {
	t.Helper()
	s := newIDSite(t, d)
	code, _ := cf.Complete("FRRLCU78H15C707")
	p := &paySite{idSite: s, code: string(code), svc: s.apps.civico.payments.Service}
	p.card = s.card(t, "FRRLCU78H15C707", "LUCA", "FERRARI", nil)
	var err error
	p.canteen, err = p.svc.Create(context.Background(), payments.NewPosition{DebtorCF: p.code, Category: payments.Canteen, Reason: "Mensa scolastica, novembre",
		Year: 2026, Amount: 4520, DueDate: "2026-12-31"}, payments.Actor{Name: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	p.fine, err = p.svc.Create(context.Background(), payments.NewPosition{DebtorCF: p.code, Category: payments.Fine, Reason: "Sanzione sosta vietata",
		Year: 2026, Amount: 4200, DueDate: "2026-12-15"}, payments.Actor{Name: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var (
	keyRE     = regexp.MustCompile(`name="chiave" value="([^"]+)"`)
	sandboxRE = regexp.MustCompile(`/sandbox-pagamenti/paga/[0-9a-f]+`)
	receiptRE = regexp.MustCompile(`/area-personale/pagamenti/ricevute/[0-9a-f]+`)
)

// checkout logs in with the card, opens I miei pagamenti and pays the
// two notices together, landing on the sandbox's page.
func (p *paySite) checkout(t *testing.T, b *browser) (string, string) {
	t.Helper()
	res, body := b.do("GET", p.tls.URL+payments.AreaPath, nil)
	mine := res
	if res.StatusCode != 200 || !strings.Contains(body, "Mensa scolastica, novembre") || !strings.Contains(body, "Sanzione sosta vietata") {
		t.Fatalf("I miei pagamenti: %d\n%s", res.StatusCode, body)
	}
	if !strings.Contains(body, pagopa.Grouped(p.canteen.Notices[0].Number)) {
		t.Fatal("the notice number is not shown in groups of four")
	}
	key := keyRE.FindStringSubmatch(body)
	if key == nil {
		t.Fatal("no idempotency key in the checkout form")
	}
	// Amounts a stranger adds to the form are not read: the total is the
	// notices' own (the sandbox's page shows € 87,20 below).
	form := url.Values{"chiave": {key[1]}, "avviso": {p.canteen.Notices[0].ID, p.fine.Notices[0].ID}, "importo": {"0,01"}, "amount": {"1"}}
	res, _ = b.do("POST", p.tls.URL+payments.AreaPath+"/paga", form)
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !sandboxRE.MatchString(loc) {
		t.Fatalf("checkout: %d to %q", res.StatusCode, loc)
	}
	// A second click with the same form is the same payment.
	res2, _ := b.do("POST", p.tls.URL+payments.AreaPath+"/paga", form)
	if res2.Header.Get("Location") != loc {
		t.Fatalf("the same form posted twice went to %q and %q", loc, res2.Header.Get("Location"))
	}
	// Browsers apply the form's page's form-action to the redirect that
	// follows it: the payments page allows the gateway's origin, the
	// sandbox's page the listener the resident returns to.
	if csp := mine.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+origin(loc)+";") {
		t.Fatalf("the payments page's form cannot lead to the gateway at %s: %s", origin(loc), csp)
	}
	res, body = b.do("GET", loc, nil)
	if res.StatusCode != 200 || !strings.Contains(body, "87,20") {
		t.Fatalf("sandbox page: %d, want the total € 87,20\n%s", res.StatusCode, body)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+origin(p.tls.URL)+";") {
		t.Fatalf("the sandbox's form cannot return to %s: %s", p.tls.URL, csp)
	}
	return loc, key[1]
}

func TestPayTwoNoticesInOneCheckoutAndDownloadTheReceipt(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		p := newPaySite(t, d)
		b := p.browser(t, p.card)
		p.cardLogin(t, b, "/")
		page, _ := p.checkout(t, b)
		res, _ := b.do("POST", page, url.Values{"esito": {"paid"}})
		back := res.Header.Get("Location")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(back, p.tls.URL+payments.AreaPath+"/esito/") {
			t.Fatalf("sandbox: %d back to %q", res.StatusCode, back)
		}
		res, body := b.do("GET", back, nil)
		if res.StatusCode != 200 || !strings.Contains(body, `data-outcome="paid"`) {
			t.Fatalf("outcome page: %d\n%s", res.StatusCode, body)
		}
		links := receiptRE.FindAllString(body, -1)
		if len(links) != 2 {
			t.Fatalf("%d receipt links on the outcome page, want 2", len(links))
		}
		res, pdf := b.do("GET", p.tls.URL+links[0], nil)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(pdf, "%PDF-") {
			t.Fatalf("receipt: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		// The notice's printed form, with its QR code.
		res, pdf = b.do("GET", p.tls.URL+payments.AreaPath+"/avvisi/"+p.canteen.Notices[0].ID+"/avviso.pdf", nil)
		if res.StatusCode != 200 || !strings.HasPrefix(pdf, "%PDF-") {
			t.Fatalf("notice PDF: %d", res.StatusCode)
		}
		// Statements.
		res, csv := b.do("GET", p.tls.URL+payments.AreaPath+"/estratto.csv?anno=2026", nil)
		if res.StatusCode != 200 || strings.Count(csv, "\n") != 3 || !strings.Contains(csv, "45.20") || !strings.Contains(csv, "42.00") {
			t.Fatalf("statement CSV: %d\n%s", res.StatusCode, csv)
		}
		if res, pdf := b.do("GET", p.tls.URL+payments.AreaPath+"/estratto.pdf?anno=2026", nil); res.StatusCode != 200 || !strings.HasPrefix(pdf, "%PDF-") {
			t.Fatalf("statement PDF: %d", res.StatusCode)
		}
		if n := p.count(t, "payments_receipts"); n != 2 {
			t.Fatalf("%d receipts", n)
		}
		// Someone else's receipt is not found.
		other := p.browser(t, p.idSite.card(t, "BNCGLI90A41F205", "GIULIA", "BIANCHI", nil))
		p.cardLogin(t, other, "/")
		if res, _ := other.do("GET", p.tls.URL+links[0], nil); res.StatusCode != 404 {
			t.Fatalf("another resident's receipt: %d", res.StatusCode)
		}
		// Nor their notice, its PDF, or the outcome of their payment.
		for _, path := range []string{payments.AreaPath + "/avvisi/" + p.canteen.Notices[0].ID, payments.AreaPath + "/avvisi/" + p.canteen.Notices[0].ID + "/avviso.pdf",
			back[len(p.tls.URL):]} {
			if res, _ := other.do("GET", p.tls.URL+path, nil); res.StatusCode != 404 {
				t.Fatalf("another resident's %s: %d", path, res.StatusCode)
			}
		}
		// Nor can they pay someone else's notice in their own checkout.
		open, err := p.svc.Create(context.Background(), payments.NewPosition{DebtorCF: p.code, Category: payments.Canteen, Reason: "Mensa scolastica, dicembre",
			Year: 2026, Amount: 3000, DueDate: "2026-12-31"}, payments.Actor{Name: "cli"})
		if err != nil {
			t.Fatal(err)
		}
		_, body = other.do("GET", p.tls.URL+payments.AreaPath, nil)
		if strings.Contains(body, "Mensa scolastica, dicembre") {
			t.Fatal("another resident's notice is listed")
		}
		if key := keyRE.FindStringSubmatch(body); key != nil {
			res, _ := other.do("POST", p.tls.URL+payments.AreaPath+"/paga", url.Values{"chiave": {key[1]}, "avviso": {open.Notices[0].ID}})
			if res.StatusCode == http.StatusSeeOther {
				t.Fatalf("another resident's notice was checked out: to %s", res.Header.Get("Location"))
			}
		} else if res, _ := other.do("POST", p.tls.URL+payments.AreaPath+"/paga", url.Values{"chiave": {"k"}, "avviso": {open.Notices[0].ID}}); res.StatusCode == http.StatusSeeOther {
			t.Fatalf("another resident's notice was checked out: to %s", res.Header.Get("Location"))
		}
		if n, err := p.svc.OwnNotice(context.Background(), p.code, open.Notices[0].ID); err != nil || n.Status != payments.StatusOpen {
			t.Fatalf("another resident's checkout touched the notice: %+v %v", n, err)
		}
		// The day balances.
		today, err := p.svc.DailyReport(context.Background(), time.Now().In(hours.Rome).Format("2006-01-02"))
		if err != nil {
			t.Fatal(err)
		}
		if !today.Balanced() || len(today.Receipts) != 2 || today.Total != 8720 {
			var b bytes.Buffer
			_ = today.WriteCSV(&b)
			t.Fatalf("the day does not balance:\n%s", b.String())
		}
	})
}

// A password login is asked for the card; a refused or abandoned payment
// leaves the notices payable; a forged notification changes nothing.
func TestCheckoutRefusalsAndForgeries(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		p := newPaySite(t, d)
		anon := p.browser(t, nil)
		if res, _ := anon.do("GET", p.plain.URL+payments.AreaPath, nil); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/accedi") {
			t.Fatalf("anonymous: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		b := p.browser(t, p.card)
		p.cardLogin(t, b, "/")
		for _, choice := range []string{"refused", "abandoned"} {
			page, _ := p.checkout(t, b)
			res, _ := b.do("POST", page, url.Values{"esito": {choice}})
			_, body := b.do("GET", res.Header.Get("Location"), nil)
			if !strings.Contains(body, `data-outcome="released"`) {
				t.Fatalf("%s: the outcome page says\n%s", choice, body)
			}
			var open int
			if err := d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM payments_notices WHERE status = 'open'`).Scan(&open); err != nil || open != 2 {
				t.Fatalf("after %s %d notices open, %v", choice, open, err)
			}
		}
		// A notification signed with another key.
		n := payments.Notification{ID: "forged", Status: payments.Status{AttemptID: "x", Outcome: payments.OutcomePaid, Amount: 8720}}
		body, _ := json.Marshal(n)
		req, _ := http.NewRequest("POST", p.plain.URL+"/pagamenti/notifiche/sandbox", bytes.NewReader(body))
		req.Header.Set(payments.SignatureHeader, payments.Sign([]byte("not the key"), body, time.Now()))
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("forged notification: %v %v", res, err)
		}
		res.Body.Close()
		if p.count(t, "payments_notifications") != 2 || p.count(t, "payments_receipts") != 0 {
			t.Fatal("a forged notification was recorded")
		}
	})
}

// A payment whose outcome is delayed shows as pending, then paid once
// the notification arrives; replayed, it settles once.
func TestDelayedOutcomeAndReplayedNotification(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		p := newPaySite(t, d)
		sb := p.apps.civico.payments.SandboxGateway()
		sb.Delay = time.Millisecond
		var mu sync.Mutex
		var captured [][]byte
		var hdr http.Header
		inner := http.DefaultTransport
		sb.HTTP = &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
			b, _ := readAll(r)
			mu.Lock()
			captured, hdr = append(captured, b), r.Header.Clone()
			mu.Unlock()
			r.Body = readCloser(b)
			return inner.RoundTrip(r)
		})}
		b := p.browser(t, p.card)
		p.cardLogin(t, b, "/")
		page, _ := p.checkout(t, b)
		res, _ := b.do("POST", page, url.Values{"esito": {"delayed"}})
		back := res.Header.Get("Location")
		_, body := b.do("GET", back, nil)
		if !strings.Contains(body, `data-outcome="pending"`) {
			t.Fatalf("a delayed outcome is not pending:\n%s", body)
		}
		time.Sleep(5 * time.Millisecond)
		if err := sb.SendDelayed(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, body = b.do("GET", back, nil); !strings.Contains(body, `data-outcome="paid"`) {
			t.Fatalf("after the delayed notification:\n%s", body)
		}
		if len(captured) != 1 {
			t.Fatalf("%d notifications sent", len(captured))
		}
		for range 10 {
			req, _ := http.NewRequest("POST", p.plain.URL+"/pagamenti/notifiche/sandbox", bytes.NewReader(captured[0]))
			req.Header = hdr.Clone()
			res, err := http.DefaultClient.Do(req)
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("replay: %v %v", res, err)
			}
			res.Body.Close()
		}
		if n := p.count(t, "payments_receipts"); n != 2 {
			t.Fatalf("%d receipts after 10 replays, want 2", n)
		}
	})
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func readAll(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	defer r.Body.Close()
	var b bytes.Buffer
	_, err := b.ReadFrom(r.Body)
	return b.Bytes(), err
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

func readCloser(b []byte) nopCloser { return nopCloser{bytes.NewReader(b)} }

// The demo gives Luca Ferrari's card notices to pay, once however often it
// starts, numbered with the demo's segregation code.
func TestDemoPayments(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if _, err := d.Migrate(ctx, schema()); err != nil {
			t.Fatal(err)
		}
		towns := town.NewStore(d, 0)
		for range 2 {
			cfg := testConfig(t)
			cfg.DataDir, cfg.SecretKey = t.TempDir(), ""
			if err := prepareDemo(ctx, &cfg, d, towns); err != nil {
				t.Fatal(err)
			}
		}
		code, _ := cf.Complete("FRRLCU78H15C707")
		svc := &payments.Service{DB: d, Towns: towns, Segregation: demoSegregation}
		list, total, err := svc.ToPay(ctx, string(code), 1)
		if err != nil {
			t.Fatal(err)
		}
		// Canteen, bus, fine; TARI in one go and in its three instalments.
		if total != 7 || len(list) != 7 {
			t.Fatalf("%d notices to pay: %+v", total, list)
		}
		for _, n := range list {
			p, err := pagopa.Parse(n.Number)
			if err != nil || p.Code != demoSegregation {
				t.Fatalf("notice number %s: %+v %v", n.Number, p, err)
			}
		}
	})
}

// An installation that chose no gateway has no sandbox, where anyone
// logged in could mark their notices paid without paying: serve starts
// without one unless CIVICO_PAYMENTS_GATEWAY=sandbox (the demo has it).
func TestNoSandboxUnlessChosen(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		cfg, err := loadConfig(func(string) string { return "" })
		if err != nil || cfg.Payments.Gateway != "" {
			t.Fatalf("the default gateway is %q (%v), want none", cfg.Payments.Gateway, err)
		}
		s := newTunedIDSite(t, d, func(c *config) { c.Payments.Gateway = cfg.Payments.Gateway })
		if g := s.apps.civico.payments.Service.Gateway; g != nil {
			t.Fatalf("serve's default has the gateway %s", g.Name())
		}
		res, err := http.Post(s.plain.URL+payments.SandboxPath+"/api/payments", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Fatalf("the sandbox's API answers %d without the sandbox, want 404", res.StatusCode)
		}
	})
}

// IMU calculated and turned into a payable position: a wrong field is
// explained beside it with the form kept; the amount is recomputed from
// the inputs (a posted one is ignored); the same calculation twice makes
// one position, which I miei pagamenti lists to pay.
func TestIMUCalculatedAndPaid(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		p := newPaySite(t, d)
		b := p.browser(t, p.card)
		p.cardLogin(t, b, "/")
		form := url.Values{"rendita": {"750,00"}, "category": {"A/2"}, "share": {"100"}, "months": {"12"}, "year": {"2026"}}
		wrong := url.Values{"rendita": {"sette"}, "category": {"A/2"}, "share": {"100"}, "months": {"12"}, "year": {"2026"}}
		res, body := b.do("POST", p.tls.URL+payments.AreaPath+"/imu", wrong)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-rendita-error"`) || !strings.Contains(body, `value="sette"`) {
			t.Fatalf("a wrong cadastral income: %d\n%s", res.StatusCode, body)
		}
		res, body = b.do("POST", p.tls.URL+payments.AreaPath+"/imu", form)
		if res.StatusCode != 200 || !strings.Contains(body, "1.335,60") {
			t.Fatalf("the calculation: %d, want € 1.335,60\n%s", res.StatusCode, body)
		}
		tampered := url.Values{"tax": {"1"}, "importo": {"0,01"}, "amount": {"1"}}
		for k, v := range form {
			tampered[k] = v
		}
		for range 2 {
			res, _ = b.do("POST", p.tls.URL+payments.AreaPath+"/imu/paga", tampered)
			if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), payments.AreaPath) {
				t.Fatalf("paying the IMU: %d to %q", res.StatusCode, res.Header.Get("Location"))
			}
		}
		var n int
		var amount int64
		if err := d.QueryRowContext(context.Background(), `SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM payments_positions WHERE debtor_cf = $1 AND category = 'imu'`, p.code).
			Scan(&n, &amount); err != nil || n != 1 || amount != 133560 {
			t.Fatalf("%d IMU positions for %d cents (%v), want one of 133560", n, amount, err)
		}
		if _, body := b.do("GET", p.tls.URL+payments.AreaPath, nil); !strings.Contains(body, "IMU 2026") {
			t.Fatal("the IMU position is not among the notices to pay")
		}
	})
}
