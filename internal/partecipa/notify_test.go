package partecipa

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/mail"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/web"
)

func outbox(t *testing.T, d *db.DB) map[string][]string {
	t.Helper()
	rows, err := d.QueryContext(context.Background(), `SELECT to_addr, subject FROM mail_outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var to, subject string
		if err := rows.Scan(&to, &subject); err != nil {
			t.Fatal(err)
		}
		out[to] = append(out[to], subject)
	}
	return out
}

// Residents who opted in are told, through the outbox, of a consultation
// opened in their district (everyone, for one without districts) and of
// the answer to a proposal they support; nobody else is. A title cannot
// break the mail's subject into headers.
func TestNotifications(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStore(d)
		s.Outbox, s.BaseURL = &mail.Outbox{DB: d}, "https://partecipa.example.it"
		i18n, ierr := web.NewI18n(Messages)
		if ierr != nil {
			t.Fatal(ierr)
		}
		s.T = func(id string, args ...any) string { return i18n.T("it", id, args...) }
		ctx := context.Background()
		who := func(sub, district, email string) *Viewer {
			v := resident(sub, assurance.High)
			v.District, v.Email = district, email
			return v
		}
		anna, bruno, carla := who("sub-anna", "Crocetta", "anna@example.it"), who("sub-bruno", "Balsamo", "bruno@example.it"), who("sub-carla", "Crocetta", "carla@example.it")
		for _, v := range []*Viewer{anna, bruno} {
			if err := s.Subscribe(ctx, v, true, true); err != nil {
				t.Fatal(err)
			}
		}
		// Carla does not opt in; a login without a confirmed address cannot.
		if err := s.Subscribe(ctx, who("sub-nomail", "Crocetta", ""), true, false); problem.KindOf(err) != problem.Invalid {
			t.Fatalf("opting in without an address: %v", err)
		}
		id, err := s.Create(ctx, Input{Title: "Il parco\r\nBcc: tutti@example.it\u2028di Crocetta", Source: testQuestions, MinLevel: "high", ResidentsOnly: true,
			Districts: "Crocetta", OpensAt: time.Now().Add(-time.Hour), ClosesAt: time.Now().Add(time.Hour)}, "office")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Open(ctx, id, "office"); err != nil {
			t.Fatal(err)
		}
		got := outbox(t, d)
		if len(got) != 1 || len(got["anna@example.it"]) != 1 {
			t.Fatalf("after opening a consultation of Crocetta: %v", got)
		}
		subject := got["anna@example.it"][0]
		if strings.ContainsAny(subject, "\r\n\u2028") || !strings.Contains(subject, "Il parco Bcc: tutti@example.it di Crocetta") {
			t.Fatalf("the subject %q", subject)
		}
		// A proposal supported by Anna, Bruno (who then withdrew) and
		// Carla: the answer goes to Anna only.
		pid := newProposal(t, s, "sub-author")
		for _, v := range []*Viewer{anna, bruno, carla} {
			if err := s.Support(ctx, pid, v); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Withdraw(ctx, pid, bruno); err != nil {
			t.Fatal(err)
		}
		if err := s.Decide(ctx, pid, Decision{Status: StatusAccepted, Answer: "La fontanella sarà installata in primavera."}, "office"); err != nil {
			t.Fatal(err)
		}
		got = outbox(t, d)
		if len(got["anna@example.it"]) != 2 || len(got["bruno@example.it"]) != 0 || len(got["carla@example.it"]) != 0 {
			t.Fatalf("after the answer: %v", got)
		}
		// Stopping the notices forgets the address.
		if err := s.Subscribe(ctx, anna, false, false); err != nil {
			t.Fatal(err)
		}
		if sub, _ := s.Subscription(ctx, anna.Subject); sub.Email != "" || sub.Consultations {
			t.Fatalf("after stopping: %+v", sub)
		}
	})
}

func TestMailSubjectText(t *testing.T) {
	for in, want := range map[string]string{
		"Parco\r\nBcc: x@example.it":   "Parco Bcc: x@example.it",
		"  due\t spazi \x00\x7f fine ": "due spazi fine",
		"riga\u2028nuova\u200b!":       "riga nuova !",
	} {
		if got := MailSubjectText(in); got != want {
			t.Errorf("MailSubjectText(%q) = %q, want %q", in, got, want)
		}
	}
	if got := MailSubjectText(strings.Repeat("è", 300)); len([]rune(got)) != 120 {
		t.Errorf("a long title: %d runes", len([]rune(got)))
	}
}
