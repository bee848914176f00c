package segnala_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/mail"
	"github.com/civico-pa/civico/internal/segnala"
	"github.com/civico-pa/civico/internal/throttle"
)

func newStore(d *db.DB) *segnala.Store {
	return &segnala.Store{DB: d, Audit: &audit.Log{DB: d}, Outbox: &mail.Outbox{DB: d}, Limiter: &throttle.Limiter{DB: d, Key: []byte("test")},
		MailBudget: func(addr string) throttle.Key {
			return throttle.ClientKey("mail:", addr, "", throttle.Rule{Free: 1000, Window: time.Hour})
		},
		T: func(lang, id string, args ...any) string { return strings.TrimSpace(id + " " + fmt.Sprintln(args...)) }, BaseURL: "https://comune.example.it"}
}

var good = segnala.Input{Category: "strade", Address: "Via Verdi 3", Description: "Una buca profonda sul lato destro.", Lang: "it", Remote: "192.0.2.1", Privacy: true}

// Each field's rule, with the message beside it.
func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		edit  func(*segnala.Input)
		field string
	}{
		{func(in *segnala.Input) { in.Category = "strade " }, ""},
		{func(in *segnala.Input) { in.Category = "Strade" }, "category"},
		{func(in *segnala.Input) { in.Address = "ab" }, "address"},
		{func(in *segnala.Input) { in.Address = "Via Verdi\n3" }, "address"},
		{func(in *segnala.Input) { in.Address = strings.Repeat("à", 201) }, "address"},
		{func(in *segnala.Input) { in.Description = "  corta   " }, "description"},
		{func(in *segnala.Input) { in.Description = strings.Repeat("x", 4001) }, "description"},
		{func(in *segnala.Input) { in.Description = "buca\xff profonda davvero" }, "description"},
		{func(in *segnala.Input) { in.Email = "a@b" }, "email"},
		{func(in *segnala.Input) { in.Privacy = false }, "privacy"},
	} {
		in := good
		in.Email = "a@example.org"
		tc.edit(&in)
		fe := segnala.Check(&in, true)
		if tc.field == "" && fe != nil || tc.field != "" && fe[tc.field] == "" || len(fe) > 1 {
			t.Errorf("%+v: errors %v, want one on %q", in, fe, tc.field)
		}
	}
}

// A client's reports are bounded: the sixth in a day is refused and
// leaves nothing; another client is not affected.
func TestReportsAreBudgeted(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, ctx := newStore(d), context.Background()
		by := segnala.Reporter{AccountID: "", Email: ""}
		for i := range segnala.ReportRule.Free + 1 {
			in := good
			in.Email = fmt.Sprintf("r%d@example.org", i)
			_, err := s.Create(ctx, in, by)
			if i < segnala.ReportRule.Free && err != nil || i == segnala.ReportRule.Free && err == nil {
				t.Fatalf("report %d: %v", i+1, err)
			}
		}
		in := good
		in.Email, in.Remote = "other@example.org", "198.51.100.7"
		if _, err := s.Create(ctx, in, by); err != nil {
			t.Fatalf("another client: %v", err)
		}
		var n int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM segnala_reports`).Scan(&n); err != nil || n != segnala.ReportRule.Free+1 {
			t.Errorf("%d reports stored (%v)", n, err)
		}
	})
}

// Two clicks on one confirmation link at once publish the report once and
// send one mail of its receipt.
func TestConfirmRace(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, ctx := newStore(d), context.Background()
		in := good
		in.Email = "a@example.org"
		if _, err := s.Create(ctx, in, segnala.Reporter{}); err != nil {
			t.Fatal(err)
		}
		var text string
		if err := d.QueryRowContext(ctx, `SELECT body_text FROM mail_outbox ORDER BY id DESC LIMIT 1`).Scan(&text); err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`token=([A-Za-z0-9_-]+)`).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("no link in %q", text)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for range 8 {
			wg.Go(func() {
				if _, err := s.Confirm(ctx, m[1]); err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				} else if !errors.Is(err, segnala.ErrTokenInvalid) {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		var mails int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM mail_outbox WHERE subject LIKE 'segnala.mail.received%'`).Scan(&mails); err != nil {
			t.Fatal(err)
		}
		if ok != 1 || mails != 1 {
			t.Errorf("%d confirmations succeeded and %d receipts were mailed, want 1 and 1", ok, mails)
		}
		if list, total, err := s.List(ctx, "", 1); err != nil || total != 1 || len(list) != 1 || list[0].Email != "" {
			t.Errorf("public list: %d %v (or it carries the address)", total, err)
		}
	})
}

// The public list stays a page of 20 from a count that stops at 1,000,
// however many reports there are.
func BenchmarkList(b *testing.B) {
	d := dbtest.SQLite(b)
	ctx := context.Background()
	s := newStore(d)
	now := time.Now().UTC()
	for i := range 10000 {
		if _, err := d.ExecContext(ctx, `INSERT INTO segnala_reports (id, category, address, description, status, email, lang, created_at, published_at, updated_at)
			VALUES ($1, 'strade', 'Via Verdi 3', 'Una buca profonda sul lato destro.', 'open', '', 'it', $2, $2, $2)`,
			fmt.Sprintf("%032x", i), now.Add(-time.Duration(i)*time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, total, err := s.List(ctx, "", 3); err != nil || total != segnala.CountCap {
			b.Fatal(total, err)
		}
	}
}
