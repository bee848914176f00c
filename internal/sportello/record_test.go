package sportello

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// TestRecordIsTheThreeReaders: Record's one statement reads an
// application's files, steps and messages as Documents, History and
// Messages read them, order and values, ties in time included, and
// another application's rows not at all.
func TestRecordIsTheThreeReaders(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newTestStore(t, d)
		ctx := context.Background()
		a, _ := draft(t, s, 1)
		other, _ := draft(t, s, 2)
		if rec, err := s.Record(ctx, a.ID); err != nil || rec.History != nil || rec.Messages != nil || rec.Documents != nil {
			t.Fatalf("an application with nothing: %+v %v", rec, err)
		}
		at := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
		for _, app := range []string{a.ID, other.ID} {
			for i, act := range []string{"register", "take", "request_integration"} {
				if _, err := d.ExecContext(ctx, `INSERT INTO sportello_history (application_id, at, action, from_state, to_state, actor, actor_id, note)
					VALUES ($1, $2, $3, 'submitted', 'registered', 'office', 'op1', $4)`, app, at.Add(-time.Duration(i)*time.Minute), act, "nota "+act); err != nil {
					t.Fatal(err)
				}
			}
			for i, id := range []string{"m2", "m1", "m3"} {
				if _, err := d.ExecContext(ctx, `INSERT INTO sportello_messages (id, application_id, at, from_office, author_id, kind, body)
					VALUES ($1, $2, $3, $4, 'op1', 'message', $5)`, app+id, app, at, i%2 == 0, "testo <"+id+">"); err != nil {
					t.Fatal(err)
				}
			}
			for i, id := range []string{"d2", "d1"} {
				if _, err := d.ExecContext(ctx, `INSERT INTO sportello_documents (id, application_id, attachment_id, kind, field, filename, media_type, size, sha256, from_office, protocol, at)
					VALUES ($1, $2, $3, 'answer', 'allegato', 'carta d''identità.pdf', 'application/pdf', $4, 'abc', $5, '2026/0000123', $6)`,
					app+id, app, "att-"+id, 1000+i, i == 0, at.Add(time.Duration(i)*time.Second)); err != nil {
					t.Fatal(err)
				}
			}
		}
		rec, err := s.Record(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		hist, err := s.History(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := s.Messages(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := s.Documents(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != 3 || len(msgs) != 3 || len(docs) != 2 {
			t.Fatalf("the readers: %d steps, %d messages, %d files", len(hist), len(msgs), len(docs))
		}
		if !reflect.DeepEqual(rec.History, hist) {
			t.Errorf("steps:\n%+v\nwant\n%+v", rec.History, hist)
		}
		if !reflect.DeepEqual(rec.Messages, msgs) {
			t.Errorf("messages:\n%+v\nwant\n%+v", rec.Messages, msgs)
		}
		if !reflect.DeepEqual(rec.Documents, docs) {
			t.Errorf("files:\n%+v\nwant\n%+v", rec.Documents, docs)
		}
	})
}
