package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/partecipa"
	tokens "github.com/civico-pa/civico/internal/token"
)

// benchQuestions has a question of every kind.
const benchQuestions = `[parco] single required
Quale parco vorresti rinnovare per primo?
- nord: Parco Nord
- ghirlanda: Villa Ghirlanda
- canzi: Parco Canzi

[servizi] multiple max=2
Che cosa manca?
- bagni: Bagni
- giochi: Giochi
- luce: Illuminazione
- acqua: Fontanelle

[voto] scale 1-5 required
Quanto sei soddisfatto dei parchi?

[ordine] ranking
Metti in ordine le priorità.
- verde: Verde
- sport: Sport
- cultura: Cultura

[nome] short
Un nome per il nuovo parco?

[idee] long
Altre idee?

[giudizio] matrix
Come valuti
- pulizia: La pulizia
- sicurezza: La sicurezza
- accessi: Gli accessi
* buona: Buona
* media: Media
* cattiva: Cattiva
`

// BenchmarkPartecipaResults measures the results page of a consultation
// with 10,000 and 100,000 ballots (a question of every kind, verified and
// open-survey answers), each request rendered afresh (no page cache), on
// both engines. The ballots go in as Cast writes them and the real mix
// counts them; the time of that whole mix is reported once.
func BenchmarkPartecipaResults(b *testing.B) {
	engines := map[string]func(testing.TB) *db.DB{"sqlite": dbtest.SQLite}
	if os.Getenv(dbtest.PostgresEnv) != "" {
		engines["postgres"] = dbtest.Postgres
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		open, ok := engines[engine]
		if !ok {
			continue
		}
		for _, n := range []int{10_000, 100_000} {
			b.Run(fmt.Sprintf("%s/ballots=%d", engine, n), func(b *testing.B) {
				a := newApps(b, open(b))
				store := a.civico.partecipa.Store
				ctx := context.Background()
				id, err := store.Create(ctx, partecipa.Input{Title: "I parchi", Source: benchQuestions, MinLevel: "low", Editable: true,
					OpensAt: time.Now().Add(-time.Hour), ClosesAt: time.Now().Add(time.Hour)}, "bench")
				if err != nil {
					b.Fatal(err)
				}
				if err := store.Open(ctx, id, "bench"); err != nil {
					b.Fatal(err)
				}
				seedBallots(b, store.DB, id, n)
				start := time.Now()
				if err := store.Close(ctx, id, "bench"); err != nil {
					b.Fatal(err)
				}
				// What the office's click leaves, the minute's job mixes.
				if err := store.MixFresh(ctx); err != nil {
					b.Fatal(err)
				}
				mix := time.Since(start)
				if err := store.Publish(ctx, id, "bench"); err != nil {
					b.Fatal(err)
				}
				h := a.partecipa.Handler()
				req := httptest.NewRequest(http.MethodGet, "/consultazioni/"+id+"/risultati", nil)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 200 || !strings.Contains(w.Body.String(), fmt.Sprintf(`data-element="ballots-0">%d<`, n/2)) {
					b.Fatalf("results: %d", w.Code)
				}
				b.ReportAllocs()
				cpu := processCPU()
				for b.Loop() {
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != 200 {
						b.Fatalf("results: %d", w.Code)
					}
				}
				b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
				b.ReportMetric(mix.Seconds(), "whole-mix-s")
			})
		}
	}
}

// seedBallots writes n ballots as Cast writes them (half verified),
// with answers of every kind, in transactions of 1,000.
func seedBallots(b *testing.B, d *db.DB, id string, n int) {
	b.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	pick := func(s ...string) string { return s[r.IntN(len(s))] }
	ctx := context.Background()
	for start := 0; start < n; start += 1000 {
		var sb strings.Builder
		sb.WriteString(`INSERT INTO partecipa_ballots (id, consultation_id, verified, answers) VALUES `)
		args := []any{id}
		for i := start; i < min(start+1000, n); i++ {
			if i > start {
				sb.WriteString(", ")
			}
			answers := fmt.Sprintf(`{"parco":{"c":[%q]},"servizi":{"c":[%q]},"voto":{"c":["%d"]},"ordine":{"r":{"verde":1,"sport":2,"cultura":3}},`+
				`"nome":{"t":"Parco %d"},"giudizio":{"m":{"pulizia":%q,"sicurezza":%q,"accessi":%q}}}`,
				pick("nord", "ghirlanda", "canzi"), pick("bagni", "giochi", "luce", "acqua"), 1+r.IntN(5), i,
				pick("buona", "media", "cattiva"), pick("buona", "media", "cattiva"), pick("buona", "media", "cattiva"))
			fmt.Fprintf(&sb, "($%d, $1, $%d, $%d)", len(args)+1, len(args)+2, len(args)+3)
			args = append(args, tokens.Hash(tokens.Secret(16)), i%2 == 1, answers)
		}
		if _, err := d.ExecContext(ctx, sb.String(), args...); err != nil {
			b.Fatal(err)
		}
	}
}
