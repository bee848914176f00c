package timeuse_test

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/sealed"
	"github.com/civico-pa/civico/internal/timeuse"
)

func newStore(t *testing.T, d *db.DB) *timeuse.Store {
	box, err := sealed.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	return &timeuse.Store{DB: d, Box: box, Acts: timeuse.ACL()}
}

func account(t *testing.T, d *db.DB, id string) {
	t.Helper()
	now := time.Now().UTC()
	if _, err := d.ExecContext(context.Background(), `INSERT INTO accounts (id, kind, created_at, updated_at) VALUES ($1, 'resident', $2, $2)`, id, now); err != nil {
		t.Fatal(err)
	}
}

var goodQ = timeuse.Questionnaire{Sex: "F", Age: 41, Employment: "employed", WorkHours: 38, Commuter: true, Destination: "milan",
	CommuteMinutes: 50, CommuteMode: "31", HouseholdSize: 4, ChildrenAges: []int{7, 12}, Education: "tertiary", Preferred: []string{"weekday_evening"}}

// day is a complete diary day of five episodes.
func day(dayType string) *timeuse.Diary {
	return &timeuse.Diary{DayType: dayType, Episodes: []timeuse.Episode{
		{Start: 0, End: 180, Activity: "011", Location: "11", WithWhom: "alone"},
		{Start: 180, End: 240, Activity: "91", Location: "31", WithWhom: "alone"},
		{Start: 240, End: 720, Activity: "111", Location: "13", WithWhom: "others"},
		{Start: 720, End: 1080, Activity: "821", Secondary: "021", Location: "11", WithWhom: "children"},
		{Start: 1080, End: 1440, Activity: "011", Location: "11", WithWhom: "alone"},
	}}
}

func complete() *timeuse.Answers {
	return &timeuse.Answers{Q: goodQ, Diaries: map[string]*timeuse.Diary{timeuse.Weekday: day("weekday"), timeuse.Weekend: day("sunday")}}
}

func TestClock(t *testing.T) {
	for _, tc := range []struct {
		in  string
		end bool
		min int
		ok  bool
	}{{"04:00", false, 0, true}, {"04:00", true, 1440, true}, {"13:20", false, 560, true}, {"03:59", true, 1439, true},
		{"00:00", false, 1200, true}, {"7.30", false, 210, true}, {"24:00", false, 0, false}, {"7:3", false, 0, false}, {"", false, 0, false}} {
		got, ok := timeuse.ParseClock(tc.in, tc.end)
		if ok != tc.ok || ok && got != tc.min {
			t.Errorf("ParseClock(%q, %v) = %d %v, want %d %v", tc.in, tc.end, got, ok, tc.min, tc.ok)
		}
	}
	if timeuse.Clock(560) != "13:20" || timeuse.Clock(1440) != "04:00" {
		t.Errorf("Clock: %s %s", timeuse.Clock(560), timeuse.Clock(1440))
	}
}

// A diary day's issues name the times to fix.
func TestDiaryCheck(t *testing.T) {
	acts := timeuse.ACL()
	if is := day("weekday").Check(acts); len(is) != 0 {
		t.Fatalf("a complete day: %+v", is)
	}
	d := day("weekday")
	d.Episodes[2].Start = 560 // 13:20, after a gap from 08:00
	d.Episodes[3].Start = 700 // overlaps the episode before, which ends at 12:00+
	d.Episodes[2].End = 760
	is := d.Check(acts)
	want := []timeuse.Issue{{Message: "timeuse.diary.issue.gap", From: "08:00", To: "13:20", Episode: 2}, {Message: "timeuse.diary.issue.overlap", From: "15:40", To: "16:40", Episode: 3}}
	if !slices.Equal(is, want) {
		t.Errorf("issues %+v, want %+v", is, want)
	}
	short := &timeuse.Diary{Episodes: []timeuse.Episode{{Start: 60, End: 1400, Activity: "011", Location: "11", WithWhom: "alone"}}}
	is = short.Check(acts)
	var msgs []string
	for _, i := range is {
		msgs = append(msgs, i.Message)
	}
	if !slices.Equal(msgs, []string{"timeuse.diary.issue.start", "timeuse.diary.issue.end", "timeuse.diary.issue.few"}) || is[0].To != "05:00" || is[1].From != "03:20" {
		t.Errorf("a short day: %+v", is)
	}
	bad := day("weekday")
	bad.Episodes[1].Activity = "9" // a heading, not a code a diary records
	if is := bad.Check(acts); len(is) != 1 || is[0].Message != "timeuse.diary.issue.episode" {
		t.Errorf("a heading as activity: %+v", is)
	}
}

func TestQuestionnaireCheck(t *testing.T) {
	if f := goodQ.Check(); len(f) != 0 {
		t.Fatalf("good: %v", f)
	}
	for _, tc := range []struct {
		edit  func(*timeuse.Questionnaire)
		field string
	}{
		{func(q *timeuse.Questionnaire) { q.Sex = "X" }, "sex"},
		{func(q *timeuse.Questionnaire) { q.Age = 14 }, "age"},
		{func(q *timeuse.Questionnaire) { q.WorkHours = 0 }, "work_hours"},
		{func(q *timeuse.Questionnaire) { q.CommuteMinutes = 0 }, "commute_minutes"},
		{func(q *timeuse.Questionnaire) { q.CommuteMode = "11" }, "commute_mode"},
		{func(q *timeuse.Questionnaire) { q.ChildrenAges = []int{3, 18} }, "children_ages"},
		{func(q *timeuse.Questionnaire) { q.HouseholdSize = 2 }, "children_ages"},
		{func(q *timeuse.Questionnaire) { q.Preferred = nil }, "preferred"},
		{func(q *timeuse.Questionnaire) { q.Commuter, q.CommuteMinutes, q.CommuteMode = false, 0, "" }, ""},
	} {
		q := goodQ
		tc.edit(&q)
		f := q.Check()
		if tc.field == "" && len(f) != 0 || tc.field != "" && (f[tc.field] == "" || len(f) != 1) {
			t.Errorf("%+v: %v, want one error on %q", q, f, tc.field)
		}
	}
}

func TestCopyMorning(t *testing.T) {
	to := day("sunday")
	to.Episodes[0].End, to.Episodes[1].Start = 300, 300 // wakes at 09:00
	from := day("weekday")
	to.CopyMorning(from)
	if is := to.Check(timeuse.ACL()); len(is) != 0 {
		t.Fatalf("after the copy: %+v %+v", is, to.Episodes)
	}
	if to.Episodes[0].End != 180 || to.Episodes[2].Activity != "111" || to.Episodes[2].End != timeuse.Morning || to.Episodes[3].Start != timeuse.Morning {
		t.Errorf("copied: %+v", to.Episodes)
	}
}

// Eight submissions at once of one account's answers make one respondent;
// the others are told the account has taken part; the draft is gone.
func TestSubmitOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, ctx := newStore(t, d), context.Background()
		account(t, d, "acc1")
		incomplete := complete()
		incomplete.Diaries[timeuse.Weekend].Episodes = incomplete.Diaries[timeuse.Weekend].Episodes[:4]
		if err := s.SaveDraft(ctx, timeuse.Subject{Account: "acc1"}, incomplete); err != nil {
			t.Fatal(err)
		}
		if err := s.Submit(ctx, timeuse.Subject{Account: "acc1"}); !errors.Is(err, timeuse.ErrIncomplete) {
			t.Fatalf("an incomplete draft: %v", err)
		}
		if done, _ := s.Participated(ctx, timeuse.Subject{Account: "acc1"}); done {
			t.Fatal("the refused submission left a mark")
		}
		if err := s.SaveDraft(ctx, timeuse.Subject{Account: "acc1"}, complete()); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { errs[i] = s.Submit(ctx, timeuse.Subject{Account: "acc1"}) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, timeuse.ErrAnswered):
				t.Errorf("submission: %v", err)
			}
		}
		c, err := s.Count(ctx)
		if ok != 1 || err != nil || c.Real != 1 || c.Synthetic != 0 {
			t.Fatalf("%d submissions succeeded, %+v respondents (%v)", ok, c, err)
		}
		var drafts, episodes int
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM timeuse_drafts`).Scan(&drafts)
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM timeuse_episodes`).Scan(&episodes)
		if drafts != 0 || episodes != 10 {
			t.Errorf("%d drafts, %d episodes left", drafts, episodes)
		}
		if err := s.SaveDraft(ctx, timeuse.Subject{Account: "acc1"}, complete()); !errors.Is(err, timeuse.ErrAnswered) {
			t.Errorf("a draft after taking part: %v", err)
		}
	})
}

// The anonymous store holds no account: no column names one, and no value
// of its rows is the account's id; its only instants are none at all.
func TestAnonymousStoreHoldsNoIdentity(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, ctx := newStore(t, d), context.Background()
		const acc = "0f0e0d0c0b0a09080706050403020100"
		account(t, d, acc)
		if err := s.SaveDraft(ctx, timeuse.Subject{Account: acc}, complete()); err != nil {
			t.Fatal(err)
		}
		var sealedDraft string
		_ = d.QueryRowContext(ctx, `SELECT sealed FROM timeuse_drafts`).Scan(&sealedDraft)
		// The answers' JSON in clear would hold the values quoted; the
		// sealed text (base64) holds no quote, and held "821" by chance
		// about once in 130 runs.
		if strings.Contains(sealedDraft, `"milan"`) || strings.Contains(sealedDraft, `"821"`) {
			t.Errorf("the draft is stored in clear: %s", sealedDraft)
		}
		if err := s.Submit(ctx, timeuse.Subject{Account: acc}); err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"timeuse_respondents", "timeuse_diaries", "timeuse_episodes"} {
			rows, err := d.QueryContext(ctx, `SELECT * FROM `+table)
			if err != nil {
				t.Fatal(err)
			}
			cols, _ := rows.Columns()
			for _, c := range cols {
				if strings.Contains(c, "account") || strings.Contains(c, "subject") || strings.HasSuffix(c, "_at") || strings.Contains(c, "time") && c != "preferred_times" {
					t.Errorf("%s has a column %s", table, c)
				}
			}
			n := 0
			for rows.Next() {
				n++
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				for i, v := range vals {
					var text string
					switch x := v.(type) {
					case string:
						text = x
					case []byte:
						text = string(x)
					case time.Time:
						t.Errorf("%s.%s holds an instant %v", table, cols[i], x)
					}
					if strings.Contains(text, acc) {
						t.Errorf("%s.%s holds the account id", table, cols[i])
					}
				}
			}
			_ = rows.Close()
			if n == 0 {
				t.Errorf("%s is empty", table)
			}
		}
		rows, _ := d.QueryContext(ctx, `SELECT * FROM timeuse_participants`)
		cols, _ := rows.Columns()
		_ = rows.Close()
		if !slices.Equal(cols, []string{"account_id"}) {
			t.Errorf("the participation mark holds %v", cols)
		}
	})
}

// synth then export: the issue's columns and values, plausible days.
func TestSynthExport(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, ctx := newStore(t, d), context.Background()
		var seen []int
		if err := s.Synth(ctx, 120, 7, func(n int) { seen = append(seen, n) }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seen, []int{50, 100, 120}) {
			t.Errorf("progress %v", seen)
		}
		dir := t.TempDir()
		n, err := s.ExportDir(ctx, dir, timeuse.RealOnly, nil)
		if err != nil || n.Respondents != 0 {
			t.Fatalf("real only: %+v %v", n, err)
		}
		n, err = s.ExportDir(ctx, dir, timeuse.SyntheticOnly, nil)
		if err != nil || n.Respondents != 120 || n.Diaries != 240 {
			t.Fatalf("synthetic: %+v %v", n, err)
		}
		read := func(name string) [][]string {
			f, err := os.Open(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			recs, err := csv.NewReader(f).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			return recs
		}
		resp, diaries, eps := read("respondents.csv"), read("diaries.csv"), read("episodes.csv")
		if !slices.Equal(resp[0][:8], []string{"respondent_id", "sex", "age", "age_band", "employment", "commuter", "children", "weight"}) ||
			!slices.Equal(diaries[0], []string{"diary_id", "respondent_id", "day_type", "weight"}) ||
			!slices.Equal(eps[0], []string{"diary_id", "start_min", "end_min", "activity", "secondary", "location", "with_whom"}) {
			t.Fatalf("headers %v %v %v", resp[0], diaries[0], eps[0])
		}
		people := map[string][]string{}
		for _, r := range resp[1:] {
			age, _ := strconv.Atoi(r[2])
			if !slices.Contains(timeuse.Sexes, r[1]) || r[3] != timeuse.AgeBand(age) || !slices.Contains(timeuse.Employments, r[4]) ||
				(r[5] != "yes" && r[5] != "no") || !slices.Contains([]string{"0", "1", "2", "3+"}, r[6]) || r[7] != "1" || r[16] != "yes" {
				t.Fatalf("respondent %v", r)
			}
			people[r[0]] = r
		}
		dayTypes := map[string]string{}
		byPerson := map[string][]string{}
		for _, r := range diaries[1:] {
			if people[r[1]] == nil || !slices.Contains(timeuse.DayTypes, r[2]) {
				t.Fatalf("diary %v", r)
			}
			dayTypes[r[0]] = r[2]
			byPerson[r[1]] = append(byPerson[r[1]], r[2])
		}
		for id, days := range byPerson {
			slices.Sort(days)
			if len(days) != 2 || days[1] != "weekday" || days[0] == "weekday" {
				t.Fatalf("%s has diaries %v", id, days)
			}
		}
		// Every day is complete, and an employed commuter leaves home
		// earlier on weekdays than a retiree gets up.
		days := map[string]*timeuse.Diary{}
		for _, r := range eps[1:] {
			start, _ := strconv.Atoi(r[1])
			end, _ := strconv.Atoi(r[2])
			if days[r[0]] == nil {
				days[r[0]] = &timeuse.Diary{DayType: dayTypes[r[0]]}
			}
			days[r[0]].Episodes = append(days[r[0]].Episodes, timeuse.Episode{Start: start, End: end, Activity: r[3], Secondary: r[4], Location: r[5], WithWhom: r[6]})
		}
		if len(days) != 240 {
			t.Fatalf("%d days with episodes", len(days))
		}
		acts := timeuse.ACL()
		for id, day := range days {
			if is := day.Check(acts); len(is) != 0 {
				t.Fatalf("diary %s: %+v\n%+v", id, is, day.Episodes)
			}
		}
	})
}

// The demo's respondents are seeded once.
func TestSeedDemo(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, ctx := newStore(t, d), context.Background()
		for range 2 {
			if err := s.SeedDemo(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if c, err := s.Count(ctx); err != nil || c.Synthetic != timeuse.DemoRespondents || c.Real != 0 {
			t.Errorf("%+v %v", c, err)
		}
	})
}

// Invitations expire: the link stops working, and the job deletes those
// never used (with their drafts), keeping the used ones.
func TestInvitationsExpire(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, ctx := newStore(t, d), context.Background()
		past := time.Now().AddDate(0, 0, -3)
		s.Now = func() time.Time { return past }
		secrets, err := s.Invite(ctx, nil, 2, 1, "test", "")
		if err != nil || len(secrets) != 2 {
			t.Fatal(secrets, err)
		}
		sub, err := s.Invitation(ctx, secrets[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SaveDraft(ctx, sub, complete()); err != nil {
			t.Fatal(err)
		}
		if err := s.Submit(ctx, sub); err != nil {
			t.Fatal(err)
		}
		s.Now = nil
		if _, err := s.Invitation(ctx, secrets[1]); !errors.Is(err, timeuse.ErrInvitation) {
			t.Errorf("an expired invitation: %v", err)
		}
		if err := s.PurgeInvitations(ctx); err != nil {
			t.Fatal(err)
		}
		if c, err := s.CountInvitations(ctx); err != nil || c.Made != 1 || c.Answered != 1 {
			t.Errorf("after the purge: %+v %v", c, err)
		}
		if _, err := s.Invite(ctx, nil, 0, 30, "test", ""); err == nil {
			t.Error("zero invitations made")
		}
	})
}

// The mix rewrites submitted answers under new ids in its own transaction:
// on PostgreSQL the respondent no longer shares the participation mark's
// xmin; the answers are the same; synthetic ones are not touched.
func TestMix(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, ctx := newStore(t, d), context.Background()
		if err := s.Synth(ctx, 3, 1, nil); err != nil {
			t.Fatal(err)
		}
		for _, acc := range []string{"a1", "a2"} {
			account(t, d, acc)
			if err := s.SaveDraft(ctx, timeuse.Subject{Account: acc}, complete()); err != nil {
				t.Fatal(err)
			}
			if err := s.Submit(ctx, timeuse.Subject{Account: acc}); err != nil {
				t.Fatal(err)
			}
		}
		sameTx := func() int {
			if d.Dialect != db.Postgres {
				return -1
			}
			var n int
			if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM timeuse_respondents r JOIN timeuse_participants p ON p.xmin = r.xmin`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		export := func() string {
			dir := t.TempDir()
			if _, err := s.ExportDir(ctx, dir, timeuse.RealOnly, nil); err != nil {
				t.Fatal(err)
			}
			var parts []string
			for _, f := range []string{"respondents.csv", "episodes.csv"} {
				b, _ := os.ReadFile(filepath.Join(dir, f))
				for _, line := range strings.Split(string(b), "\n") {
					if _, rest, ok := strings.Cut(line, ","); ok {
						parts = append(parts, rest)
					}
				}
			}
			slices.Sort(parts)
			return strings.Join(parts, "\n")
		}
		if d.Dialect == db.Postgres && sameTx() != 2 {
			t.Fatalf("before the mix %d respondents share a mark's transaction", sameTx())
		}
		before := export()
		var ids []string
		rows, _ := d.QueryContext(ctx, `SELECT id FROM timeuse_respondents WHERE synthetic = FALSE`)
		for rows.Next() {
			var id string
			_ = rows.Scan(&id)
			ids = append(ids, id)
		}
		_ = rows.Close()
		n, err := s.Mix(ctx)
		if err != nil || n != 2 {
			t.Fatalf("mixed %d: %v", n, err)
		}
		if n, _ := s.Mix(ctx); n != 0 {
			t.Errorf("a second mix rewrote %d", n)
		}
		if got := sameTx(); got > 0 {
			t.Errorf("after the mix %d respondents share a mark's transaction", got)
		}
		if after := export(); after != before {
			t.Errorf("the mix changed the answers:\n%s\n---\n%s", before, after)
		}
		var kept int
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM timeuse_respondents WHERE id = $1 OR id = $2`, ids[0], ids[1]).Scan(&kept)
		if c, _ := s.Count(ctx); kept != 0 || c.Real != 2 || c.Synthetic != 3 {
			t.Errorf("after the mix: %d old ids, %+v", kept, c)
		}
	})
}

// Linking an account that took part to a card's moves the mark: the card's
// account cannot answer again; the linked account's draft is dropped.
// Closing an account and logging in again gave a second answer: the mark
// was kept under the closed account's id. It is kept under the person
// (identity.Account.Subject), which the next account takes over.
func TestNextAccountCannotAnswerAgain(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, ctx := newStore(t, d), context.Background()
		for _, acc := range []string{"first", "next"} {
			account(t, d, acc)
		}
		first, next := timeuse.Subject{Account: "first", Person: "first"}, timeuse.Subject{Account: "next", Person: "first"}
		if err := s.SaveDraft(ctx, first, complete()); err != nil {
			t.Fatal(err)
		}
		if err := s.Submit(ctx, first); err != nil {
			t.Fatal(err)
		}
		if done, err := s.Participated(ctx, next); !done || err != nil {
			t.Errorf("the person's next account has not taken part (%v)", err)
		}
		if err := s.SaveDraft(ctx, next, complete()); !errors.Is(err, timeuse.ErrAnswered) {
			t.Errorf("a draft of the next account: %v", err)
		}
		if err := s.Submit(ctx, next); !errors.Is(err, timeuse.ErrAnswered) {
			t.Errorf("the next account answers again: %v", err)
		}
		if c, err := s.Count(ctx); err != nil || c.Real != 1 {
			t.Errorf("%+v respondents (%v), want 1", c, err)
		}
		// Another person's account is not held back.
		account(t, d, "other")
		if done, _ := s.Participated(ctx, timeuse.Subject{Account: "other", Person: "other"}); done {
			t.Error("another person has taken part")
		}
	})
}

func TestMergeAccounts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, ctx := newStore(t, d), context.Background()
		for _, acc := range []string{"pw", "card"} {
			account(t, d, acc)
		}
		pw, card := timeuse.Subject{Account: "pw"}, timeuse.Subject{Account: "card"}
		if err := s.SaveDraft(ctx, pw, complete()); err != nil {
			t.Fatal(err)
		}
		if err := s.Submit(ctx, pw); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveDraft(ctx, card, complete()); err != nil {
			t.Fatal(err)
		}
		if err := d.Tx(ctx, func(tx *sql.Tx) error { return s.MergeAccounts(ctx, tx, "pw", "card") }); err != nil {
			t.Fatal(err)
		}
		if done, _ := s.Participated(ctx, card); !done {
			t.Error("the card's account has no mark")
		}
		if done, _ := s.Participated(ctx, pw); done {
			t.Error("the linked account keeps its mark")
		}
		if err := s.Submit(ctx, card); !errors.Is(err, timeuse.ErrAnswered) {
			t.Errorf("the card's account answers again: %v", err)
		}
		var drafts int
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM timeuse_drafts`).Scan(&drafts)
		if drafts != 0 {
			t.Errorf("%d drafts left", drafts)
		}
	})
}
