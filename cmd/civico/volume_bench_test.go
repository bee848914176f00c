package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/payments"
	"github.com/civico-pa/civico/internal/sportello"
)

// volumePages are the pages whose cost grows with a town's volume (issue
// 14): the resident's with 200 applications of theirs, the back office's
// queue with 100,000.
var volumePages = []struct{ name, path string }{
	{"area", "/area-personale"},
	{"area-activities", "/area-personale/attivita"},
	{"applications", "/area-personale/pratiche"},
	{"applications-page-4", "/area-personale/pratiche?pagina=4"},
	{"payments", "/area-personale/pagamenti"},
	{"payments-page-4", "/area-personale/pagamenti?pagina=4"},
	{"queue", "/backoffice/pratiche"},
	{"queue-open", "/backoffice/pratiche?coda=aperte"},
}

// BenchmarkVolumePages is BenchmarkResidentPages at a town's volume, as
// bench/http.sh VOLUME=1 measures it over the network: the resident's
// application copied 100,000 times (sportello.AddVolume), 200 of them
// his, and 500 notices of his, as bench/http.sh imports them; the back
// office's pages as an operator of the desk.
//
//	go test ./cmd/civico -run XXX -bench VolumePages -benchmem
func BenchmarkVolumePages(b *testing.B) {
	dbtest.EachB(b, func(b *testing.B, d *db.DB) {
		s, cookie, app := newResidentSite(b, d)
		id := app[strings.LastIndex(app, "/")+1:]
		if _, err := (&sportello.Store{DB: d}).AddVolume(context.Background(), sportello.Volume{Template: id, N: 100_000, Owned: 199, PerResident: 200}); err != nil {
			b.Fatal(err)
		}
		pay, year := s.apps.civico.payments.Service, time.Now().Year()
		code, _ := cf.Complete("FRRLCU78H15C707") // the resident's, newResidentSite's card
		for i := range 500 {
			if _, err := pay.Create(context.Background(), payments.NewPosition{DebtorCF: string(code), DebtorName: "Luca Ferrari",
				Category: payments.Canteen, Reason: fmt.Sprintf("Mensa scolastica %d", i+1), Year: year,
				Amount: int64(2000 + i%30*100 + i%100), DueDate: fmt.Sprintf("%d-%02d-%02d", year+1, 1+i%12, 1+i%28)}, payments.Actor{Name: "cli"}); err != nil {
				b.Fatal(err)
			}
		}
		// As the import of bench/http.sh leaves them: analyzed.
		for _, table := range []string{"payments_positions", "payments_notices", "payments_transfers"} {
			if err := d.Analyze(context.Background(), table); err != nil {
				b.Fatal(err)
			}
		}
		desk := operatorSession(b, s, "sportello@example.org", "desk")
		h := s.apps.portal.Handler()
		for _, p := range volumePages {
			who := cookie
			if strings.HasPrefix(p.path, "/backoffice/") {
				who = desk
			}
			b.Run(p.name, func(b *testing.B) { benchPage(b, d, h, p.path, who) })
		}
	})
}
