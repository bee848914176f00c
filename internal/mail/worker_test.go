package mail

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/mail/mailtest"
)

// clock is a fake Now, starting an hour after the real time so that
// messages enqueued during the test, however slow, are due.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Now().UTC().Add(time.Hour).Truncate(time.Microsecond)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func enqueue(t *testing.T, d *db.DB, m Message) int64 {
	t.Helper()
	var id int64
	err := d.Tx(context.Background(), func(tx *sql.Tx) error {
		var err error
		id, err = (&Outbox{DB: d}).Enqueue(context.Background(), tx, m)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func get(t *testing.T, d *db.DB, id int64) Stored {
	t.Helper()
	s, err := (&Outbox{DB: d}).Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newWorker(t *testing.T, d *db.DB, srv *mailtest.Server, c *clock) *Worker {
	t.Helper()
	s, err := NewSMTPSender(srv.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	return &Worker{Outbox: &Outbox{DB: d}, Sender: s, From: testFrom, Now: c.Now}
}

func deliver(t *testing.T, w *Worker, wantSent, wantFailed int) {
	t.Helper()
	sent, failed, err := w.DeliverDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sent != wantSent || failed != wantFailed {
		t.Fatalf("DeliverDue = %d sent, %d failed; want %d, %d", sent, failed, wantSent, wantFailed)
	}
}

func TestCommittedMessageIsDelivered(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		srv := mailtest.Start(t)
		c := newClock()
		w := newWorker(t, d, srv, c)
		id := enqueue(t, d, Message{To: "mario.rossi@example.it", Subject: testSubject, Text: testText, HTML: "<p>Verifica</p>"})
		if s := get(t, d, id); s.Status != Pending || s.Attempts != 0 || s.To != "mario.rossi@example.it" {
			t.Fatalf("enqueued: %+v", s)
		}
		deliver(t, w, 1, 0)
		got := srv.WaitFor(t, 1, 5*time.Second)[0]
		if got.Subject != testSubject || got.Text != testText || got.HTML != "<p>Verifica</p>" {
			t.Errorf("received subject %q, text %q, html %q", got.Subject, got.Text, got.HTML)
		}
		s := get(t, d, id)
		if s.Status != Sent || s.Attempts != 1 || !s.SentAt.Equal(c.Now()) || !s.LeaseUntil.IsZero() || s.LastError != "" {
			t.Errorf("after delivery: %+v", s)
		}
		if want := MessageID(s.MessageID, testFrom); got.Header.Get("Message-ID") != want || !strings.HasSuffix(want, "@comune.cinisello-balsamo.mi.it>") {
			t.Errorf("Message-ID %q, want %q", got.Header.Get("Message-ID"), want)
		}
		// Nothing is sent twice.
		deliver(t, w, 0, 0)
		if n := srv.Attempts(); n != 1 {
			t.Errorf("%d deliveries", n)
		}
	})
}

func TestRolledBackMessageIsNotSent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		srv := mailtest.Start(t)
		w := newWorker(t, d, srv, newClock())
		boom := errors.New("the registration failed")
		var id int64
		err := d.Tx(context.Background(), func(tx *sql.Tx) error {
			var err error
			if id, err = w.Outbox.Enqueue(context.Background(), tx, Message{To: "a@example.it", Subject: "Benvenuto", Text: "ciao"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) || id == 0 {
			t.Fatalf("Tx = %v, id %d", err, id)
		}
		deliver(t, w, 0, 0)
		if _, err := w.Outbox.Get(context.Background(), id); !errors.Is(err, ErrNotFound) {
			t.Errorf("the rolled-back message is stored: %v", err)
		}
		if n := srv.Attempts(); n != 0 {
			t.Errorf("%d deliveries", n)
		}
	})
}

func TestTemporaryFailuresAreRetriedWithBackoff(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		srv := mailtest.StartWith(t, mailtest.Options{TempFailures: 2})
		c := newClock()
		w := newWorker(t, d, srv, c)
		id := enqueue(t, d, Message{To: "a@example.it", Subject: testSubject, Text: testText})

		t0 := c.Now()
		deliver(t, w, 0, 1)
		s := get(t, d, id)
		if s.Status != Pending || s.Attempts != 1 || !s.NextAttemptAt.Equal(t0.Add(time.Minute)) || !strings.Contains(s.LastError, "451") {
			t.Fatalf("after the first failure: %+v", s)
		}
		c.Add(59 * time.Second)
		deliver(t, w, 0, 0) // not due yet
		c.Add(time.Second)
		deliver(t, w, 0, 1)
		s = get(t, d, id)
		if s.Status != Pending || s.Attempts != 2 || !s.NextAttemptAt.Equal(c.Now().Add(5*time.Minute)) {
			t.Fatalf("after the second failure: %+v", s)
		}
		c.Add(5 * time.Minute)
		deliver(t, w, 1, 0)
		s = get(t, d, id)
		if s.Status != Sent || s.Attempts != 3 || s.LastError != "" || !s.SentAt.Equal(c.Now()) {
			t.Errorf("after delivery: %+v", s)
		}
		if got := srv.WaitFor(t, 1, 5*time.Second); len(got) != 1 || got[0].Subject != testSubject || srv.Attempts() != 3 {
			t.Errorf("%d messages after %d attempts", len(got), srv.Attempts())
		}
	})
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		srv := mailtest.StartWith(t, mailtest.Options{TempFailures: 1000})
		c := newClock()
		w := newWorker(t, d, srv, c)
		w.MaxAttempts = 3
		w.Backoff = func(attempt int) time.Duration { return time.Duration(attempt) * time.Minute }
		id := enqueue(t, d, Message{To: "a@example.it", Subject: "Prova", Text: "ciao"})
		for range 3 {
			deliver(t, w, 0, 1)
			c.Add(time.Hour)
		}
		s := get(t, d, id)
		if s.Status != Failed || s.Attempts != 3 || !strings.Contains(s.LastError, "451") {
			t.Fatalf("after the last attempt: %+v", s)
		}
		deliver(t, w, 0, 0)
		if n := srv.Attempts(); n != 3 {
			t.Errorf("%d deliveries, want 3", n)
		}
	})
}

func TestDefaultBackoff(t *testing.T) {
	want := []time.Duration{time.Minute, time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 6 * time.Hour, 6 * time.Hour, 6 * time.Hour}
	for i, w := range want {
		if got := DefaultBackoff(i); got != w {
			t.Errorf("DefaultBackoff(%d) = %v, want %v", i, got, w)
		}
	}
}

// countingSender counts the sends of each Message-ID and is slow enough for
// workers to overlap.
type countingSender struct {
	next  Sender
	mu    sync.Mutex
	sends map[string]int
}

func (c *countingSender) Send(ctx context.Context, from string, m Message, id string) error {
	c.mu.Lock()
	c.sends[id]++
	c.mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	return c.next.Send(ctx, from, m, id)
}

func checkEachOnce(t *testing.T, srv *mailtest.Server, counter *countingSender, n int, sent int) {
	t.Helper()
	if sent != n {
		t.Errorf("the workers sent %d messages, want %d", sent, n)
	}
	got := srv.WaitFor(t, n, 10*time.Second)
	ids := map[string]int{}
	for _, m := range got {
		ids[m.Header.Get("Message-ID")]++
	}
	if len(got) != n || len(ids) != n {
		t.Errorf("%d messages received, %d distinct; want %d", len(got), len(ids), n)
	}
	for id, k := range counter.sends {
		if k != 1 {
			t.Errorf("%s sent %d times", id, k)
		}
	}
}

func runWorkers(t *testing.T, workers []*Worker) int {
	t.Helper()
	var wg sync.WaitGroup
	var total atomic.Int64
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent, failed, err := w.DeliverDue(context.Background())
			if err != nil || failed != 0 {
				t.Errorf("DeliverDue: %d failed, %v", failed, err)
			}
			total.Add(int64(sent))
		}()
	}
	wg.Wait()
	return int(total.Load())
}

func TestConcurrentWorkersSendEachMessageOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		srv := mailtest.Start(t)
		c := newClock()
		const n = 3*batchSize + 7
		for i := range n {
			enqueue(t, d, Message{To: fmt.Sprintf("utente%d@example.it", i), Subject: "Prova", Text: "ciao"})
		}
		counter := &countingSender{next: newWorker(t, d, srv, c).Sender, sends: map[string]int{}}
		var workers []*Worker
		for range 2 {
			w := newWorker(t, d, srv, c)
			w.Sender = counter
			workers = append(workers, w)
		}
		checkEachOnce(t, srv, counter, n, runWorkers(t, workers))
	})
}

// Two database handles with pools of their own, as two civico processes
// sharing one database have.
func TestWorkersInTwoProcessesSendEachMessageOnce(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			h := dbtest.Handles(t, dialect, 2)
			first, second := h[0], h[1]
			srv := mailtest.Start(t)
			c := newClock()
			const n = 2*batchSize + 3
			for i := range n {
				enqueue(t, first, Message{To: fmt.Sprintf("utente%d@example.it", i), Subject: "Prova", Text: "ciao"})
			}
			counter := &countingSender{next: newWorker(t, first, srv, c).Sender, sends: map[string]int{}}
			var workers []*Worker
			for _, d := range []*db.DB{first, second, first, second} {
				w := newWorker(t, d, srv, c)
				w.Sender = counter
				workers = append(workers, w)
			}
			checkEachOnce(t, srv, counter, n, runWorkers(t, workers))
		})
	}
}

func TestExpiredLeaseIsReclaimed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		srv := mailtest.Start(t)
		c := newClock()
		id := enqueue(t, d, Message{To: "a@example.it", Subject: "Prova", Text: "ciao"})

		// A worker claims the message and dies before sending it.
		dead := newWorker(t, d, srv, c)
		dead.Lease = 2 * time.Minute
		claimed, err := dead.claim(ctx)
		if err != nil || len(claimed) != 1 || claimed[0].id != id {
			t.Fatalf("claim = %v, %v", claimed, err)
		}
		if s := get(t, d, id); s.Status != Sending || !s.LeaseUntil.Equal(c.Now().Add(2*time.Minute)) || s.Attempts != 1 {
			t.Fatalf("claimed: %+v", s)
		}

		other := newWorker(t, d, srv, c)
		c.Add(time.Minute)
		deliver(t, other, 0, 0) // still leased
		c.Add(time.Minute)
		deliver(t, other, 1, 0)
		s := get(t, d, id)
		if s.Status != Sent || s.Attempts != 2 {
			t.Errorf("after the reclaim: %+v", s)
		}
		// The first worker coming back late does not overwrite the outcome.
		if _, err := dead.finish(ctx, claimed[0], errors.New("late failure")); err != nil {
			t.Fatal(err)
		}
		if s := get(t, d, id); s.Status != Sent || s.LastError != "" {
			t.Errorf("after the late outcome: %+v", s)
		}
		if n := len(srv.WaitFor(t, 1, 5*time.Second)); n != 1 {
			t.Errorf("%d messages", n)
		}
	})
}

func TestInterruptedLastAttemptFails(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		srv := mailtest.Start(t)
		c := newClock()
		id := enqueue(t, d, Message{To: "a@example.it", Subject: "Prova", Text: "ciao"})
		w := newWorker(t, d, srv, c)
		w.MaxAttempts = 1
		if claimed, err := w.claim(ctx); err != nil || len(claimed) != 1 {
			t.Fatalf("claim = %v, %v", claimed, err)
		}
		c.Add(w.lease() + time.Second)
		deliver(t, w, 0, 0)
		if s := get(t, d, id); s.Status != Failed || !strings.Contains(s.LastError, "interrupted") {
			t.Errorf("after an interrupted last attempt: %+v", s)
		}
		if n := srv.Attempts(); n != 0 {
			t.Errorf("%d deliveries", n)
		}
	})
}

// blockingSender waits for its context to end.
type blockingSender struct{ started chan struct{} }

func (b *blockingSender) Send(ctx context.Context, _ string, _ Message, _ string) error {
	close(b.started)
	<-ctx.Done()
	return ctx.Err()
}

func TestShutdownHandsMessagesBack(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		srv := mailtest.Start(t)
		c := newClock()
		var ids []int64
		for i := range 3 {
			ids = append(ids, enqueue(t, d, Message{To: fmt.Sprintf("u%d@example.it", i), Subject: "Prova", Text: "ciao"}))
		}
		w := newWorker(t, d, srv, c)
		bs := &blockingSender{started: make(chan struct{})}
		w.Sender = bs
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			w.Run(ctx)
		}()
		select {
		case <-bs.started:
		case <-time.After(10 * time.Second):
			cancel()
			<-done
			t.Fatal("the worker did not start sending")
		}
		cancel()
		<-done
		for _, id := range ids {
			if s := get(t, d, id); s.Status != Pending || s.Attempts != 0 || !s.LeaseUntil.IsZero() {
				t.Errorf("message %d after shutdown: %+v", id, s)
			}
		}
		// Another worker sends them all at once.
		deliver(t, newWorker(t, d, srv, c), 3, 0)
	})
}

func TestEnqueueRefusesHeaderInjection(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		o := &Outbox{DB: d}
		bad := []struct {
			field string
			m     Message
		}{
			{"To", Message{To: "a@example.it\r\nBcc: victim@example.org", Subject: "x", Text: "y"}},
			{"To", Message{To: "a@example.it\nBcc: victim@example.org", Subject: "x", Text: "y"}},
			{"To", Message{To: "a@example.it, b@example.org", Subject: "x", Text: "y"}},
			{"To", Message{To: "Mario Rossi <a@example.it>", Subject: "x", Text: "y"}},
			{"To", Message{To: "<a@example.it>", Subject: "x", Text: "y"}},
			{"To", Message{To: `"a b"@example.it`, Subject: "x", Text: "y"}},
			{"To", Message{To: "a@example.it (commento)", Subject: "x", Text: "y"}},
			{"To", Message{To: "mario@città.it", Subject: "x", Text: "y"}},
			{"To", Message{To: "not-an-address", Subject: "x", Text: "y"}},
			{"To", Message{To: "", Subject: "x", Text: "y"}},
			{"To", Message{To: " a@example.it", Subject: "x", Text: "y"}},
			{"Subject", Message{To: "a@example.it", Subject: "Ciao\r\nBcc: victim@example.org", Text: "y"}},
			{"Subject", Message{To: "a@example.it", Subject: "Ciao\nX-Injected: 1", Text: "y"}},
			{"Subject", Message{To: "a@example.it", Subject: "Ciao\rX-Injected: 1", Text: "y"}},
			{"Subject", Message{To: "a@example.it", Subject: "", Text: "y"}},
			{"Subject", Message{To: "a@example.it", Subject: strings.Repeat("x", MaxSubject+1), Text: "y"}},
			{"Subject", Message{To: "a@example.it", Subject: "bad \xff utf-8", Text: "y"}},
			{"Text", Message{To: "a@example.it", Subject: "x", Text: ""}},
			{"Text", Message{To: "a@example.it", Subject: "x", Text: "nul\x00"}},
			{"HTML", Message{To: "a@example.it", Subject: "x", Text: "y", HTML: "\xff"}},
		}
		err := d.Tx(context.Background(), func(tx *sql.Tx) error {
			for _, b := range bad {
				_, err := o.Enqueue(context.Background(), tx, b.m)
				var ie *InvalidError
				if !errors.As(err, &ie) || !errors.Is(err, ErrInvalid) || ie.Field != b.field {
					t.Errorf("Enqueue(%q, %q) = %v, want an InvalidError on %s", b.m.To, b.m.Subject, err, b.field)
				}
			}
			// A body may hold any text, line breaks included.
			_, err := o.Enqueue(context.Background(), tx, Message{To: "a@example.it", Subject: "Oggetto — àèìòù", Text: "Bcc: nobody\r\n\r\ntesto", HTML: "<p>x</p>"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM mail_outbox`).Scan(&n); err != nil || n != 1 {
			t.Errorf("%d messages stored (%v), want 1", n, err)
		}
	})
}

func TestPurge(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		srv := mailtest.Start(t)
		c := newClock()
		w := newWorker(t, d, srv, c)
		sent := enqueue(t, d, Message{To: "a@example.it", Subject: "Prova", Text: "ciao"})
		deliver(t, w, 1, 0)
		pending := enqueue(t, d, Message{To: "b@example.it", Subject: "Prova", Text: "ciao"})
		n, err := w.Outbox.Purge(context.Background(), time.Now().Add(time.Minute))
		if err != nil || n != 1 {
			t.Fatalf("Purge = %d, %v", n, err)
		}
		if _, err := w.Outbox.Get(context.Background(), sent); !errors.Is(err, ErrNotFound) {
			t.Errorf("the sent message is still there: %v", err)
		}
		if s := get(t, d, pending); s.Status != Pending {
			t.Errorf("pending message: %+v", s)
		}
	})
}

func BenchmarkEnqueue(b *testing.B) {
	d := dbtest.SQLite(b)
	o := &Outbox{DB: d}
	ctx := context.Background()
	m := Message{To: "mario.rossi@example.it", Subject: testSubject, Text: testText}
	b.ReportAllocs()
	for b.Loop() {
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			_, err := o.Enqueue(ctx, tx, m)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
