package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/civico-pa/civico/internal/dbtest"
)

// BenchmarkPages measures whole requests through the middleware chain, as
// bench/http.sh does over the network.
func BenchmarkPages(b *testing.B) {
	for name, path := range map[string]string{"home": "/", "services": "/servizi", "topics": "/argomenti", "healthz": "/healthz",
		"service": "/servizi/anagrafe-e-stato-civile/carta-identita-elettronica", "office": "/amministrazione/uffici/anagrafe",
		"finder":       "/dove-e-quando?quando=libero&giorno=2026-11-25&dalle=17:00&alle=20:00",
		"coordination": "/coordinamento-orari?categoria=anagrafe-e-stato-civile&settimana=2026-11-25"} {
		b.Run(name, func(b *testing.B) {
			s := newBenchSite(b)
			req := httptest.NewRequest(http.MethodGet, path, nil)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				s.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("GET %s = %d", path, w.Code)
				}
			}
		})
	}
}

func newBenchSite(b *testing.B) http.Handler {
	return newSiteHandler(b, dbtest.SQLite(b))
}
