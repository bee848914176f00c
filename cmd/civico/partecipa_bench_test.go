package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
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

// BenchmarkPartecipaProposals measures the list of proposals with 1,000
// of them, each request rendered afresh (no page cache), on both engines:
// the first page (the newest 50), the last page (offset 950, the worst
// an OFFSET gets), a category's first page, and the API's first page. The count and the page
// each read one index.
func BenchmarkPartecipaProposals(b *testing.B) {
	engines := map[string]func(testing.TB) *db.DB{"sqlite": dbtest.SQLite}
	if os.Getenv(dbtest.PostgresEnv) != "" {
		engines["postgres"] = dbtest.Postgres
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		open, ok := engines[engine]
		if !ok {
			continue
		}
		a := newApps(b, open(b))
		seedProposals(b, a.civico.partecipa.Store.DB, 1000)
		h := a.partecipa.Handler()
		for _, page := range []struct{ name, path, want string }{
			{"first", "/proposte", `data-element="proposals-count">1000 proposte<`},
			{"last", "/proposte?pagina=20", `Pagina 20 di 20`},
			{"category", "/proposte?categoria=mobilita", `data-element="proposals-count">100 proposte<`},
			{"api", "/api/v1/proposals", `"total": 1000`},
		} {
			b.Run(engine+"/"+page.name, func(b *testing.B) {
				req := httptest.NewRequest(http.MethodGet, page.path, nil)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				links := strings.Count(w.Body.String(), `data-element="proposal-link"`) + strings.Count(w.Body.String(), `"url": "http://partecipa.test/proposte/`)
				if w.Code != 200 || !strings.Contains(w.Body.String(), page.want) || links != 50 {
					b.Fatalf("%s: %d\n%s", page.path, w.Code, w.Body.String())
				}
				b.ReportAllocs()
				cpu := processCPU()
				for b.Loop() {
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != 200 {
						b.Fatalf("%s: %d", page.path, w.Code)
					}
				}
				b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// seedProposals writes n proposals as CreateProposal writes them, one in
// ten of each category, with supports and some answered, in
// transactions of 500.
func seedProposals(b *testing.B, d *db.DB, n int) {
	b.Helper()
	ctx := context.Background()
	now := time.Now().Add(-time.Duration(n) * time.Minute)
	for start := 0; start < n; start += 500 {
		var sb strings.Builder
		sb.WriteString(`INSERT INTO partecipa_proposals (id, author, title, body, category, address, status, supports, threshold, answer, answered_at, created_at, updated_at) VALUES `)
		var args []any
		for i := start; i < min(start+500, n); i++ {
			if i > start {
				sb.WriteString(", ")
			}
			var answered any
			status, answer := "evaluation", ""
			if i%7 == 0 {
				status, answer, answered = "accepted", "Sì, nel bilancio del prossimo anno.", now
			}
			at := now.Add(time.Duration(i) * time.Minute)
			fmt.Fprintf(&sb, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, 100, $%d, $%d, $%d, $%d)", len(args)+1, len(args)+2, len(args)+3, len(args)+4, len(args)+5,
				len(args)+6, len(args)+7, len(args)+8, len(args)+9, len(args)+10, len(args)+11, len(args)+11)
			args = append(args, tokens.ID(), fmt.Sprint("sub-", i), fmt.Sprintf("Proposta numero %d per il quartiere", i),
				strings.Repeat("Una descrizione della proposta, con le sue ragioni. ", 8), partecipa.Categories[i%len(partecipa.Categories)],
				"Via Frova "+strconv.Itoa(i), status, int64(i%120), answer, answered, at)
		}
		if _, err := d.ExecContext(ctx, sb.String(), args...); err != nil {
			b.Fatal(err)
		}
	}
}
