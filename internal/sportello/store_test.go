package sportello

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/protocol"
	tokens "github.com/civico-pa/civico/internal/token"
)

const svc = "permesso-prova"

// testDef is a small form: a choice, a text shown by one of its answers,
// and a consent.
func testDef() *Definition {
	return def(
		field("tipo", TypeChoice, required),
		field("dettaglio", TypeText, required, showIf("tipo", "b")),
		field("conferma", TypeConsent, required),
	)
}

func newTestStore(t testing.TB, d *db.DB) *Store {
	t.Helper()
	forms := NewForms(d, &audit.Log{DB: d})
	if _, err := forms.Seed(context.Background(), svc, testDef(), "test"); err != nil {
		t.Fatal(err)
	}
	return &Store{DB: d, Audit: &audit.Log{DB: d}, Forms: forms, Protocol: &protocol.Registry{DB: d},
		Services: func(context.Context) ([]Service, error) {
			return []Service{{ID: svc, Title: "Permesso di prova", MaxDays: 30, Assurance: assurance.Low, Active: true}}, nil
		}}
}

func testResident(n int) (*identity.Account, *identity.Session) {
	return &identity.Account{ID: fmt.Sprintf("acc-%04d", n), GivenName: "Mario", FamilyName: fmt.Sprintf("Rossi%d", n), NameSource: identity.SourceSelf},
		&identity.Session{Assurance: assurance.Low}
}

// draft makes a resident's draft, filled and ready to submit.
func draft(t testing.TB, s *Store, n int) (*Application, Owner) {
	t.Helper()
	acc, se := testResident(n)
	a, err := s.Start(context.Background(), svc, acc, se, tokens.ID(), "test")
	if err != nil {
		t.Fatal(err)
	}
	o := OwnerOf(acc, se)
	if _, err := s.Save(context.Background(), a.ID, o, DraftEdit{Answers: Answers{"tipo": {"a"}, "conferma": {"yes"}}, Fields: []string{"tipo", "conferma"}}, "test"); err != nil {
		t.Fatal(err)
	}
	return a, o
}

func protocolSeq(t testing.TB, n string) int {
	t.Helper()
	var y, seq int
	if _, err := fmt.Sscanf(n, "%d/%d", &y, &seq); err != nil {
		t.Fatalf("protocol %q: %v", n, err)
	}
	return seq
}

// 1,000 residents submit at once: 1,000 applications with 1,000 distinct
// protocol numbers, consecutive from 1.
func TestConcurrentSubmissionsGetConsecutiveNumbers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newTestStore(t, d)
		const n = 1000
		type job struct {
			id string
			o  Owner
		}
		jobs := make([]job, n)
		for i := range jobs {
			a, o := draft(t, s, i)
			jobs[i] = job{a.ID, o}
		}
		numbers := make([]string, n)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i, j := range jobs {
			wg.Go(func() {
				a, err := s.Submit(context.Background(), j.id, j.o, "test")
				if err != nil {
					errs <- err
					return
				}
				numbers[i] = a.Protocol
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		seqs := make([]int, n)
		for i, p := range numbers {
			seqs[i] = protocolSeq(t, p)
		}
		sort.Ints(seqs)
		for i, v := range seqs {
			if v != i+1 {
				t.Fatalf("protocol numbers not 1..%d: position %d holds %d", n, i, v)
			}
		}
		var rows int
		if err := d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM sportello_applications WHERE phase = 'open' AND protocol <> ''`).Scan(&rows); err != nil || rows != n {
			t.Fatalf("%d registered applications, want %d (%v)", rows, n, err)
		}
	})
}

// A double click, or the same summary open in two tabs: two submits of
// one draft at once give one application, one number, one registration.
func TestDoubleSubmitIsOne(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newTestStore(t, d)
		a, o := draft(t, s, 1)
		got := make([]string, 8)
		var wg sync.WaitGroup
		for i := range got {
			wg.Go(func() {
				b, err := s.Submit(context.Background(), a.ID, o, "test")
				if err != nil {
					t.Error(err)
					return
				}
				got[i] = b.Protocol
			})
		}
		wg.Wait()
		for _, p := range got {
			if p != got[0] || p == "" {
				t.Fatalf("protocol numbers %v", got)
			}
		}
		entries, err := s.Protocol.ByRef(context.Background(), "sportello:application:"+a.ID)
		if err != nil || len(entries) != 1 {
			t.Fatalf("%d registrations of one application (%v)", len(entries), err)
		}
		hist, _ := s.History(context.Background(), a.ID)
		if len(hist) != 2 || hist[0].Action != Submit || hist[1].Action != Register || hist[1].Note != got[0] {
			t.Errorf("history %+v", hist)
		}
		// The same start form posted twice is one draft.
		acc, se := testResident(2)
		key := tokens.ID()
		x, err1 := s.Start(context.Background(), svc, acc, se, key, "")
		y, err2 := s.Start(context.Background(), svc, acc, se, key, "")
		if err1 != nil || err2 != nil || x.ID != y.ID {
			t.Errorf("two starts with one key: %v %v %v %v", x, y, err1, err2)
		}
		// Another resident cannot take that draft through its key.
		other, ose := testResident(3)
		if _, err := s.Start(context.Background(), svc, other, ose, key, ""); !errors.Is(err, problem.ErrInvalid) {
			t.Errorf("another's key: %v", err)
		}
	})
}

// Another resident's application does not exist for them: not to read,
// not to change.
func TestOwnerScoped(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newTestStore(t, d)
		a, o := draft(t, s, 1)
		_, stranger := draft(t, s, 2)
		ctx := context.Background()
		if _, err := s.Get(ctx, a.ID, stranger); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get by a stranger: %v", err)
		}
		if _, err := s.Submit(ctx, a.ID, stranger, ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("Submit by a stranger: %v", err)
		}
		if err := s.Discard(ctx, a.ID, stranger, ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("Discard by a stranger: %v", err)
		}
		if _, err := s.Submit(ctx, a.ID, o, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Act(ctx, a.ID, &stranger, Step{Action: Message, Actor: Resident, ActorID: stranger.AccountID, Note: "x"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("a stranger's message: %v", err)
		}
		if err := s.Rate(ctx, a.ID, stranger, 5); !errors.Is(err, ErrNotFound) {
			t.Errorf("a stranger's rating: %v", err)
		}
		list, total, err := s.Mine(ctx, stranger, 1)
		if err != nil || total != 1 || len(list) != 1 || list[0].ID == a.ID {
			t.Errorf("the stranger's list: %d %v %v", total, list, err)
		}
		// A fiscal code nobody proved finds nothing.
		if _, err := s.Get(ctx, a.ID, Owner{AccountID: "", FiscalCode: ""}); !errors.Is(err, ErrNotFound) {
			t.Errorf("empty owner: %v", err)
		}
	})
}

// The lifecycle through the store: each step one transaction with its
// history row and audit entry; a refused step changes nothing.
func TestStepsThroughTheStore(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newTestStore(t, d)
		ctx := context.Background()
		a, o := draft(t, s, 1)
		if _, err := s.Submit(ctx, a.ID, o, ""); err != nil {
			t.Fatal(err)
		}
		snapshot := func() string {
			var state, due, updated string
			var susp int
			if err := d.QueryRowContext(ctx, `SELECT state, due_on, suspended_days, updated_at FROM sportello_applications WHERE id = $1`, a.ID).Scan(&state, &due, &susp, &updated); err != nil {
				t.Fatal(err)
			}
			var h, m int
			d.QueryRowContext(ctx, `SELECT COUNT(*) FROM sportello_history WHERE application_id = $1`, a.ID).Scan(&h)
			d.QueryRowContext(ctx, `SELECT COUNT(*) FROM sportello_messages WHERE application_id = $1`, a.ID).Scan(&m)
			return fmt.Sprint(state, due, susp, updated, h, m)
		}
		office := func(act Action, note string, days int) error {
			_, err := s.Act(ctx, a.ID, nil, Step{Action: act, Actor: Office, ActorID: "op-1", Note: note, Days: days})
			return err
		}
		// Refused: an integration before taking it in charge, a refusal
		// without the notice, a resident doing the office's step.
		before := snapshot()
		var refusal *Refusal
		if err := office(RequestIntegration, "manca", 10); !errors.As(err, &refusal) || refusal.Reason != "not_taken" {
			t.Fatalf("integration before taking: %v", err)
		}
		if _, err := s.Act(ctx, a.ID, &o, Step{Action: Accept, Actor: Resident, ActorID: o.AccountID, Note: "x"}); !errors.As(err, &refusal) || refusal.Reason != "office_only" {
			t.Fatalf("a resident's decision: %v", err)
		}
		if after := snapshot(); after != before {
			t.Fatalf("a refused step changed the application: %s -> %s", before, after)
		}
		for _, step := range []struct {
			act  Action
			note string
			days int
		}{{Take, "", 0}, {RequestIntegration, "Serve la planimetria", 10}} {
			if err := office(step.act, step.note, step.days); err != nil {
				t.Fatalf("%s: %v", step.act, err)
			}
		}
		if err := office(RequestIntegration, "di nuovo", 10); !errors.As(err, &refusal) || refusal.Reason != "integration_once" {
			t.Fatalf("a second integration: %v", err)
		}
		if _, err := s.Act(ctx, a.ID, &o, Step{Action: Integrate, Actor: Resident, ActorID: o.AccountID, Note: "Eccola"}); err != nil {
			t.Fatal(err)
		}
		if err := office(SendNotice, "Requisito mancante", 0); err != nil {
			t.Fatal(err)
		}
		if err := office(Reject, "Respinta", 0); !errors.As(err, &refusal) || refusal.Reason != "remarks_pending" {
			t.Fatalf("reject within the 10 days: %v", err)
		}
		if _, err := s.Act(ctx, a.ID, &o, Step{Action: Remarks, Actor: Resident, ActorID: o.AccountID, Note: "Il requisito c'è"}); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Get(ctx, a.ID, o)
		if got.State != RemarksReceived || !got.IntegrationUsed || got.DueDay() <= Day(time.Now().AddDate(0, 0, 30)) {
			t.Errorf("after the remarks: %s, due %s", got.State, got.DueDay())
		}
		hist, _ := s.History(ctx, a.ID)
		var acts []Action
		for _, h := range hist {
			acts = append(acts, h.Action)
		}
		if want := []Action{Submit, Register, Take, RequestIntegration, Integrate, SendNotice, Remarks}; !slices.Equal(acts, want) {
			t.Errorf("history %v, want %v", acts, want)
		}
		msgs, _ := s.Messages(ctx, a.ID)
		if len(msgs) != 4 || msgs[0].Kind != KindRequest || !msgs[0].FromOffice || msgs[1].FromOffice {
			t.Errorf("messages %+v", msgs)
		}
		records, _ := (&audit.Log{DB: d}).List(ctx, audit.ListFilter{Subject: "application:" + a.ID, Limit: 50})
		if len(records) != 7 { // started, submitted, take, integration, integrate, notice, remarks
			t.Errorf("%d audit entries", len(records))
		}
		// An assignment to nobody is refused beside its field.
		if _, err := s.Act(ctx, a.ID, nil, Step{Action: Assign, Actor: Office, ActorID: "op-1"}); !errors.Is(err, problem.ErrInvalid) {
			t.Errorf("assign to nobody: %v", err)
		}
	})
}

// A draft filled with a version that was then superseded: submitting it
// is refused, and the draft moves to the new version carrying what fits,
// the resident told what did not.
func TestStaleDraft(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newTestStore(t, d)
		ctx := context.Background()
		a, o := draft(t, s, 1)
		if _, err := s.Forms.Edit(ctx, svc, "admin", "", nil, func(d *Definition) error {
			d.Fields[0].Options = d.Fields[0].Options[1:] // "a" is gone
			d.Fields[1].ShowIf.Values = []string{"c"}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		// A draft version is not what residents fill: nothing changes yet.
		if _, err := s.Submit(ctx, a.ID, o, ""); err != nil {
			t.Fatalf("submit with a draft version pending: %v", err)
		}
		b, o2 := draft(t, s, 2)
		if _, err := s.Forms.Publish(ctx, svc, "admin", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Submit(ctx, b.ID, o2, ""); !errors.Is(err, ErrStaleForm) {
			t.Fatalf("submit of a stale draft: %v", err)
		}
		moved, m, err := s.Refresh(ctx, b.ID, o2, "it")
		if err != nil || m == nil || m.From != 1 || m.To != 2 || !slices.Equal(m.Lost, []string{"Etichetta tipo"}) {
			t.Fatalf("refresh: %+v %v", m, err)
		}
		if moved.Answers.One("conferma") != "yes" || moved.Answers.One("tipo") != "" {
			t.Errorf("carried %v", moved.Answers)
		}
		// The first application keeps the version it was filled with.
		first, _ := s.Get(ctx, a.ID, o)
		if f, _ := s.Forms.ByID(ctx, first.FormID); f.Version != 1 {
			t.Errorf("the submitted application's version is %d", f.Version)
		}
		// A published version cannot be changed, even behind the store.
		if _, err := d.ExecContext(ctx, `UPDATE sportello_forms SET definition = '{}' WHERE service_id = $1 AND version = 1`, svc); err == nil {
			t.Error("a published version was changed")
		}
	})
}

// An application handed in at the counter: registered at once, channel
// counter, and seen by the resident only with a proven fiscal code.
func TestCounterApplication(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newTestStore(t, d)
		ctx := context.Background()
		key := tokens.ID()
		c := CounterApplication{ServiceID: svc, Key: key, FiscalCode: "rssmra85t10a562s", GivenName: "Mario", FamilyName: "Rossi",
			Answers: Answers{"tipo": {"b"}, "conferma": {"yes"}}, Operator: "op-1"}
		_, err := s.RegisterCounter(ctx, c)
		var steps *StepErrors
		if !errors.As(err, &steps) || steps.Answers["dettaglio"].Code != "required" {
			t.Fatalf("a counter application missing an answer: %v", err)
		}
		c.Answers["dettaglio"] = []string{"Dettaglio"}
		a, err := s.RegisterCounter(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		again, err := s.RegisterCounter(ctx, c)
		if err != nil || again.ID != a.ID {
			t.Fatalf("the same counter form twice: %v %v", again, err)
		}
		if a.Channel != Counter || a.State != Registered || a.Protocol == "" || a.FiscalCode != "RSSMRA85T10A562S" {
			t.Fatalf("counter application %+v", a)
		}
		if _, err := s.Get(ctx, a.ID, Owner{AccountID: "acc-1"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("seen without a proven fiscal code: %v", err)
		}
		list, total, err := s.Mine(ctx, Owner{AccountID: "acc-1", FiscalCode: "RSSMRA85T10A562S"}, 1)
		if err != nil || total != 1 || list[0].ID != a.ID {
			t.Errorf("the resident's list with the proven code: %d %v %v", total, list, err)
		}
		c.Key, c.FiscalCode = tokens.ID(), "RSSMRA85T10A562X"
		if _, err := s.RegisterCounter(ctx, c); !errors.As(err, &steps) || steps.Fields["fiscal_code"] != "sportello.error.cf_check" {
			t.Errorf("a wrong fiscal code: %v", err)
		}
	})
}

// The queues count and list from their indexes; the search finds by
// protocol number, fiscal code and the start of the family name.
func TestQueues(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newTestStore(t, d)
		ctx := context.Background()
		var ids []string
		for i := range 5 {
			a, o := draft(t, s, i)
			b, err := s.Submit(ctx, a.ID, o, "")
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, b.ID)
		}
		if _, err := s.Act(ctx, ids[0], nil, Step{Action: Take, Actor: Office, ActorID: "op-1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Act(ctx, ids[1], nil, Step{Action: Cancel, Actor: Office, ActorID: "op-2", Note: "doppia"}); err != nil {
			t.Fatal(err)
		}
		// One application is past its day.
		if _, err := d.ExecContext(ctx, `UPDATE sportello_applications SET due_on = '2000-01-01' WHERE id = $1`, ids[2]); err != nil {
			t.Fatal(err)
		}
		counts, err := s.Counts(ctx, "op-1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		want := map[Queue]int{QueueToAssign: 3, QueueMine: 1, QueueOpen: 4, QueueOverdue: 1, QueueClosed: 1}
		for q, n := range want {
			if int(counts[q]) != n {
				t.Errorf("queue %s: %d, want %d", q, counts[q], n)
			}
		}
		first, _ := s.ForOffice(ctx, ids[3])
		year, seq, _ := strings.Cut(first.Protocol, "/")
		for _, c := range []struct {
			q    string
			want []string
		}{
			{first.Protocol, []string{ids[3]}},
			{year + "/" + strings.TrimLeft(seq, "0"), []string{ids[3]}},
			{"2099/1", nil},
			{"rossi3", []string{ids[3]}},
			{"ROSSI", []string{ids[0], ids[2], ids[3], ids[4]}},
			{"bianchi", nil},
		} {
			list, total, err := s.List(ctx, Filter{Queue: QueueOpen, Q: c.q, Today: Day(time.Now())})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, x := range list {
				got = append(got, x.ID)
			}
			slices.Sort(got)
			want := slices.Clone(c.want)
			slices.Sort(want)
			if int(total) != len(c.want) || !slices.Equal(got, want) {
				t.Errorf("search %q: %d %v, want %v", c.q, total, got, want)
			}
		}
	})
}

func TestRatingOncePerApplication(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newTestStore(t, d)
		ctx := context.Background()
		a, o := draft(t, s, 1)
		if err := s.Rate(ctx, a.ID, o, 4); !errors.Is(err, ErrNotFound) {
			t.Errorf("a draft rated: %v", err)
		}
		if _, err := s.Submit(ctx, a.ID, o, ""); err != nil {
			t.Fatal(err)
		}
		var fe problem.Fields
		if err := s.Rate(ctx, a.ID, o, 6); !errors.As(err, &fe) || fe["score"] == "" {
			t.Errorf("6 stars: %v", err)
		}
		if err := s.Rate(ctx, a.ID, o, 2); err != nil {
			t.Fatal(err)
		}
		if err := s.Rate(ctx, a.ID, o, 5); !errors.Is(err, ErrRated) {
			t.Errorf("second rating: %v", err)
		}
		if err := s.RateDetails(ctx, a.ID, o, "Le indicazioni erano chiare", ""); !errors.As(err, &fe) || fe["answer"] == "" {
			t.Errorf("a positive answer to 2 stars: %v", err)
		}
		if err := s.RateDetails(ctx, a.ID, o, "Ho avuto problemi tecnici", "Il caricamento era lento"); err != nil {
			t.Fatal(err)
		}
		r, _ := s.Ratings(ctx)
		if r[svc] == nil || r[svc].Count != 1 || r[svc].Mean != 2 {
			t.Errorf("ratings %+v", r[svc])
		}
	})
}

// Two operators on one application, each acting on the page they read:
// one wins, the other is told the application changed and nothing of
// theirs is done; a message always goes.
func TestTwoOperatorsOneApplication(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newTestStore(t, d)
		ctx := context.Background()
		for round := range 10 {
			a, o := draft(t, s, round)
			if _, err := s.Submit(ctx, a.ID, o, ""); err != nil {
				t.Fatal(err)
			}
			race := func(steps ...Step) (won []int, refused []int) {
				seen, err := s.ForOffice(ctx, a.ID)
				if err != nil {
					t.Fatal(err)
				}
				errs := make([]error, len(steps))
				var wg sync.WaitGroup
				for i, st := range steps {
					st.Seen = seen.UpdatedAt
					wg.Go(func() { _, errs[i] = s.Act(ctx, a.ID, nil, st) })
				}
				wg.Wait()
				for i, err := range errs {
					var refusal *Refusal
					switch {
					case err == nil:
						won = append(won, i)
					case errors.As(err, &refusal) && refusal.Reason == "changed":
						refused = append(refused, i)
					default:
						t.Fatalf("step %d: %v", i, err)
					}
				}
				if len(won) != 1 || len(refused) != len(steps)-1 {
					t.Fatalf("won %v, refused %v", won, refused)
				}
				return won, refused
			}
			// Both take it in charge: it is the winner's.
			won, _ := race(Step{Action: Take, Actor: Office, ActorID: "op-1"}, Step{Action: Take, Actor: Office, ActorID: "op-2"})
			winner := []string{"op-1", "op-2"}[won[0]]
			got, _ := s.ForOffice(ctx, a.ID)
			if got.State != InProgress || got.AssigneeID != winner {
				t.Fatalf("taken: %s by %q, want %q", got.State, got.AssigneeID, winner)
			}
			// One asks for an integration, the other cancels: one of the
			// two, never both.
			won, _ = race(Step{Action: RequestIntegration, Actor: Office, ActorID: winner, Note: "Manca la planimetria", Days: 10},
				Step{Action: Cancel, Actor: Office, ActorID: "op-3", Note: "Doppione"})
			got, _ = s.ForOffice(ctx, a.ID)
			if want := []State{IntegrationRequested, Cancelled}[won[0]]; got.State != want {
				t.Fatalf("after the race: %s, want %s", got.State, want)
			}
			hist, _ := s.History(ctx, a.ID)
			var acts []Action
			for _, h := range hist {
				acts = append(acts, h.Action)
			}
			if want := []Action{Submit, Register, Take, []Action{RequestIntegration, Cancel}[won[0]]}; !slices.Equal(acts, want) {
				t.Fatalf("history %v, want %v", acts, want)
			}
			msgs, _ := s.Messages(ctx, a.ID)
			if len(msgs) != 1 {
				t.Fatalf("%d messages: the loser's note was kept", len(msgs))
			}
			records, _ := (&audit.Log{DB: d}).List(ctx, audit.ListFilter{Subject: "application:" + a.ID, Limit: 50})
			if len(records) != 4 {
				t.Fatalf("%d audit entries, want started, submitted, take and the winner's", len(records))
			}
			// A message from a page drawn before goes all the same.
			if got.State.Open() {
				if _, err := s.Act(ctx, a.ID, nil, Step{Action: Message, Actor: Office, ActorID: "op-2", Note: "Visto", Seen: time.Unix(1, 0)}); err != nil {
					t.Fatalf("a message from an older page: %v", err)
				}
			}
		}
	})
}

// A queue longer than CountCap is counted up to it ("1000+") and paged up
// to it: the cost of the queue page does not grow with the queue.
func TestQueueCountsStopAtTheCap(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newTestStore(t, d)
		ctx := context.Background()
		fill(t, d, s, 1600, 200) // 1,067 open (1 + 1,066), 533 closed
		counts, err := s.Counts(ctx, "op-3", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if counts[QueueOpen] != CountCap+1 || counts[QueueOpen].String() != "1000+" || counts[QueueClosed] != 533 || counts[QueueClosed].String() != "533" {
			t.Fatalf("counts %v", counts)
		}
		list, total, err := s.List(ctx, Filter{Queue: QueueOpen, Page: 500})
		if err != nil || total != CountCap+1 || len(list) != PageSize {
			t.Fatalf("page 500: %d of %v (%v)", len(list), total, err)
		}
		first, _, _ := s.List(ctx, Filter{Queue: QueueOpen, Page: CountCap/PageSize + 1})
		if first[0].ID != list[0].ID {
			t.Error("a page past the cap is not the last page")
		}
	})
}

// The resident's list counts all their applications, whether the count
// comes from a statement of its own or, for a first page that is not
// full, from the page: with two pages and one more, a page and one more,
// a full page, one page but one, one and none.
func TestMineCountsEveryApplication(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newTestStore(t, d)
		ctx := context.Background()
		a, o := draft(t, s, 0)
		if _, err := s.Submit(ctx, a.ID, o, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddVolume(ctx, Volume{Template: a.ID, N: 2 * PageSize, Owned: 2 * PageSize, PerResident: 1}); err != nil {
			t.Fatal(err)
		}
		for _, had := range []int{2*PageSize + 1, PageSize + 1, PageSize, PageSize - 1, 1, 0} {
			// The resident's applications beyond had go to another.
			if _, err := d.ExecContext(ctx, `UPDATE sportello_applications SET account_id = 'res-other' WHERE id IN (
				SELECT id FROM sportello_applications WHERE account_id = $1 ORDER BY id LIMIT (SELECT COUNT(*) - $2 FROM sportello_applications WHERE account_id = $1))`, o.AccountID, had); err != nil {
				t.Fatal(err)
			}
			for page := 1; page <= 3; page++ {
				list, total, err := s.Mine(ctx, o, page)
				if err != nil {
					t.Fatal(err)
				}
				if want := min(PageSize, max(0, had-(page-1)*PageSize)); total != had || len(list) != want {
					t.Errorf("%d applications, page %d: %d listed of %d, want %d of %d", had, page, len(list), total, want, had)
				}
			}
		}
	})
}
