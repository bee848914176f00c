package main

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/catalog"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/hours"
)

// BenchmarkPages measures whole requests through the middleware chain, as
// bench/http.sh does over the network.
func BenchmarkPages(b *testing.B) {
	for name, path := range map[string]string{"home": "/", "services": "/servizi", "topics": "/argomenti", "topic": "/argomenti/anagrafe", "healthz": "/healthz",
		"service": "/servizi/anagrafe-e-stato-civile/carta-identita-elettronica", "office": "/amministrazione/uffici/anagrafe",
		"finder":       "/dove-e-quando?quando=libero&giorno=2026-11-25&dalle=17:00&alle=20:00",
		"coordination": "/coordinamento-orari?categoria=anagrafe-e-stato-civile&settimana=2026-11-25"} {
		b.Run(name, func(b *testing.B) {
			s := newBenchSite(b)
			req := httptest.NewRequest(http.MethodGet, path, nil)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n++
				req.RemoteAddr = benchClient(n)
				w := httptest.NewRecorder()
				s.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("GET %s = %d", path, w.Code)
				}
			}
		})
	}
}

// benchClient is the address of the nth request: each from a client of its
// own, as visitors come, so that no per-client budget (the coordination
// view's) runs out, and the cost of drawing on it is measured.
func benchClient(n int) string {
	return netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)}).String() + ":40000"
}

func newBenchSite(b *testing.B) http.Handler {
	a := newApps(b, dbtest.SQLite(b))
	atDemoWednesday(a) // the finder's question is about that week
	return a.portal.Handler()
}

// BenchmarkCoordinationProposal measures the coordination view without a
// proposal (week), with the costliest proposal it accepts (accepted): every day of the week with
// catalog.MaxProposalIntervals openings a minute apart (they do not merge),
// for an office of the category with the most offices; and with the
// costliest one it accepted before the bounds (refused now): 720 such
// openings a day, ":" and "," unescaped, which fit in the 64 KiB of
// headers the server reads.
func BenchmarkCoordinationProposal(b *testing.B) {
	const page = "/coordinamento-orari?categoria=anagrafe-e-stato-civile&settimana=2026-11-25&ufficio=anagrafe"
	day := func(n int) string {
		var day []string
		for i := range n {
			day = append(day, hours.Interval{Start: hours.Clock(2 * i), End: hours.Clock(2*i + 1)}.String())
		}
		return strings.Join(day, ", ")
	}
	accepted, refused := url.Values{}, page
	for _, f := range catalog.Weekdays {
		accepted.Set(f.Name, day(catalog.MaxProposalIntervals))
		refused += "&" + f.Name + "=" + strings.ReplaceAll(day(720), " ", "")
	}
	for _, c := range []struct {
		name, path string
		status     int
	}{
		{"week", page, http.StatusOK},
		{"accepted", page + "&" + accepted.Encode(), http.StatusOK},
		{"refused", refused, http.StatusRequestURITooLong},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := newBenchSite(b)
			b.Logf("query of %d bytes", len(c.path))
			req := httptest.NewRequest(http.MethodGet, c.path, nil)
			b.ReportAllocs()
			// On a shared machine the time per request includes waiting
			// for a core; its CPU time is what an attacker makes it cost.
			cpu := processCPU()
			n := 0
			for b.Loop() {
				n++
				req.RemoteAddr = benchClient(n)
				w := httptest.NewRecorder()
				s.ServeHTTP(w, req)
				if w.Code != c.status {
					b.Fatalf("GET = %d, want %d", w.Code, c.status)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}
