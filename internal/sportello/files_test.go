package sportello

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/civico-pa/civico/internal/attachments"
	"github.com/civico-pa/civico/internal/attachments/attachmentstest"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/problem"
	tokens "github.com/civico-pa/civico/internal/token"
)

func newAttachments(t testing.TB, d *db.DB) *Attachments {
	return &Attachments{DB: d, Store: attachments.NewStore(d, t.TempDir(), nil)}
}

// An upload is its account's until attached; then only the application
// opens it. Another account, another application: not found.
func TestAttachmentsOwnership(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newAttachments(t, d)
		pdf := attachmentstest.PDF("Libretto")
		info, err := f.Put(ctx, "acc-1", "libretto.pdf", bytes.NewReader(pdf))
		if err != nil || info.MediaType != "application/pdf" || info.Filename != "libretto.pdf" {
			t.Fatalf("Put = %+v, %v", info, err)
		}
		if _, err := f.Info(ctx, info.ID, "acc-2"); problem.KindOf(err) != problem.NotFound {
			t.Fatalf("another account's Info: %v", err)
		}
		if _, err := f.Put(ctx, "acc-1", "x.pdf", bytes.NewReader(attachmentstest.EXE())); f.Refusal(err) != "upload_type" {
			t.Fatalf("a program: %v (%q)", err, f.Refusal(err))
		}
		if _, err := f.Put(ctx, "acc-1", "x.docx", bytes.NewReader(attachmentstest.DOCX("x"))); f.Refusal(err) != "upload_type" {
			t.Fatalf("a DOCX, which the Sportello does not take: %v", err)
		}
		app, other := tokens.ID(), tokens.ID()
		attach := func(account string) error {
			return d.Tx(ctx, func(tx *sql.Tx) error { return f.Attach(ctx, tx, info.ID, account, app) })
		}
		if err := attach("acc-2"); problem.KindOf(err) != problem.NotFound {
			t.Fatalf("another account attaching it: %v", err)
		}
		if err := attach("acc-1"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Info(ctx, info.ID, "acc-1"); problem.KindOf(err) != problem.NotFound {
			t.Fatalf("attached, still the account's: %v", err)
		}
		if err := attach("acc-1"); problem.KindOf(err) != problem.NotFound {
			t.Fatalf("attached twice: %v", err)
		}
		if _, _, err := f.Open(ctx, other, info.ID); problem.KindOf(err) != problem.NotFound {
			t.Fatalf("opened as another application: %v", err)
		}
		r, got, err := f.Open(ctx, app, info.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(r); err != nil || !bytes.Equal(buf.Bytes(), pdf) || got.ID != info.ID {
			t.Fatalf("the application's file: %v", err)
		}
	})
}

// BenchmarkUploadAttach measures a resident's 1 MiB PDF received (checked
// by its content, stored, recorded as theirs) and attached to an
// application in a transaction: the figure is MiB/s.
func BenchmarkUploadAttach(b *testing.B) {
	dbtest.EachB(b, func(b *testing.B, d *db.DB) {
		ctx := context.Background()
		f := newAttachments(b, d)
		b.SetBytes(1 << 20)
		b.ResetTimer()
		for i := range b.N {
			b.StopTimer()
			pdf := attachmentstest.PaddedPDF(fmt.Sprintf("Libretto %d", i), 1<<20)
			b.StartTimer()
			info, err := f.Put(ctx, "acc-1", "libretto.pdf", bytes.NewReader(pdf))
			if err != nil {
				b.Fatal(err)
			}
			if err := d.Tx(ctx, func(tx *sql.Tx) error { return f.Attach(ctx, tx, info.ID, "acc-1", tokens.ID()) }); err != nil {
				b.Fatal(err)
			}
		}
	})
}
