package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/certificates"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/payments"
	"github.com/civico-pa/civico/internal/population"
)

var dutyNoticeRE = regexp.MustCompile(`href="/area-personale/pagamenti/avvisi/([0-9a-f]+)"`)

// A certificate that bears the stamp duty, through the server as built, on
// both engines: asking for it bills 16 euros as a pagoPA notice and seals
// nothing; the certificate is sealed once the notice is paid in the
// sandbox, states the notice that paid its duty, and the resident's inbox
// says it is ready. Asking for a sixth while five wait is refused with
// nothing billed.
func TestStampDutyCertificateWaitsForItsPayment(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := &sportelloSite{idSite: newIDSite(t, d), t: t}
		certResidents(t, s.idSite)
		base := s.tls.URL
		b, _ := s.resident("FRRLCU78H15C707", "LUCA", "FERRARI", "")

		res, _ := b.do("POST", base+certificates.AreaPath, url.Values{"kind": {"residenza"}, "use": {"bollo"}, "disclosure": {"nome"}})
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/area-personale/certificati?ordinato=1" {
			t.Fatalf("ordering: %d to %q", res.StatusCode, loc)
		}
		res, body := b.do("GET", base+certificates.AreaPath+"?ordinato=1", nil)
		m := dutyNoticeRE.FindStringSubmatch(body)
		if res.StatusCode != 200 || m == nil || !strings.Contains(body, "In attesa del pagamento") || !strings.Contains(body, "Nessun certificato rilasciato") {
			t.Fatalf("the page after ordering: %d\n%s", res.StatusCode, body)
		}
		if n := s.count(t, "certificates"); n != 0 {
			t.Fatalf("%d certificates sealed before the duty was paid", n)
		}
		var amount int64
		var category, status string
		if err := d.QueryRowContext(context.Background(), `SELECT amount, category, status FROM payments_positions WHERE source = 'certificates'`).Scan(&amount, &category, &status); err != nil ||
			amount != certificates.StampDutyAmount || category != string(payments.Stamp) || status != payments.StatusOpen {
			t.Fatalf("the duty's position: %d %s %s %v", amount, category, status, err)
		}

		// Paid in the sandbox, the certificate is there when the resident
		// comes back.
		_, mine := b.do("GET", base+payments.AreaPath, nil)
		key := keyRE.FindStringSubmatch(mine)
		if key == nil {
			t.Fatal("no checkout form on I miei pagamenti")
		}
		res, _ = b.do("POST", base+payments.AreaPath+"/paga", url.Values{"chiave": {key[1]}, "avviso": {m[1]}})
		if res.StatusCode != http.StatusSeeOther || !sandboxRE.MatchString(res.Header.Get("Location")) {
			t.Fatalf("checkout: %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		if res, _ = b.do("POST", res.Header.Get("Location"), url.Values{"esito": {"paid"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("sandbox: %d", res.StatusCode)
		}
		res, body = b.do("GET", base+certificates.AreaPath, nil)
		ids := regexp.MustCompile(`href="/area-personale/certificati/([0-9A-Z]{20})"`).FindAllStringSubmatch(body, -1)
		if res.StatusCode != 200 || len(ids) != 1 || strings.Contains(body, "In attesa del pagamento") {
			t.Fatalf("after paying: %d, %d certificates\n%s", res.StatusCode, len(ids), body)
		}
		c, err := s.apps.civico.certificates.Store.Find(context.Background(), ids[0][1])
		if err != nil || c.Content.Use != certificates.StampDuty || c.Content.Norm != certificates.DutyNorm || c.Content.Duty == "" {
			t.Fatalf("the sealed certificate: %+v %v", c, err)
		}
		if ok, err := s.apps.civico.certificates.Store.Authentic(context.Background(), c); !ok || err != nil {
			t.Fatalf("its seal: %v %v", ok, err)
		}
		var subject string
		if err := d.QueryRowContext(context.Background(), `SELECT subject FROM area_messages WHERE link = $1`, certificates.AreaPath+"/"+c.ID).Scan(&subject); err != nil ||
			!strings.Contains(subject, "pronto") {
			t.Errorf("the inbox's message: %q %v", subject, err)
		}
		var issued int
		if err := d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE action = 'certificates.issued' AND actor = 'system'`).Scan(&issued); err != nil || issued != 1 {
			t.Errorf("%d issues audited, want 1 (%v)", issued, err)
		}

		// At most five waiting at once; the sixth bills nothing.
		for range certificates.MaxOpenOrders {
			if res, _ := b.do("POST", base+certificates.AreaPath, url.Values{"kind": {"nascita"}, "use": {"bollo"}, "disclosure": {"nome"}}); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("an order: %d", res.StatusCode)
			}
		}
		res, body = b.do("POST", base+certificates.AreaPath, url.Values{"kind": {"nascita"}, "use": {"bollo"}, "disclosure": {"nome"}})
		if res.StatusCode != http.StatusConflict || !strings.Contains(body, "Hai già 5 certificati in attesa") {
			t.Fatalf("a sixth order: %d\n%s", res.StatusCode, body)
		}
		var positions int
		if err := d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM payments_positions WHERE source = 'certificates'`).Scan(&positions); err != nil || positions != 1+certificates.MaxOpenOrders {
			t.Errorf("%d duty positions, want %d", positions, 1+certificates.MaxOpenOrders)
		}

		// The download of the resident's data has every order: the one
		// issued, with its certificate and notice, and the five waiting.
		res, raw := b.do("GET", base+"/profilo/dati.json", nil)
		var export struct {
			Orders []struct {
				Status        string `json:"status"`
				NoticeNumber  string `json:"notice_number"`
				CertificateID string `json:"certificate_id"`
			} `json:"certificate_orders"`
		}
		if res.StatusCode != 200 || json.Unmarshal([]byte(raw), &export) != nil || len(export.Orders) != 1+certificates.MaxOpenOrders {
			t.Fatalf("the data download's orders: %d %.300s", res.StatusCode, raw)
		}
		if o := export.Orders[0]; o.Status != certificates.OrderIssued || o.CertificateID != c.ID || o.NoticeNumber != c.Content.Duty {
			t.Errorf("the issued order in the download: %+v, want certificate %s and notice %s", o, c.ID, c.Content.Duty)
		}
		for _, o := range export.Orders[1:] {
			if o.Status != certificates.OrderAwaiting || o.NoticeNumber == "" || o.CertificateID != "" {
				t.Errorf("a waiting order in the download: %+v", o)
			}
		}
	})
}

// Paid orders settled by the job and the page at once seal one certificate
// each; an order whose notice was cancelled unpaid is void; one the
// register no longer allows when it is paid is refused, with the refund in
// the audit log; an order cannot be made without a proven holder the
// register knows.
func TestStampDutyOrdersSettleOnceAndCloseWhenTheyCannotBeIssued(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := &sportelloSite{idSite: newIDSite(t, d), t: t}
		certResidents(t, s.idSite)
		ctx := context.Background()
		store := s.apps.civico.certificates.Store
		pay := s.apps.civico.payments.Service
		full, _ := cf.Complete("FRRLCU78H15C707")
		code := string(full)
		s.resident("FRRLCU78H15C707", "LUCA", "FERRARI", "")
		var account string
		if err := d.QueryRowContext(ctx, `SELECT id FROM accounts WHERE fiscal_code = $1`, code).Scan(&account); err != nil {
			t.Fatal(err)
		}
		order := func(kind certificates.Kind) *certificates.Order {
			o, err := store.Order(ctx, certificates.Request{AccountID: account, FiscalCode: code, Kind: kind, Use: certificates.StampDuty,
				Disclosure: certificates.ShowName})
			if err != nil {
				t.Fatal(err)
			}
			return o
		}
		paid, cancelled, gone := order(certificates.Birth), order(certificates.Birth), order(certificates.Residence)
		for i, o := range []*certificates.Order{paid, gone} {
			a, err := pay.Checkout(ctx, code, []string{o.NoticeID}, "k"+strconv.Itoa(i), s.tls.URL, s.tls.URL, payments.Actor{Name: "user:" + account})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pay.Settle(ctx, payments.Payment{AttemptID: a.ID, Amount: a.Amount, PSP: "test", PSPRef: "r" + strconv.Itoa(i), PaidAt: time.Now()}, "test"); err != nil {
				t.Fatal(err)
			}
		}
		n, err := pay.OwnNotice(ctx, code, cancelled.NoticeID)
		if err != nil {
			t.Fatal(err)
		}
		if err := pay.Cancel(ctx, n.PositionID, "richiesta ritirata", payments.Actor{Name: "cli"}); err != nil {
			t.Fatal(err)
		}
		// Luca's address leaves the register: a residence certificate can
		// no longer be issued, a birth certificate still can.
		p, _, err := (&population.Register{DB: d}).Lookup(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		p.Address = ""
		if err := (&population.Register{DB: d}).Put(ctx, p); err != nil {
			t.Fatal(err)
		}

		var wg sync.WaitGroup
		counts := make([]int, 4)
		for i := range counts {
			wg.Go(func() {
				n, err := store.Settle(ctx, "")
				if err != nil {
					t.Error(err)
				}
				counts[i] = n
			})
		}
		wg.Wait()
		if total := counts[0] + counts[1] + counts[2] + counts[3]; total != 1 {
			t.Fatalf("four passes at once issued %v certificates, want 1 in all", counts)
		}
		if n := s.count(t, "certificates"); n != 1 {
			t.Fatalf("%d certificates, want 1", n)
		}
		st := map[string]string{}
		list, err := store.OpenOrders(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range list {
			st[o.ID] = o.Status + " " + o.Reason
		}
		if len(st) != 2 || st[cancelled.ID] != certificates.OrderVoid+" certificates.order.void" || st[gone.ID] != certificates.OrderRefused+" certificates.error.incomplete" {
			t.Errorf("open orders after settling: %v", st)
		}
		var refund string
		if err := d.QueryRowContext(ctx, `SELECT details FROM audit_log WHERE action = 'certificates.order_refused'`).Scan(&refund); err != nil || !strings.Contains(refund, `"refund":"1600"`) {
			t.Errorf("the refusal's audit entry: %q %v", refund, err)
		}
		// Settling again does nothing more.
		if n, err := store.Settle(ctx, ""); n != 0 || err != nil {
			t.Errorf("a second settling: %d %v", n, err)
		}

		// Nobody the register lacks is billed.
		if _, err := store.Order(ctx, certificates.Request{AccountID: "x", FiscalCode: "RSSMRA80A01F205X", Kind: certificates.Birth, Use: certificates.StampDuty,
			Disclosure: certificates.ShowName}); err == nil {
			t.Error("an order for someone the register lacks was accepted")
		}
		var positions int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM payments_positions`).Scan(&positions); err != nil || positions != 3 {
			t.Errorf("%d positions, want the 3 orders' (%v)", positions, err)
		}
	})
}

// A town that cannot issue pagoPA notices (no segregation code) has no
// stamp-duty certificates online: the form says so beside the field, the
// choices kept, and nothing is billed or ordered.
func TestStampDutyNotOnlineWithoutPagoPA(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := &sportelloSite{idSite: newTunedIDSite(t, d, func(c *config) { c.Payments.Segregation, c.Payments.Gateway = "", "" }), t: t}
		certResidents(t, s.idSite)
		b, _ := s.resident("FRRLCU78H15C707", "LUCA", "FERRARI", "")
		res, body := b.do("POST", s.tls.URL+certificates.AreaPath, url.Values{"kind": {"stato-famiglia"}, "use": {"bollo"}, "disclosure": {"nome"}})
		if res.StatusCode != http.StatusUnprocessableEntity || !regexp.MustCompile(`(?s)id="f-use-error"[^>]*>I certificati in bollo non sono ancora disponibili online`).MatchString(body) ||
			!strings.Contains(body, `value="stato-famiglia" aria-describedby="f-kind-stato-famiglia-help" checked`) || !strings.Contains(body, `value="bollo" selected`) {
			t.Fatalf("stamp duty without pagoPA: %d\n%s", res.StatusCode, body)
		}
		if n := s.count(t, "certificate_orders"); n != 0 {
			t.Errorf("%d orders", n)
		}
	})
}
