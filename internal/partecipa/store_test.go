package partecipa

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/problem"
)

const testQuestions = `[parco] single required
Quale parco vorresti rinnovare per primo?
- nord: Parco Nord
- ghirlanda: Villa Ghirlanda

[perche] long if=parco:nord
Perché il Parco Nord?

[servizi] multiple max=2
Che cosa manca?
- bagni: Bagni
- giochi: Giochi
- luce: Illuminazione

[voto] scale 1-5 required
Quanto sei soddisfatto dei parchi?
- 1: Per niente
- 5: Molto

[ordine] ranking
Metti in ordine le priorità.
- verde: Verde
- sport: Sport
- cultura: Cultura

[nome] short
Un nome per il nuovo parco?

[giudizio] matrix required
Come valuti
- pulizia: La pulizia
- sicurezza: La sicurezza
* buona: Buona
* cattiva: Cattiva
`

// newConsultation opens a consultation at level, from an hour ago to a
// day from now.
func newConsultation(t testing.TB, s *Store, level assurance.Level, editable bool) *Consultation {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	id, err := s.Create(ctx, Input{Title: "I parchi di Cinisello", Source: testQuestions, MinLevel: string(level), ResidentsOnly: level != assurance.Low,
		Editable: editable, OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(24 * time.Hour)}, "office")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(ctx, id, "office"); err != nil {
		t.Fatal(err)
	}
	c, err := s.Get(ctx, id, false)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func resident(sub string, level assurance.Level) *Viewer {
	v := &Viewer{Subject: sub, Level: level}
	if level.ProvesIdentity() {
		v.ResidentKnown, v.Resident, v.District, v.AgeBand = true, true, "Crocetta", "30-44"
	}
	return v
}

func answers(parco string, voto string) Answers {
	return Answers{"parco": {Choices: []string{parco}}, "voto": {Choices: []string{voto}},
		"giudizio": {Rows: map[string]string{"pulizia": "buona", "sicurezza": "cattiva"}}}
}

func newStore(d *db.DB) *Store { return &Store{DB: d, Audit: &audit.Log{DB: d}} }

// One person, one voice: the same resident sending at once from many
// tabs and from two sessions gets one ballot; the others are told they
// have taken part.
func TestOneBallotPerResidentUnderConcurrency(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStore(d)
		c := newConsultation(t, s, assurance.High, false)
		ctx := context.Background()
		const tries = 12
		var wg sync.WaitGroup
		errs := make([]error, tries)
		for i := range tries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Two sessions of the same subject: a Viewer each.
				_, errs[i] = s.Cast(ctx, c, resident("sub-luca", assurance.High), answers("nord", fmt.Sprint(1+i%5)))
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrAnswered):
			default:
				t.Fatalf("a concurrent submission failed otherwise: %v", err)
			}
		}
		var ballots, roll int
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_ballots`).Scan(&ballots)
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_roll`).Scan(&roll)
		if ok != 1 || ballots != 1 || roll != 1 {
			t.Fatalf("%d accepted, %d ballots, %d on the roll; want 1 each", ok, ballots, roll)
		}
	})
}

// Eligibility comes from proven claims and the consultation's level; a
// draft is the resident's, and is gone once they send.
func TestEligibilityDraftsAndClosing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStore(d)
		ctx := context.Background()
		c := newConsultation(t, s, assurance.Substantial, false)
		for _, v := range []*Viewer{resident("pw", assurance.Low), {Subject: "visitor", Level: assurance.High}} {
			if _, err := s.Cast(ctx, c, v, answers("nord", "3")); problem.KindOf(err) != problem.Forbidden {
				t.Fatalf("%s cast a ballot: %v", v.Subject, err)
			}
		}
		luca := resident("luca", assurance.High)
		if err := s.SaveDraft(ctx, c, luca, Answers{"parco": {Choices: []string{"ghirlanda"}}}); err != nil {
			t.Fatal(err)
		}
		if a, ok, err := s.Draft(ctx, c.ID, luca.Subject); err != nil || !ok || !a["parco"].Chose("ghirlanda") {
			t.Fatalf("draft: %v %v %v", a, ok, err)
		}
		if _, ok, _ := s.Draft(ctx, c.ID, "someone else"); ok {
			t.Fatal("another subject reads the draft")
		}
		if _, err := s.Cast(ctx, c, luca, answers("ghirlanda", "4")); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.Draft(ctx, c.ID, luca.Subject); ok {
			t.Fatal("the draft outlived the ballot")
		}
		if err := s.SaveDraft(ctx, c, luca, Answers{}); !errors.Is(err, ErrAnswered) {
			t.Fatalf("a draft after sending: %v", err)
		}
		// Closed: nothing more is accepted.
		if err := s.Close(ctx, c.ID, "office"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Cast(ctx, c, resident("giulia", assurance.High), answers("nord", "2")); problem.KindOf(err) != problem.Conflict {
			t.Fatalf("a ballot after closing: %v", err)
		}
	})
}

// Editing needs the receipt, which only the resident has; the tallies
// follow the edit at the next mix, and count each ballot once.
func TestReceiptEditsAndTallies(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStore(d)
		ctx := context.Background()
		c := newConsultation(t, s, assurance.Low, true)
		luca, giulia := resident("luca", assurance.High), resident("giulia", assurance.Low)
		receipt, err := s.Cast(ctx, c, luca, answers("nord", "5"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Cast(ctx, c, giulia, answers("nord", "1")); err != nil {
			t.Fatal(err)
		}
		if err := s.MixFresh(ctx); err != nil {
			t.Fatal(err)
		}
		r, err := s.Results(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if r.Ballots != [3]int64{1, 1} || r.Questions[0].Rows[0].N != [3]int64{1, 1} {
			t.Fatalf("after the first mix: ballots %v, nord %v", r.Ballots, r.Questions[0].Rows[0].N)
		}
		// Another participant's receipt-less guess, a malformed code, a
		// resident who did not take part: refused.
		if _, err := s.Ballot(ctx, c, giulia, "AAAA-AAAA-AAAA-AAAA-AAAA"); !errors.Is(err, problem.ErrInvalid) {
			t.Fatalf("a guessed receipt: %v", err)
		}
		if _, err := s.Ballot(ctx, c, resident("marco", assurance.High), receipt); problem.KindOf(err) != problem.Forbidden {
			t.Fatalf("a non-participant with a receipt: %v", err)
		}
		got, err := s.Ballot(ctx, c, luca, strings.ToLower(strings.ReplaceAll(receipt, "-", " ")))
		if err != nil || !got["parco"].Chose("nord") {
			t.Fatalf("own ballot by receipt: %v %v", got, err)
		}
		if err := s.Amend(ctx, c, luca, receipt, answers("ghirlanda", "5")); err != nil {
			t.Fatal(err)
		}
		if err := s.MixFresh(ctx); err != nil {
			t.Fatal(err)
		}
		r, _ = s.Results(ctx, c)
		if r.Ballots != [3]int64{1, 1} || r.Questions[0].Rows[0].N != [3]int64{1, 0} || r.Questions[0].Rows[1].N != [3]int64{0, 1} {
			t.Fatalf("after the edit: ballots %v, nord %v, ghirlanda %v", r.Ballots, r.Questions[0].Rows[0].N, r.Questions[0].Rows[1].N)
		}
		// A whole mix changes no count.
		if err := s.Close(ctx, c.ID, "office"); err != nil {
			t.Fatal(err)
		}
		r2, _ := s.Results(ctx, c)
		if fmt.Sprint(r2) != fmt.Sprint(r) {
			t.Fatalf("the final mix changed the counts: %v, was %v", r2, r)
		}
		if err := s.Amend(ctx, c, luca, receipt, answers("nord", "5")); problem.KindOf(err) != problem.Conflict {
			t.Fatalf("an edit after closing: %v", err)
		}
	})
}

// Ballots cast while the office closes the consultation are either
// refused or in the final count: none is left out of the tallies, on
// the roll without a ballot, or the reverse.
func TestClosingRacesCasting(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStore(d)
		ctx := context.Background()
		c := newConsultation(t, s, assurance.High, false)
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.Cast(ctx, c, resident(fmt.Sprint("sub-", i), assurance.High), answers("nord", "3")); err != nil && problem.KindOf(err) != problem.Conflict {
					t.Errorf("cast: %v", err)
				}
			}()
		}
		time.Sleep(5 * time.Millisecond)
		if err := s.Close(ctx, c.ID, "office"); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		var ballots, roll, fresh int
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_ballots`).Scan(&ballots)
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_roll`).Scan(&roll)
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_ballots WHERE fresh`).Scan(&fresh)
		r, err := s.Results(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if ballots != roll || fresh != 0 || r.Ballots[Verified] != int64(ballots) {
			t.Fatalf("%d ballots, %d on the roll, %d not counted, %d counted", ballots, roll, fresh, r.Ballots[Verified])
		}
	})
}

// The minute's mix works in chunks: every fresh ballot is counted once,
// and on PostgreSQL each chunk's ballots carry one transaction.
func TestMixInChunks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStore(d)
		ctx := context.Background()
		c := newConsultation(t, s, assurance.Low, false)
		const n = 2*mixChunk + 100
		seed(t, d, c.ID, n)
		if err := s.MixFresh(ctx); err != nil {
			t.Fatal(err)
		}
		r, _ := s.Results(ctx, c)
		if r.Ballots[Verified]+r.Ballots[Survey] != n || r.Questions[0].Rows[0].N[Verified] != (n+2)/3 {
			t.Fatalf("counted %v of %d", r.Ballots, n)
		}
		if d.Dialect == db.Postgres {
			var txs int
			_ = d.QueryRowContext(ctx, `SELECT COUNT(DISTINCT xmin::text) FROM partecipa_ballots`).Scan(&txs)
			if txs != 3 {
				t.Fatalf("the ballots carry %d transactions, want 3 chunks", txs)
			}
		}
	})
}

// seed writes n fresh ballots as Cast does, a third of them verified.
func seed(t *testing.T, d *db.DB, cid string, n int) {
	t.Helper()
	for start := 0; start < n; start += 500 {
		q := `INSERT INTO partecipa_ballots (id, consultation_id, verified, answers) VALUES `
		args := []any{cid}
		for i := start; i < min(start+500, n); i++ {
			if i > start {
				q += ", "
			}
			q += fmt.Sprintf("($%d, $1, $%d, $%d)", len(args)+1, len(args)+2, len(args)+3)
			args = append(args, ballotID(newReceipt()), i%3 == 0, `{"parco":{"c":["nord"]},"voto":{"c":["2"]}}`)
		}
		if _, err := d.ExecContext(context.Background(), q, args...); err != nil {
			t.Fatal(err)
		}
	}
}

// Closing a large consultation mixes what the office can wait for and
// leaves the rest to the minute's job; publishing waits until every
// ballot is counted.
func TestPublishingWaitsForTheCount(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStore(d)
		ctx := context.Background()
		c := newConsultation(t, s, assurance.Low, false)
		was := officeChunks
		officeChunks = 2
		t.Cleanup(func() { officeChunks = was })
		n := 2*officeChunks*mixChunk + 300
		seed(t, d, c.ID, n)
		if err := s.Close(ctx, c.ID, "office"); err != nil {
			t.Fatal(err)
		}
		if err := s.Publish(ctx, c.ID, "office"); problem.KindOf(err) != problem.Conflict {
			t.Fatalf("published before every ballot was counted: %v", err)
		}
		if err := s.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Publish(ctx, c.ID, "office"); err != nil {
			t.Fatal(err)
		}
		r, _ := s.Results(ctx, c)
		if r.Ballots[Verified]+r.Ballots[Survey] != int64(n) {
			t.Fatalf("published %v of %d", r.Ballots, n)
		}
	})
}

// One person, one voice goes by the fiscal code: a login at the level
// asked whose fiscal code the provider did not prove (a European's eIDAS
// login: no residence claim) may answer an open poll but not a
// consultation that counts one voice per person.
func TestOneVoiceNeedsAProvenFiscalCode(t *testing.T) {
	european := &Viewer{Subject: "sub-eidas", Level: assurance.Substantial}
	italian := resident("sub-spid", assurance.Substantial)
	for _, c := range []struct {
		level      assurance.Level
		euOK, itOK bool
	}{{assurance.Low, true, true}, {assurance.Substantial, false, true}, {assurance.High, false, false}} {
		c2 := &Consultation{MinLevel: c.level}
		if ok, why := c2.Eligible(european); ok != c.euOK || (!ok && c.level == assurance.Substantial && why != "partecipa.c.fiscal_code") {
			t.Errorf("at %s the eIDAS login: %v %s", c.level, ok, why)
		}
		if ok, why := c2.Eligible(italian); ok != c.itOK {
			t.Errorf("at %s the SPID login: %v %s", c.level, ok, why)
		}
	}
}
