package main

import (
	"context"
	"crypto/x509"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/cardca"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/payments"
)

// BenchmarkPaymentsPage measures I miei pagamenti for a resident with 500
// notices to pay and 100 paid (through the node: receipts), logged in with
// the card: the first page and the last of those to pay (50 a page),
// against the same resident's home page in the same run (the yardstick's
// page, README "Performance"). Whole requests through the portal's
// middleware chain, on SQLite.
//
//	go test ./cmd/civico -run XXX -bench PaymentsPage
func BenchmarkPaymentsPage(b *testing.B) {
	s := newIDSiteB(b)
	ctx := context.Background()
	code, _ := cf.Complete("FRRLCU78H15C707")
	card, err := s.ca.IssueCard(cardca.CardRequest{FiscalCode: string(code), GivenName: "LUCA", FamilyName: "FERRARI"})
	if err != nil {
		b.Fatal(err)
	}
	holder, err := s.verifier.Verify([]*x509.Certificate{card.Cert}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	a, err := s.apps.identity.LoginCard(ctx, identity.CardHolder{FiscalCode: string(holder.FiscalCode), Proof: holder.Proof}, holder.Proof, "192.0.2.1", "bench")
	if err != nil {
		b.Fatal(err)
	}
	var token string
	if err := s.d.Tx(ctx, func(tx *sql.Tx) error {
		token, err = s.apps.identity.Sessions.Create(ctx, tx, a.Account.ID, assurance.High, "crs", holder.Proof, "bench")
		return err
	}); err != nil {
		b.Fatal(err)
	}
	svc := s.apps.civico.payments.Service
	var csv strings.Builder
	csv.WriteString("id;codice_fiscale;nominativo;categoria;causale;anno;importo;scadenza;rate\n")
	for i := range 600 {
		fmt.Fprintf(&csv, "bench-%d;%s;Luca Ferrari;mensa;Mensa scolastica, giorno %d;2026;%d,%02d;2026-%02d-%02d;\n", i, code, i, 3+i%40, i%100, 1+i%12, 1+i%28)
	}
	rates, err := payments.DemoRates()
	if err != nil {
		b.Fatal(err)
	}
	lines, err := svc.ParseImport(ctx, []byte(csv.String()), rates)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.Import(ctx, "bench.csv", []byte(csv.String()), lines, payments.Actor{Name: "bench"}, nil); err != nil {
		b.Fatal(err)
	}
	list, total, err := svc.ToPay(ctx, string(code), 1)
	if err != nil || total != 600 {
		b.Fatalf("%d notices to pay: %v", total, err)
	}
	for paid := 0; paid < 100; {
		for _, n := range list {
			if paid == 100 {
				break
			}
			if _, err := svc.NodeReceipt(ctx, "bench", &n, "rcpt-"+n.ID, n.Amount, "bench", time.Now()); err != nil {
				b.Fatal(err)
			}
			paid++
		}
		if list, _, err = svc.ToPay(ctx, string(code), 1); err != nil {
			b.Fatal(err)
		}
	}
	h := s.apps.portal.Handler()
	for _, c := range []struct{ name, path, want string }{
		{"home", "/", string(code)},
		{"payments", payments.AreaPath, "Mensa scolastica"},
		{"payments-last-page", payments.AreaPath + "?pagina=10", "Mensa scolastica"},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, s.tls.URL+c.path, nil)
			req.Header.Set("Cookie", identity.SessionCookie+"="+token)
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), c.want) {
					b.Fatalf("GET %s = %d\n%s", c.path, w.Code, w.Body.String())
				}
			}
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}
