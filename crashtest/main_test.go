package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/throttle"
)

// Only the complete success answer counts as an acknowledgement.
func TestJudge(t *testing.T) {
	redirect := func(status int, loc string) *http.Response {
		return &http.Response{StatusCode: status, Header: http.Header{"Location": {loc}}}
	}
	tests := []struct {
		kind opKind
		resp *http.Response
		body string
		want outcome
	}{
		{rating, redirect(303, "/?valutazione=grazie#feedback"), "", acknowledged},
		{rating, redirect(303, "/?valutazione=errore#feedback"), "", unexpected},
		{rating, redirect(500, ""), "", unexpected},
		{signup, &http.Response{StatusCode: 200}, "<p>Se l&#39;indirizzo è corretto, riceverai a breve un messaggio: apri", acknowledged},
		{signup, &http.Response{StatusCode: 200}, "<form>", unexpected},
		{signup, &http.Response{StatusCode: 422}, "riceverai a breve un messaggio", unexpected},
		{signup, &http.Response{StatusCode: 429}, "", unexpected},
		{completion, redirect(303, "/profilo?benvenuto=1"), "", acknowledged},
		{completion, redirect(303, "/accedi"), "", unexpected},
		{completion, redirect(200, "/profilo?benvenuto=1"), "", unexpected},
		{completion, &http.Response{StatusCode: 400}, "Questo collegamento di registrazione non è valido, è scaduto o è già stato usato.", rejected},
		{completion, &http.Response{StatusCode: 400}, "Richiesta non valida", unexpected},
		{completion, &http.Response{StatusCode: 409}, "", unexpected},
		{completion, &http.Response{StatusCode: 503}, "", unexpected},
	}
	for i, tt := range tests {
		if got, detail := judge(tt.kind, tt.resp, []byte(tt.body)); got != tt.want {
			t.Errorf("%d: judge = %v (%s), want %v", i, got, detail, tt.want)
		}
	}
}

// Every rating comes from a client of its own, so that the per-client
// limits never refuse one.
func TestClientsAreDistinct(t *testing.T) {
	seen := map[string]int{}
	for n := 0; n < 1<<18; n += 3 {
		c := throttle.Client(clientOf(n))
		if m, dup := seen[c]; dup {
			t.Fatalf("writes %d and %d share the client %s", m, n, c)
		}
		seen[c] = n
	}
}

// The link is read from the text of the registration mail.
func TestLinkToken(t *testing.T) {
	text := "Per completare la registrazione al portale dei servizi del Comune di Prova apri questo collegamento entro 2 ore:\n\n" +
		"http://127.0.0.1:4321/registrati/completa?token=Ab-c_9xYz\n\nSe non hai chiesto tu la registrazione, ignora questo messaggio.\n"
	if got, err := linkToken([]string{text}); err != nil || got != "Ab-c_9xYz" {
		t.Errorf("linkToken = %q, %v; want Ab-c_9xYz", got, err)
	}
	for _, texts := range [][]string{nil, {text, text}, {"no link here"}} {
		if got, err := linkToken(texts); err == nil {
			t.Errorf("linkToken(%q) = %q, want an error", texts, got)
		}
	}
}

// The queue of links to follow: every leaveOpen-th acknowledged signup is
// left open, every raceEvery-th link followed is raced, a token that could
// not be read goes back to the front without counting, a link whose
// completion got no answer is followed again only in the final run.
func TestReadyQueue(t *testing.T) {
	l := newLedger("feed")
	for range 8 {
		l.finish(l.newOp(signup), acknowledged, "")
	}
	l.finish(l.newOp(signup), lost, "")
	var got []int
	var races []bool
	first := true
	for {
		s, race := l.takeReady(false)
		if s == nil {
			break
		}
		if first {
			l.putBack(s)
			first = false
			continue
		}
		got = append(got, s.N)
		races = append(races, race)
	}
	if want := []int{1, 2, 3, 5, 6, 7}; !slices.Equal(got, want) {
		t.Errorf("links followed: %v, want %v (4 and 8 left open, 9 lost)", got, want)
	}
	if want := []bool{false, false, true, false, false, true}; !slices.Equal(races, want) {
		t.Errorf("races: %v, want %v", races, want)
	}
	// A link whose completion got no answer waits for the final run, and
	// a fresh one goes first even then.
	l.again(l.ops[0])
	if s, _ := l.takeReady(false); s != nil {
		t.Errorf("takeReady(false) = %d, want none: retries are for the final run", s.N)
	}
	fresh := l.newOp(signup)
	l.finish(fresh, acknowledged, "")
	for _, want := range []*op{fresh, l.ops[0], nil} {
		if s, _ := l.takeReady(true); s != want {
			t.Errorf("takeReady(true) = %v, want %v", s, want)
		}
	}
}

// world is a run's ledger and database, built up by a test.
type world struct {
	t   *testing.T
	l   *ledger
	st  *dbState
	ids int
}

func newWorld(t *testing.T) *world {
	return &world{t: t, l: newLedger("0badcafe"), st: &dbState{ratings: map[string]int{}, signups: map[string]int{}, mails: map[string]int{},
		requested: map[string]int{}, accounts: map[string][]string{}, registered: map[string]int{}, sessions: map[string]int{}, devices: map[string]int{}}}
}

// signup sends a signup that ends in state; committed puts its
// transaction in the database.
func (w *world) signup(state outcome, committed bool) *op {
	o := w.l.newOp(signup)
	w.l.finish(o, state, "")
	if committed {
		w.st.signups[o.Key]++
		w.st.mails[o.Key]++
		w.st.requested[o.Key]++
	}
	return o
}

// complete sends completions of sig's link, one per state (two or more: a
// race), and commits the one named by winner (-1: none).
func (w *world) complete(sig *op, winner int, states ...outcome) {
	for i, s := range states {
		o := w.l.newCompletion(sig, "tok", len(states) > 1)
		w.l.finish(o, s, "")
		if i == winner {
			w.commitCompletion(sig.Key)
		}
	}
}

func (w *world) commitCompletion(email string) string {
	w.ids++
	id := fmt.Sprintf("acc%d", w.ids)
	w.st.signups[email]--
	if w.st.signups[email] == 0 {
		delete(w.st.signups, email)
	}
	w.st.accounts[email] = append(w.st.accounts[email], id)
	w.st.registered[id]++
	w.st.sessions[id]++
	w.st.devices[id]++
	return id
}

func (w *world) examine() ([]string, *summary) {
	sum := &summary{}
	w.l.summarise(sum)
	return examine(w.l.ops, w.st, sum), sum
}

// A run where everything held: acknowledged writes there, lost ones there
// or not, races with one winner, retries after a lost completion.
func TestExamineClean(t *testing.T) {
	w := newWorld(t)
	w.signup(acknowledged, true)                                        // left open
	w.complete(w.signup(acknowledged, true), 0, acknowledged)           // completed
	w.complete(w.signup(acknowledged, true), 1, rejected, acknowledged) // raced: the second won
	w.complete(w.signup(acknowledged, true), 0, lost, rejected)         // raced: the lost one committed
	w.complete(w.signup(acknowledged, true), -1, lost, lost)            // raced, both killed before the commit
	retried := w.signup(acknowledged, true)
	w.complete(retried, 0, lost)      // committed, answer lost...
	w.complete(retried, -1, rejected) // ...so following it again says "used"
	again := w.signup(acknowledged, true)
	w.complete(again, -1, lost)                           // killed before the commit...
	w.complete(again, 0, acknowledged)                    // ...so following it again works
	w.signup(lost, true)                                  // committed, answer lost
	w.signup(lost, false)                                 // not committed
	w.signup(refused, false)                              // never arrived
	w.complete(w.signup(acknowledged, true), -1, refused) // never arrived
	r := w.l.newOp(rating)
	w.l.finish(r, acknowledged, "")
	w.st.ratings[r.Key] = 1

	problems, sum := w.examine()
	if len(problems) > 0 {
		t.Fatalf("problems in a clean run:\n%s", strings.Join(problems, "\n"))
	}
	s, c := sum.byKind[signup], sum.byKind[completion]
	if s.acked != 8 || s.ackedFound != 8 || s.found != 9 || s.unackedFound != 1 || s.open != 4 || s.refused != 1 {
		t.Errorf("signups summary %+v", s)
	}
	if c.acked != 3 || c.ackedFound != 3 || c.found != 5 || c.unackedFound != 2 || c.races != 3 || c.raceSplit != 1 || c.rejected != 3 {
		t.Errorf("completions summary %+v", c)
	}
}

// Each way a crash can betray a registration is reported.
func TestExamineFindsProblems(t *testing.T) {
	tests := []struct {
		name  string
		setup func(w *world)
		want  string
	}{
		{"acknowledged signup missing", func(w *world) { w.signup(acknowledged, false) }, "was acknowledged"},
		{"signup without its mail", func(w *world) {
			o := w.signup(lost, true)
			delete(w.st.mails, o.Key)
		}, "is torn"},
		{"signup without its audit entry", func(w *world) {
			o := w.signup(acknowledged, true)
			delete(w.st.requested, o.Key)
		}, "is torn"},
		{"mail without link or account", func(w *world) {
			o := w.signup(lost, true)
			delete(w.st.signups, o.Key)
		}, "is torn"},
		{"signup twice", func(w *world) {
			o := w.signup(lost, true)
			w.st.mails[o.Key]++
			w.st.requested[o.Key]++
		}, "twice"},
		{"refused signup there", func(w *world) { w.signup(refused, true) }, "connection was refused"},
		{"acknowledged completion missing", func(w *world) { w.complete(w.signup(acknowledged, true), -1, acknowledged) }, "there is no account"},
		{"race with two winners", func(w *world) { w.complete(w.signup(acknowledged, true), 0, acknowledged, acknowledged) }, "completed 2 times"},
		{"used link, no account", func(w *world) { w.complete(w.signup(acknowledged, true), -1, lost, rejected) }, "refused as used"},
		{"account though every answer was a refusal", func(w *world) { w.complete(w.signup(acknowledged, true), 0, rejected) }, "no completion of its link got through"},
		{"account without its audit entry", func(w *world) {
			o := w.signup(acknowledged, true)
			w.complete(o, 0, acknowledged)
			delete(w.st.registered, w.st.accounts[o.Key][0])
		}, "0 audit entries account.registered"},
		{"account without its session", func(w *world) {
			o := w.signup(acknowledged, true)
			w.complete(o, 0, lost)
			delete(w.st.sessions, w.st.accounts[o.Key][0])
		}, "0 sessions"},
		{"account without its trusted browser", func(w *world) {
			o := w.signup(acknowledged, true)
			w.complete(o, 0, acknowledged)
			delete(w.st.devices, w.st.accounts[o.Key][0])
		}, "0 trusted browsers"},
		{"link not consumed", func(w *world) {
			o := w.signup(acknowledged, true)
			w.complete(o, 0, acknowledged)
			w.st.signups[o.Key] = 1
		}, "and so is its registration link"},
		{"account never signed up", func(w *world) { w.commitCompletion(w.l.email(999)) }, "no signup was ever requested"},
		{"account never completed", func(w *world) { w.commitCompletion(w.signup(acknowledged, true).Key) }, "no completion of its link reached civico"},
		{"account though its completion was refused", func(w *world) { w.complete(w.signup(acknowledged, true), 0, refused) }, "no completion of its link reached civico"},
		{"mail never asked for", func(w *world) { w.st.mails[w.l.email(999)] = 1 }, "a mail to"},
		{"orphan audit entry", func(w *world) { w.st.orphans = 1 }, "name an account that does not exist"},
		{"acknowledged rating missing", func(w *world) { w.l.finish(w.l.newOp(rating), acknowledged, "") }, "was acknowledged"},
		{"rating twice", func(w *world) {
			o := w.l.newOp(rating)
			w.l.finish(o, lost, "")
			w.st.ratings[o.Key] = 2
		}, "2 times"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			tt.setup(w)
			problems, _ := w.examine()
			for _, p := range problems {
				if strings.Contains(p, tt.want) {
					return
				}
			}
			t.Errorf("no problem mentions %q; problems:\n%s", tt.want, strings.Join(problems, "\n"))
		})
	}
}
