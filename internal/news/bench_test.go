package news_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/news"
)

// BenchmarkNewsList renders a full category page (20 of 60 items, with the
// count for the pagination) through the whole middleware chain, without the
// page cache, on SQLite.
func BenchmarkNewsList(b *testing.B) {
	s := newSite(b, dbtest.SQLite(b))
	for range 60 {
		s.clock.Add(time.Minute)
		s.publish(b, news.Input{Title: "Avviso sulla raccolta dei rifiuti del quartiere", Topics: []string{"gestione-rifiuti", "igiene-pubblica"}})
	}
	h := s.app.Handler()
	for name, path := range map[string]string{"category": "/novita/notizie", "page2": "/novita/notizie?pagina=2", "index": "/novita", "item": "/novita/notizie/avviso-sulla-raccolta-dei-rifiuti-del-quartiere"} {
		b.Run(name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("GET %s = %d", path, w.Code)
				}
			}
		})
	}
}
