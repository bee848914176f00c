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
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/throttle"
)

func goodProposal() ProposalInput {
	return ProposalInput{Title: "Una fontanella al Parco Nord", Body: "D'estate al Parco Nord manca l'acqua: una fontanella vicino ai giochi.",
		Category: "verde", Address: "Via Cilea"}
}

func newProposal(t testing.TB, s *Store, author string) string {
	t.Helper()
	id, err := s.CreateProposal(context.Background(), resident(author, assurance.High), goodProposal(), false)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func auditCount(t testing.TB, d *db.DB, action string) int {
	t.Helper()
	var n int
	if err := d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE action = $1`, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// One support per resident: the same resident supporting at once from
// many sessions counts once; the others are told they already support
// it. Reaching the threshold sets the deadline of the answer once.
func TestOneSupportPerResidentUnderConcurrency(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStore(d)
		s.Threshold, s.AnswerWithin = 3, 30*24*time.Hour
		ctx := context.Background()
		id := newProposal(t, s, "sub-author")
		const tries = 12
		var wg sync.WaitGroup
		errs := make([]error, tries)
		for i := range tries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.Support(ctx, id, resident("sub-luca", assurance.High))
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrSupported):
			default:
				t.Fatalf("a concurrent support failed otherwise: %v", err)
			}
		}
		p, err := s.Proposal(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if ok != 1 || p.Supports != 1 || p.Reached() {
			t.Fatalf("%d supports went through, the count is %d (reached %v): want 1", ok, p.Supports, p.Reached())
		}
		if yes, _ := s.Supports(ctx, id, "sub-luca"); !yes {
			t.Fatal("Luca's support is not found")
		}
		// Two more residents at once reach the threshold of 3.
		for _, sub := range []string{"sub-giulia", "sub-anna"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.Support(ctx, id, resident(sub, assurance.High)); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		p, _ = s.Proposal(ctx, id)
		if p.Supports != 3 || !p.Reached() || p.AnswerDue == nil || p.AnswerDue.Sub(*p.ReachedAt) != 30*24*time.Hour {
			t.Fatalf("at the threshold: %d supports, reached %v, due %v", p.Supports, p.ReachedAt, p.AnswerDue)
		}
		var rows int
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_supports WHERE proposal_id = $1`, id).Scan(&rows)
		if rows != 3 {
			t.Fatalf("%d support rows, want 3", rows)
		}
		if n := auditCount(t, d, "partecipa.proposal.threshold"); n != 1 {
			t.Fatalf("%d audit entries of the threshold, want 1", n)
		}
		// A password login, or a non-resident, may not support.
		if err := s.Support(ctx, id, resident("sub-pw", assurance.Low)); problem.KindOf(err) != problem.Forbidden {
			t.Fatalf("a password login's support: %v", err)
		}
		// Once decided, supports close.
		if err := s.Decide(ctx, id, Decision{Status: StatusAccepted, Answer: "La fontanella sarà installata in primavera."}, "office"); err != nil {
			t.Fatal(err)
		}
		if err := s.Support(ctx, id, resident("sub-late", assurance.High)); problem.KindOf(err) != problem.Conflict || errors.Is(err, ErrSupported) {
			t.Fatalf("a support after the decision: %v", err)
		}
		p, _ = s.Proposal(ctx, id)
		if p.Status != StatusAccepted || p.AnsweredAt == nil || p.Answer == "" {
			t.Fatalf("after the decision: %+v", p)
		}
	})
}

// Bad input is refused field by field, nothing written; a point is kept
// only where the town shows maps.
func TestProposalInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStore(d)
		ctx := context.Background()
		v := resident("sub-a", assurance.High)
		_, err := s.CreateProposal(ctx, v, ProposalInput{Title: "Ab", Body: "corto", Category: "piscine", Address: strings.Repeat("x", 201), Lat: "91", Lon: "9"}, true)
		var f problem.Fields
		if !errors.As(err, &f) || f["title"] != "partecipa.p.bad_title" || f["body"] != "partecipa.p.bad_body" || f["category"] != "partecipa.p.bad_category" ||
			f["address"] != "partecipa.p.bad_address" || f["lat"] != "map.bad_lat" {
			t.Fatalf("bad input: %v", err)
		}
		if _, total, _ := s.Proposals(ctx, ProposalQuery{}); total != 0 {
			t.Fatal("a refused proposal was written")
		}
		in := goodProposal()
		in.Lat, in.Lon = "45,5701", "9.2079"
		id, err := s.CreateProposal(ctx, v, in, true)
		if err != nil {
			t.Fatal(err)
		}
		if p, _ := s.Proposal(ctx, id); !p.HasPoint || p.Lat != 45.5701 || p.Lon != 9.2079 || p.Threshold != DefaultThreshold {
			t.Fatalf("the point: %+v", p)
		}
		id, _ = s.CreateProposal(ctx, v, in, false)
		if p, _ := s.Proposal(ctx, id); p.HasPoint {
			t.Fatal("a point kept where the town shows no maps")
		}
		for _, who := range []*Viewer{nil, resident("sub-pw", assurance.Low), {Subject: "sub-x", Level: assurance.High}} {
			if _, err := s.CreateProposal(ctx, who, goodProposal(), false); problem.KindOf(err) != problem.Forbidden {
				t.Fatalf("%+v proposed: %v", who, err)
			}
		}
		if err := s.Decide(ctx, id, Decision{Status: StatusRejected}, "office"); !errors.As(err, &f) || f["answer"] != "partecipa.p.answer_needed" {
			t.Fatalf("a rejection without an answer: %v", err)
		}
		if err := s.Decide(ctx, id, Decision{Status: "maybe", Answer: "x"}, "office"); !errors.As(err, &f) || f["status"] != "partecipa.p.bad_status" {
			t.Fatalf("an unknown status: %v", err)
		}
	})
}

// The list: pages of PageSize, newest first, filtered by category and
// status, hidden proposals left out, counts that match.
func TestProposalList(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStore(d)
		ctx := context.Background()
		clock := time.Now().Add(-time.Hour)
		s.Now = func() time.Time { clock = clock.Add(time.Second); return clock }
		var ids []string
		for i := range 60 {
			in := goodProposal()
			in.Title = fmt.Sprintf("Proposta numero %d", i)
			if i%3 == 0 {
				in.Category = "mobilita"
			}
			id, err := s.CreateProposal(ctx, resident(fmt.Sprint("sub-", i), assurance.High), in, false)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		page, total, err := s.Proposals(ctx, ProposalQuery{})
		if err != nil || total != 60 || len(page) != PageSize || page[0].ID != ids[59] {
			t.Fatalf("first page: %d of %d, %v", len(page), total, err)
		}
		page, _, _ = s.Proposals(ctx, ProposalQuery{Offset: PageSize})
		if len(page) != 10 || page[9].ID != ids[0] {
			t.Fatalf("second page: %d", len(page))
		}
		if _, total, _ = s.Proposals(ctx, ProposalQuery{Category: "mobilita"}); total != 20 {
			t.Fatalf("by category: %d, want 20", total)
		}
		if err := s.Decide(ctx, ids[5], Decision{Status: StatusProgress, Answer: "Lavori avviati."}, "office"); err != nil {
			t.Fatal(err)
		}
		if page, total, _ = s.Proposals(ctx, ProposalQuery{Status: StatusProgress}); total != 1 || page[0].ID != ids[5] {
			t.Fatalf("by status: %d", total)
		}
		if err := s.Hide(ctx, KindProposal, ids[59], "Contiene dati personali di terzi.", "office"); err != nil {
			t.Fatal(err)
		}
		if page, total, _ = s.Proposals(ctx, ProposalQuery{}); total != 59 || page[0].ID != ids[58] {
			t.Fatalf("a hidden proposal listed: %d", total)
		}
	})
}

// Comments are threads: replies nest up to maxDepth under their parent,
// a page holds PageSize threads with all their replies, and nobody
// replies to a hidden comment or comments a hidden proposal.
func TestCommentThreads(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStore(d)
		ctx := context.Background()
		clock := time.Now().Add(-time.Hour)
		s.Now = func() time.Time { clock = clock.Add(time.Second); return clock }
		id := newProposal(t, s, "sub-author")
		other := newProposal(t, s, "sub-author")
		v := resident("sub-c", assurance.Low) // commenting needs a login, not a card
		first, err := s.AddComment(ctx, id, "", v, "Sono d'accordo, serve.")
		if err != nil {
			t.Fatal(err)
		}
		parent := first
		for depth := 1; depth <= maxDepth; depth++ {
			if parent, err = s.AddComment(ctx, id, parent, v, fmt.Sprint("Risposta ", depth)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.AddComment(ctx, id, parent, v, "Troppo in fondo"); problem.KindOf(err) != problem.Conflict {
			t.Fatalf("a reply below the deepest: %v", err)
		}
		if _, err := s.AddComment(ctx, other, first, v, "Su un'altra proposta"); problem.KindOf(err) != problem.NotFound {
			t.Fatalf("a reply to another proposal's comment: %v", err)
		}
		var f problem.Fields
		if _, err := s.AddComment(ctx, id, "", v, " x "); !errors.As(err, &f) || f["body"] == "" {
			t.Fatalf("a one-letter comment: %v", err)
		}
		if _, err := s.AddComment(ctx, id, "", nil, "Anonimo"); problem.KindOf(err) != problem.Forbidden {
			t.Fatalf("an anonymous comment: %v", err)
		}
		for i := range PageSize + 2 {
			if _, err := s.AddComment(ctx, id, "", v, fmt.Sprint("Commento ", i)); err != nil {
				t.Fatal(err)
			}
		}
		threads, total, err := s.Comments(ctx, id, 0)
		if err != nil || total != PageSize+3 || len(threads) != PageSize || threads[0].ID != first {
			t.Fatalf("first page of threads: %d of %d, %v", len(threads), total, err)
		}
		if n, err := s.Threads(ctx, id); err != nil || n != total {
			t.Fatalf("Threads says %d, the page %d: %v", n, total, err)
		}
		c, depth := threads[0], 0
		for len(c.Replies) == 1 {
			c, depth = c.Replies[0], depth+1
		}
		if depth != maxDepth {
			t.Fatalf("the thread nests %d deep, want %d", depth, maxDepth)
		}
		if err := s.Hide(ctx, KindComment, first, "Fuori tema.", "office"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddComment(ctx, id, first, v, "Risposta a un nascosto"); problem.KindOf(err) != problem.Conflict {
			t.Fatalf("a reply to a hidden comment: %v", err)
		}
		if err := s.Hide(ctx, KindProposal, id, "Proposta duplicata.", "office"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddComment(ctx, id, "", v, "Ancora qui"); problem.KindOf(err) != problem.Conflict {
			t.Fatalf("a comment on a hidden proposal: %v", err)
		}
	})
}

// Reports: one per resident and thing, within a budget; the office hides
// with a public reason (refused without one), which settles the reports,
// restores, dismisses; every step is in the audit log.
func TestModeration(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStore(d)
		s.Limiter = &throttle.Limiter{DB: d, Key: []byte("test")}
		ctx := context.Background()
		id := newProposal(t, s, "sub-author")
		cid, err := s.AddComment(ctx, id, "", resident("sub-c", assurance.Low), "Comprate il mio prodotto!")
		if err != nil {
			t.Fatal(err)
		}
		reporter := resident("sub-r", assurance.Low)
		var f problem.Fields
		if err := s.Report(ctx, id, reporter, ReportInput{Kind: KindComment, Target: cid, Reason: "boh"}); !errors.As(err, &f) || f["reason"] == "" {
			t.Fatalf("a report without a reason: %v", err)
		}
		if err := s.Report(ctx, id, reporter, ReportInput{Kind: KindComment, Target: cid, Reason: "spam", Note: "Pubblicità"}); err != nil {
			t.Fatal(err)
		}
		if err := s.Report(ctx, id, reporter, ReportInput{Kind: KindComment, Target: cid, Reason: "offensive"}); !errors.Is(err, ErrReported) {
			t.Fatalf("a second report of the same comment: %v", err)
		}
		if err := s.Report(ctx, id, resident("sub-r2", assurance.Low), ReportInput{Kind: KindComment, Target: cid, Reason: "offensive"}); err != nil {
			t.Fatal(err)
		}
		if err := s.Report(ctx, id, reporter, ReportInput{Kind: KindComment, Target: strings.Repeat("0", 32), Reason: "spam"}); problem.KindOf(err) != problem.NotFound {
			t.Fatalf("a report of nothing: %v", err)
		}
		groups, total, err := s.OpenReports(ctx, 0)
		if err != nil || total != 1 || groups[0].Reports != 2 || groups[0].Reasons["spam"] != 1 || groups[0].Text != "Comprate il mio prodotto!" ||
			len(groups[0].Notes) != 1 || groups[0].First.IsZero() {
			t.Fatalf("open reports: %d %+v %v", total, groups, err)
		}
		if err := s.Hide(ctx, KindComment, cid, "no", "office"); !errors.As(err, &f) || f["reason"] != "partecipa.mod.bad_reason" {
			t.Fatalf("hiding without a reason: %v", err)
		}
		if err := s.Hide(ctx, KindComment, cid, "Pubblicità commerciale.", "office"); err != nil {
			t.Fatal(err)
		}
		if err := s.Hide(ctx, KindComment, cid, "Pubblicità commerciale.", "office"); problem.KindOf(err) != problem.Conflict {
			t.Fatalf("hiding twice: %v", err)
		}
		threads, _, _ := s.Comments(ctx, id, 0)
		if !threads[0].Hidden() || threads[0].HiddenReason != "Pubblicità commerciale." {
			t.Fatalf("the hidden comment: %+v", threads[0])
		}
		if _, total, _ = s.OpenReports(ctx, 0); total != 0 {
			t.Fatalf("%d reported things left after hiding", total)
		}
		if err := s.Restore(ctx, KindComment, cid, "office"); err != nil {
			t.Fatal(err)
		}
		if err := s.Report(ctx, id, resident("sub-r3", assurance.Low), ReportInput{Kind: KindProposal, Target: id, Reason: "offtopic"}); err != nil {
			t.Fatal(err)
		}
		if err := s.Dismiss(ctx, KindProposal, id, "office"); err != nil {
			t.Fatal(err)
		}
		if err := s.Dismiss(ctx, KindProposal, id, "office"); problem.KindOf(err) != problem.Conflict {
			t.Fatalf("dismissing twice: %v", err)
		}
		for action, want := range map[string]int{"partecipa.report": 3, "partecipa.moderation.hide": 1, "partecipa.moderation.restore": 1,
			"partecipa.moderation.dismiss": 1, "partecipa.proposal.create": 1, "partecipa.comment.create": 1} {
			if n := auditCount(t, d, action); n != want {
				t.Errorf("%d audit entries %s, want %d", n, action, want)
			}
		}
		// The budget: ReportRule.Free reports a day, then a refusal that
		// reads as throttled, and nothing recorded.
		flood := resident("sub-flood", assurance.Low)
		var refused error
		for i := range ReportRule.Free + 1 {
			cid, err := s.AddComment(ctx, id, "", resident(fmt.Sprint("sub-w", i), assurance.Low), fmt.Sprint("Commento ", i))
			if err != nil {
				t.Fatal(err)
			}
			refused = s.Report(ctx, id, flood, ReportInput{Kind: KindComment, Target: cid, Reason: "spam"})
			if i < ReportRule.Free && refused != nil {
				t.Fatalf("report %d refused: %v", i, refused)
			}
		}
		if !errors.Is(refused, throttle.ErrRefused) || problem.KindOf(refused) != problem.Throttled {
			t.Fatalf("a report over the budget: %v", refused)
		}
		var n int
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_reports WHERE subject = $1`, "sub-flood").Scan(&n)
		if n != ReportRule.Free {
			t.Fatalf("%d reports recorded, want %d", n, ReportRule.Free)
		}
	})
}

// The demo's proposals are seeded once, one of them answered at its
// threshold.
func TestSeedDemo(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStore(d)
		ctx := context.Background()
		for range 2 {
			if err := s.SeedDemo(ctx); err != nil {
				t.Fatal(err)
			}
		}
		list, total, err := s.Proposals(ctx, ProposalQuery{})
		if err != nil || total != 3 {
			t.Fatalf("%d demo proposals, %v", total, err)
		}
		answered := 0
		for _, p := range list {
			if p.Reached() && p.AnsweredAt != nil && p.Status == StatusProgress {
				answered++
			}
		}
		if answered != 1 {
			t.Fatalf("%d answered at the threshold, want 1", answered)
		}
	})
}

func TestExcerpt(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"Breve.", 200, "Breve."},
		{"Una  riga\nnuova", 200, "Una riga nuova"},
		{"Più alberi nella piazza grande", 18, "Più alberi nella…"},
	} {
		if got := excerpt(c.in, c.n); got != c.want {
			t.Errorf("excerpt(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

// Withdrawing a support: many sessions of one resident withdrawing at
// once count once; supports and withdrawals of others at once leave the
// counter equal to the rows; a threshold once reached stays reached;
// nothing is withdrawn once the office decided.
func TestWithdrawSupportUnderConcurrency(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStore(d)
		s.Threshold, s.AnswerWithin = 3, 30*24*time.Hour
		ctx := context.Background()
		id := newProposal(t, s, "sub-author")
		for _, sub := range []string{"sub-luca", "sub-giulia", "sub-anna"} {
			if err := s.Support(ctx, id, resident(sub, assurance.High)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Withdraw(ctx, id, resident("sub-nobody", assurance.High)); !errors.Is(err, ErrNotSupported) {
			t.Fatalf("withdrawing a support never given: %v", err)
		}
		const tries = 12
		var wg sync.WaitGroup
		errs := make([]error, tries)
		for i := range tries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				switch {
				case i%3 == 2:
					// Others support at the same time.
					errs[i] = s.Support(ctx, id, resident(fmt.Sprint("sub-new-", i), assurance.High))
				default:
					errs[i] = s.Withdraw(ctx, id, resident("sub-luca", assurance.High))
				}
			}()
		}
		wg.Wait()
		withdrawn := 0
		for i, err := range errs {
			switch {
			case err == nil && i%3 != 2:
				withdrawn++
			case err == nil, errors.Is(err, ErrNotSupported):
			default:
				t.Fatalf("a concurrent withdrawal or support failed otherwise: %v", err)
			}
		}
		p, err := s.Proposal(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var rows int
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_supports WHERE proposal_id = $1`, id).Scan(&rows)
		if withdrawn != 1 || int64(rows) != p.Supports || p.Supports != 2+tries/3 {
			t.Fatalf("%d withdrawals went through; counter %d, rows %d; want 1 and %d", withdrawn, p.Supports, rows, 2+tries/3)
		}
		if yes, _ := s.Supports(ctx, id, "sub-luca"); yes {
			t.Fatal("Luca still supports it")
		}
		if !p.Reached() {
			t.Fatal("a withdrawal undid the threshold")
		}
		// Supporting again after withdrawing counts again.
		if err := s.Support(ctx, id, resident("sub-luca", assurance.High)); err != nil {
			t.Fatal(err)
		}
		if err := s.Decide(ctx, id, Decision{Status: StatusAccepted, Answer: "La fontanella sarà installata in primavera."}, "office"); err != nil {
			t.Fatal(err)
		}
		if err := s.Withdraw(ctx, id, resident("sub-luca", assurance.High)); problem.KindOf(err) != problem.Conflict || errors.Is(err, ErrNotSupported) {
			t.Fatalf("a withdrawal after the decision: %v", err)
		}
	})
}
