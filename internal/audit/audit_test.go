package audit_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

func record(t *testing.T, l *audit.Log, n int) {
	t.Helper()
	for i := range n {
		err := l.RecordNow(context.Background(), audit.Entry{
			Actor:   fmt.Sprintf("user:%d", i%3),
			Action:  []string{"login.password.ok", "login.crs.refused", "role.granted"}[i%3],
			Subject: fmt.Sprintf("subject-%d", i),
			Remote:  "192.0.2.7",
			Details: map[string]string{"n": fmt.Sprint(i)},
		})
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
	}
}

func wantBroken(t *testing.T, l *audit.Log, id int64, checked int, reason string) {
	t.Helper()
	n, err := l.Verify(context.Background())
	var be *audit.BrokenError
	if !errors.As(err, &be) {
		t.Fatalf("Verify = %d, %v; want a BrokenError at entry %d", n, err, id)
	}
	if be.ID != id || !strings.Contains(be.Reason, reason) {
		t.Errorf("Verify: %v; want entry %d, %q", err, id, reason)
	}
	if n != checked {
		t.Errorf("Verify checked %d entries before the break at %d, want %d", n, id, checked)
	}
}

func TestChainVerifies(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		l := &audit.Log{DB: d}
		if n, err := l.Verify(ctx); n != 0 || err != nil {
			t.Fatalf("empty log: Verify = %d, %v", n, err)
		}
		if id, h, err := l.Head(ctx); id != 0 || h != audit.GenesisHash || err != nil {
			t.Fatalf("empty log: Head = %d, %s, %v", id, h, err)
		}
		record(t, l, 200)
		n, err := l.Verify(ctx)
		if n != 200 || err != nil {
			t.Fatalf("Verify = %d, %v", n, err)
		}
		recs, err := l.List(ctx, audit.ListFilter{Limit: audit.MaxLimit})
		if err != nil || len(recs) != 200 {
			t.Fatalf("List = %d records, %v", len(recs), err)
		}
		first := recs[len(recs)-1]
		if first.ID != 1 || first.PrevHash != audit.GenesisHash {
			t.Errorf("first entry: id %d, prev_hash %s", first.ID, first.PrevHash)
		}
		for i := 0; i+1 < len(recs); i++ {
			if recs[i].PrevHash != recs[i+1].Hash || recs[i].ID != recs[i+1].ID+1 {
				t.Fatalf("entries %d and %d are not chained", recs[i+1].ID, recs[i].ID)
			}
		}
		// The hash is the one the package documentation defines.
		newest := recs[0]
		if newest.At.Location() != time.UTC || time.Since(newest.At) > time.Minute {
			t.Errorf("at = %v", newest.At)
		}
		details, _ := audit.CanonicalDetails(newest.Details)
		want := audit.Hash(newest.PrevHash, newest.ID, newest.At, newest.Actor, newest.Action, newest.Subject, details, newest.Remote)
		if newest.Hash != want || len(want) != 64 {
			t.Errorf("hash %s, recomputed %s", newest.Hash, want)
		}
		if id, h, err := l.Head(ctx); id != 200 || h != newest.Hash || err != nil {
			t.Errorf("Head = %d, %s, %v", id, h, err)
		}
	})
}

func TestHashFormat(t *testing.T) {
	at := time.Date(2025, 3, 1, 9, 30, 0, 123456000, time.FixedZone("CET", 3600))
	got := audit.Hash(audit.GenesisHash, 1, at, "cli", "role.granted", "user:7", `{"role":"admin"}`, "")
	text := audit.GenesisHash + "\n1\n2025-03-01T08:30:00.123456Z\ncli\nrole.granted\nuser:7\n{\"role\":\"admin\"}\n"
	sum := sha256.Sum256([]byte(text))
	if got != hex.EncodeToString(sum[:]) {
		t.Errorf("Hash = %s, want the SHA-256 of %q", got, text)
	}
	// The same vector computed outside Go: printf '%s' "$text" | sha256sum
	if got != "e46778a063efcbf7eb1565863328cf48eb7183f8ab8435920a53dfd6816c3c41" {
		t.Errorf("Hash = %s, want the fixed vector", got)
	}
}

func TestConcurrentAppendsNeverFork(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		l := &audit.Log{DB: d}
		// A second handle on the same database stands for another process.
		other := &audit.Log{DB: d}
		const n = 50
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				lg := l
				if i%2 == 1 {
					lg = other
				}
				errs <- lg.RecordNow(ctx, audit.Entry{Actor: "system", Action: "test.concurrent", Subject: fmt.Sprint(i)})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("RecordNow: %v", err)
			}
		}
		checked, err := l.Verify(ctx)
		if checked != n || err != nil {
			t.Fatalf("Verify = %d, %v; want %d entries intact", checked, err, n)
		}
		recs, err := l.List(ctx, audit.ListFilter{Action: "test.concurrent", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, r := range recs {
			seen[r.Subject] = true
		}
		if len(seen) != n {
			t.Errorf("%d distinct subjects recorded, want %d", len(seen), n)
		}
	})
}

// Two database handles with pools of their own, as two civico processes
// sharing one database have.
func TestConcurrentAppendsFromTwoProcesses(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			h := dbtest.Handles(t, dialect, 2)
			first, second := h[0], h[1]
			logs := []*audit.Log{{DB: first}, {DB: second}}
			var wg sync.WaitGroup
			errs := make(chan error, 60)
			for i := range 60 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- logs[i%2].RecordNow(ctx, audit.Entry{Actor: "system", Action: "test.processes", Subject: fmt.Sprint(i)})
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Errorf("RecordNow: %v", err)
				}
			}
			if checked, err := logs[1].Verify(ctx); checked != 60 || err != nil {
				t.Fatalf("Verify = %d, %v", checked, err)
			}
		})
	}
}

func TestRecordRollsBackWithTheAction(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		l := &audit.Log{DB: d}
		boom := errors.New("the action failed")
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			if err := l.Record(ctx, tx, audit.Entry{Actor: "operator:1", Action: "role.granted", Subject: "user:9"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Tx = %v", err)
		}
		if n, err := l.Verify(ctx); n != 0 || err != nil {
			t.Fatalf("after rollback: Verify = %d, %v", n, err)
		}
		// The chain goes on from where it was.
		err = d.Tx(ctx, func(tx *sql.Tx) error {
			return l.Record(ctx, tx, audit.Entry{Actor: "operator:1", Action: "role.granted", Subject: "user:9"})
		})
		if err != nil {
			t.Fatal(err)
		}
		recs, err := l.List(ctx, audit.ListFilter{})
		if err != nil || len(recs) != 1 || recs[0].ID != 1 || recs[0].PrevHash != audit.GenesisHash {
			t.Fatalf("List = %+v, %v", recs, err)
		}
		if err := l.RecordNow(ctx, audit.Entry{Actor: "", Action: "x"}); !errors.Is(err, audit.ErrInvalidEntry) {
			t.Errorf("entry without actor: %v", err)
		}
	})
}

func TestTamperingIsDetected(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		l := &audit.Log{DB: d}
		record(t, l, 10)
		if _, err := d.ExecContext(ctx, `UPDATE audit_log SET action = 'login.crs.ok' WHERE id = 4`); err != nil {
			t.Fatal(err)
		}
		wantBroken(t, l, 4, 3, "hash does not match")
	})
}

func TestRecomputedHashBreaksTheNextLink(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		l := &audit.Log{DB: d}
		record(t, l, 6)
		recs, err := l.List(ctx, audit.ListFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		r := recs[len(recs)-3] // id 3
		details, _ := audit.CanonicalDetails(r.Details)
		forged := audit.Hash(r.PrevHash, r.ID, r.At, "user:666", r.Action, r.Subject, details, r.Remote)
		if _, err := d.ExecContext(ctx, `UPDATE audit_log SET actor = 'user:666', hash = $1 WHERE id = $2`, forged, r.ID); err != nil {
			t.Fatal(err)
		}
		wantBroken(t, l, 4, 3, "prev_hash")
	})
}

func TestDeletionIsDetected(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		l := &audit.Log{DB: d}
		record(t, l, 10)
		if _, err := d.ExecContext(ctx, `DELETE FROM audit_log WHERE id = 6`); err != nil {
			t.Fatal(err)
		}
		wantBroken(t, l, 7, 5, "entry 6 is missing")
		if _, err := d.ExecContext(ctx, `DELETE FROM audit_log WHERE id <= 2`); err != nil {
			t.Fatal(err)
		}
		checked, err := l.Verify(ctx)
		var be *audit.BrokenError
		if !errors.As(err, &be) || be.ID != 3 || checked != 0 {
			t.Errorf("first entries removed: Verify = %d, %v", checked, err)
		}
	})
}

func TestFieldsAndDetailsAreCanonical(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		l := &audit.Log{DB: d}
		details := map[string]string{
			"zeta":        "ultimo",
			"città":       "Cinisello Balsamo — Comune",
			"html":        `<script>alert("x")</script> & co`,
			"newline":     "riga 1\nriga 2\t\x00fine",
			"emoji":       "👍🏽",
			"bad utf-8":   "a\xffb",
			"Maiuscola":   "prima delle minuscole",
			"":            "chiave vuota",
			"backslash\\": `C:\percorso`,
		}
		err := l.RecordNow(ctx, audit.Entry{
			Actor:   "user:1",
			Action:  "login.password.refused",
			Subject: "mario.rossi@example.it\r\nForged: entry",
			Remote:  "2001:db8::1",
			Details: details,
		})
		if err != nil {
			t.Fatal(err)
		}
		var stored, subject string
		if err := d.QueryRowContext(ctx, `SELECT details, subject FROM audit_log WHERE id = 1`).Scan(&stored, &subject); err != nil {
			t.Fatal(err)
		}
		const want = `{"":"chiave vuota","Maiuscola":"prima delle minuscole","backslash\\":"C:\\percorso","bad utf-8":"a�b",` +
			`"città":"Cinisello Balsamo — Comune","emoji":"👍🏽","html":"<script>alert(\"x\")</script> & co",` +
			`"newline":"riga 1\nriga 2\t\u0000fine","zeta":"ultimo"}`
		if stored != want {
			t.Errorf("details stored as\n%s\nwant\n%s", stored, want)
		}
		if subject != "mario.rossi@example.it\uFFFD\uFFFDForged: entry" {
			t.Errorf("subject stored as %q", subject)
		}
		if n, err := l.Verify(ctx); n != 1 || err != nil {
			t.Fatalf("Verify = %d, %v", n, err)
		}
		recs, err := l.List(ctx, audit.ListFilter{})
		if err != nil || len(recs) != 1 {
			t.Fatalf("List = %v, %v", recs, err)
		}
		if recs[0].Details["città"] != details["città"] || recs[0].Details["newline"] != details["newline"] {
			t.Errorf("details read back as %q", recs[0].Details)
		}
		// A newline smuggled into a field by hand breaks the chain even if
		// the hash is recomputed to match.
		r := recs[0]
		c, _ := audit.CanonicalDetails(r.Details)
		forged := audit.Hash(r.PrevHash, r.ID, r.At, r.Actor, "x\ny", r.Subject, c, r.Remote)
		if _, err := d.ExecContext(ctx, `UPDATE audit_log SET action = $1, hash = $2 WHERE id = 1`, "x\ny", forged); err != nil {
			t.Fatal(err)
		}
		wantBroken(t, l, 1, 0, "control characters")
	})
}

func TestLongFieldsAreCut(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {

		ctx := context.Background()
		l := &audit.Log{DB: d}
		long := strings.Repeat("è", audit.MaxField) // 2 bytes each
		if err := l.RecordNow(ctx, audit.Entry{Actor: "system", Action: "test.long", Subject: long, Details: map[string]string{"k": long}}); err != nil {
			t.Fatal(err)
		}
		recs, err := l.List(ctx, audit.ListFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs[0].Subject) != audit.MaxField || len(recs[0].Details["k"]) != audit.MaxField {
			t.Errorf("subject %d bytes, detail %d bytes, want %d", len(recs[0].Subject), len(recs[0].Details["k"]), audit.MaxField)
		}
		if n, err := l.Verify(ctx); n != 1 || err != nil {
			t.Errorf("Verify = %d, %v", n, err)
		}
	})
}

func TestListFiltersAndPages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		l := &audit.Log{DB: d}
		record(t, l, 30) // actors user:0..2, actions cycling with them
		recs, err := l.List(ctx, audit.ListFilter{Actor: "user:1", Limit: 4})
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, r := range recs {
			if r.Actor != "user:1" || r.Action != "login.crs.refused" {
				t.Errorf("filtered entry %+v", r)
			}
			ids = append(ids, r.ID)
		}
		if fmt.Sprint(ids) != "[29 26 23 20]" {
			t.Errorf("first page ids %v", ids)
		}
		recs, err = l.List(ctx, audit.ListFilter{Actor: "user:1", Limit: 4, BeforeID: 20})
		if err != nil || len(recs) != 4 || recs[0].ID != 17 {
			t.Errorf("second page: %v, %v", recs, err)
		}
		recs, err = l.List(ctx, audit.ListFilter{Action: "role.granted", Subject: "subject-5"})
		if err != nil || len(recs) != 1 || recs[0].ID != 6 || recs[0].Details["n"] != "5" || recs[0].Remote != "192.0.2.7" {
			t.Errorf("by action and subject: %+v, %v", recs, err)
		}
		recs, err = l.List(ctx, audit.ListFilter{})
		if err != nil || len(recs) != 30 {
			t.Errorf("default limit: %d, %v", len(recs), err)
		}
		recs, err = l.List(ctx, audit.ListFilter{Actor: "nobody"})
		if err != nil || len(recs) != 0 {
			t.Errorf("no match: %v, %v", recs, err)
		}
		// By a detail's exact value: "1" is not "12" nor "21", and a
		// LIKE wildcard in the value matches only itself.
		recs, err = l.List(ctx, audit.ListFilter{DetailKey: "n", DetailValue: "1"})
		if err != nil || len(recs) != 1 || recs[0].ID != 2 {
			t.Errorf("by detail: %+v, %v", recs, err)
		}
		recs, err = l.List(ctx, audit.ListFilter{DetailKey: "n", DetailValue: "_"})
		if err != nil || len(recs) != 0 {
			t.Errorf("by a wildcard detail: %+v, %v", recs, err)
		}
	})
}
