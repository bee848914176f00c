package forms

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/attachments"

	"github.com/civico-pa/civico/internal/attachments/attachmentstest"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// failingAudit refuses every event, so the transaction it is in fails late.
type failingAudit struct{}

func (failingAudit) Write(context.Context, *sql.Tx, audit.Entry) error {
	return errors.New("audit log unavailable")
}

var testServices = Services(func(context.Context) ([]Service, error) {
	return []Service{{ID: "iscrizione-asilo-nido", Title: "Iscrizione all'asilo nido"}, {ID: "accesso-atti", Title: "Accesso agli atti"}}, nil
})

func newStore(t testing.TB, d *db.DB) *Store {
	t.Helper()
	return NewStore(d, t.TempDir(), &audit.Log{DB: d}, testServices)
}

var operator = Actor{AccountID: "0123456789abcdef0123456789abcdef", Remote: "192.0.2.1"}

func stage(t testing.TB, s *Store, data []byte, name string) *Staged {
	t.Helper()
	st, err := s.Stage(context.Background(), bytes.NewReader(data), name)
	if err != nil {
		t.Fatalf("Stage(%s): %v", name, err)
	}
	return st
}

func hashOf(b []byte) string { sum := sha256.Sum256(b); return hex.EncodeToString(sum[:]) }

// filesOnDisk lists the stored files (by hash) and the temporary ones.
func filesOnDisk(t testing.TB, s *Store) (stored, temps []string) {
	return attachmentstest.OnDisk(s.Dir)
}

func count(t testing.TB, d *db.DB, table string) int {
	t.Helper()
	var n int
	if err := d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestVersionsAreKept(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(t, d)
		v1, v2 := attachmentstest.PDF("versione 1"), attachmentstest.DOCX("versione 2")
		f, err := s.Create(ctx, NewForm{ServiceID: "iscrizione-asilo-nido", Title: "  Domanda di iscrizione  ", Description: "Per l'anno 2026/27"},
			stage(t, s, v1, "Domanda iscrizione.pdf"), operator)
		if err != nil {
			t.Fatal(err)
		}
		if f.Title != "Domanda di iscrizione" || f.Latest.Number != 1 || f.Latest.Filename != "Domanda-iscrizione.pdf" || f.Latest.SHA256 != hashOf(v1) ||
			f.Latest.MediaType != "application/pdf" || f.Latest.Size != int64(len(v1)) {
			t.Fatalf("created %+v, latest %+v", f, f.Latest)
		}
		if len(f.ID) != 32 {
			t.Errorf("form id %q is not 128 random bits", f.ID)
		}
		v, err := s.AddVersion(ctx, f.ID, stage(t, s, v2, "domanda.docx"), "nuove tariffe", operator)
		if err != nil {
			t.Fatal(err)
		}
		if v.Number != 2 || v.MediaType != attachments.DOCX.MediaType || v.Note != "nuove tariffe" {
			t.Errorf("second version %+v", v)
		}
		got, err := s.Get(ctx, f.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Versions) != 2 || got.Versions[0].Number != 2 || got.Versions[1].Number != 1 || got.Latest.Number != 2 {
			t.Fatalf("versions %+v", got.Versions)
		}
		listed, err := s.ForService(ctx, "iscrizione-asilo-nido")
		if err != nil || len(listed) != 1 || listed[0].Latest.Number != 2 || listed[0].Latest.SHA256 != hashOf(v2) {
			t.Fatalf("ForService = %+v, %v", listed, err)
		}
		if other, _ := s.ForService(ctx, "accesso-atti"); len(other) != 0 {
			t.Errorf("another service lists %d forms", len(other))
		}
		for n, want := range map[int][]byte{1: v1, 2: v2, 0: v2} {
			_, v, err := s.Version(ctx, f.ID, n)
			if err != nil {
				t.Fatal(err)
			}
			file, err := s.Open(v)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(file)
			file.Close()
			if !bytes.Equal(b, want) {
				t.Errorf("version %d: other bytes", n)
			}
		}
		// Archived: out of the lists, every version still reachable.
		if err := s.SetArchived(ctx, f.ID, true, operator); err != nil {
			t.Fatal(err)
		}
		if listed, _ := s.ForService(ctx, "iscrizione-asilo-nido"); len(listed) != 0 {
			t.Errorf("an archived form is listed")
		}
		if all, _ := s.List(ctx); len(all) != 1 || !all[0].Archived {
			t.Errorf("back-office list %+v", all)
		}
		if fm, v, err := s.Version(ctx, f.ID, 1); err != nil || !fm.Archived || v.Number != 1 {
			t.Errorf("archived version 1: %v", err)
		}
		if err := s.SetArchived(ctx, f.ID, false, operator); err != nil {
			t.Fatal(err)
		}
		if listed, _ := s.ForService(ctx, "iscrizione-asilo-nido"); len(listed) != 1 {
			t.Errorf("a restored form is not listed")
		}
		if err := s.SetArchived(ctx, "ffffffffffffffffffffffffffffffff", true, operator); !errors.Is(err, ErrNotFound) {
			t.Errorf("archiving an unknown form: %v", err)
		}
		if _, err := s.AddVersion(ctx, "ffffffffffffffffffffffffffffffff", stage(t, s, v1, "x.pdf"), "", operator); !errors.Is(err, ErrNotFound) {
			t.Errorf("a version of an unknown form: %v", err)
		}
		// Every change is in the audit log, which still verifies.
		log := &audit.Log{DB: d}
		for action, want := range map[string]int{"form.created": 1, "form.version_added": 1, "form.archived": 1, "form.restored": 1} {
			recs, err := log.List(ctx, audit.ListFilter{Action: action, Limit: 10})
			if err != nil || len(recs) != want {
				t.Errorf("%s: %d audit entries, %v", action, len(recs), err)
				continue
			}
			if recs[0].Actor != "account:"+operator.AccountID || recs[0].Subject != f.ID || recs[0].Remote != operator.Remote {
				t.Errorf("%s: audit entry %+v", action, recs[0].Entry)
			}
		}
		if _, err := log.Verify(ctx); err != nil {
			t.Error(err)
		}
		stored, temps := filesOnDisk(t, s)
		if len(stored) != 2 || len(temps) != 0 {
			t.Errorf("on disk: %v, temporary %v", stored, temps)
		}
		info, err := os.Stat(filepath.Join(s.Dir, stored[0][:2], stored[0]))
		if err != nil || info.Mode().Perm() != 0o640 {
			t.Errorf("stored file mode %v, %v; want 0640", info.Mode(), err)
		}
	})
}

func TestRefusedUploadsLeaveNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(t, d)
		s.MaxSize = 64 << 10
		cases := []struct {
			name string
			nf   NewForm
			file []byte
			want map[string]string
		}{
			{"unknown service", NewForm{ServiceID: "rilascio-passaporti", Title: "Domanda"}, attachmentstest.PDF("x"), map[string]string{"service": "forms.error.service"}},
			{"no service", NewForm{Title: "Domanda"}, attachmentstest.PDF("x"), map[string]string{"service": "forms.error.service"}},
			{"empty title", NewForm{ServiceID: "accesso-atti", Title: "  "}, attachmentstest.PDF("x"), map[string]string{"title": "forms.error.title"}},
			{"long title", NewForm{ServiceID: "accesso-atti", Title: string(bytes.Repeat([]byte("à"), 201))}, attachmentstest.PDF("x"), map[string]string{"title": "forms.error.title_long"}},
			{"no file", NewForm{ServiceID: "accesso-atti", Title: "Domanda"}, nil, map[string]string{"file": "forms.error.file_missing"}},
		}
		for _, c := range cases {
			var st *Staged
			if c.file != nil {
				st = stage(t, s, c.file, "a.pdf")
			}
			_, err := s.Create(ctx, c.nf, st, operator)
			var fe FieldErrors
			if !errors.As(err, &fe) || fmt.Sprint(map[string]string(fe)) != fmt.Sprint(c.want) {
				t.Errorf("%s: %v (%v), want %v", c.name, err, fe, c.want)
			}
		}
		// Files refused by Stage.
		big := append(attachmentstest.PDF("x"), bytes.Repeat([]byte(" "), 64<<10)...)
		for name, data := range map[string][]byte{"big.pdf": big, "page.pdf": attachmentstest.HTML(), "empty.pdf": nil, "macro.docx": attachmentstest.DOCM()} {
			if st, err := s.Stage(context.Background(), bytes.NewReader(data), name); err == nil {
				st.Discard()
				t.Errorf("%s accepted", name)
			}
		}
		if _, err := s.Stage(context.Background(), bytes.NewReader(big), "big.pdf"); !errors.Is(err, attachments.ErrTooLarge) || FileMessage(err) != "forms.error.too_large" {
			t.Errorf("too large: %v", err)
		}
		// A transaction failing after the file was placed takes it away.
		failing := *s
		failing.Audit = failingAudit{}
		if _, err := failing.Create(ctx, NewForm{ServiceID: "accesso-atti", Title: "Domanda"}, stage(t, s, attachmentstest.PDF("late"), "a.pdf"), operator); err == nil {
			t.Error("Create succeeded with a failing audit log")
		}
		if n := count(t, d, "forms") + count(t, d, "form_versions"); n != 0 {
			t.Errorf("%d rows after refusals", n)
		}
		if stored, temps := filesOnDisk(t, s); len(stored) != 0 || len(temps) != 0 {
			t.Errorf("left on disk: %v, temporary %v", stored, temps)
		}
	})
}

func TestConcurrentUploadsOfTheSameContent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(t, d)
		content := attachmentstest.PDF("lo stesso modulo caricato da più sportelli")
		first, err := s.Create(ctx, NewForm{ServiceID: "accesso-atti", Title: "Modulo condiviso"}, stage(t, s, attachmentstest.ODT("v1"), "v1.odt"), operator)
		if err != nil {
			t.Fatal(err)
		}
		const n = 8
		var wg sync.WaitGroup
		errs := make(chan error, 2*n)
		for i := range n {
			wg.Go(func() {
				st, err := s.Stage(context.Background(), bytes.NewReader(content), fmt.Sprintf("copia-%d.pdf", i))
				if err != nil {
					errs <- err
					return
				}
				_, err = s.Create(ctx, NewForm{ServiceID: "iscrizione-asilo-nido", Title: fmt.Sprintf("Copia %d", i)}, st, operator)
				errs <- err
			})
			wg.Go(func() {
				st, err := s.Stage(context.Background(), bytes.NewReader(content), "nuova.pdf")
				if err != nil {
					errs <- err
					return
				}
				_, err = s.AddVersion(ctx, first.ID, st, "", operator)
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		stored, temps := filesOnDisk(t, s)
		if len(stored) != 2 || len(temps) != 0 {
			t.Fatalf("on disk %v, temporary %v; want two files", stored, temps)
		}
		got, err := s.Get(ctx, first.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Versions) != n+1 || got.Latest.Number != n+1 {
			t.Errorf("%d versions, latest %d; want %d", len(got.Versions), got.Latest.Number, n+1)
		}
		for i, v := range got.Versions {
			if v.Number != n+1-i {
				t.Errorf("version numbers %v", got.Versions)
				break
			}
		}
		forms, _ := s.ForService(ctx, "iscrizione-asilo-nido")
		if len(forms) != n {
			t.Fatalf("%d forms", len(forms))
		}
		for _, f := range forms {
			file, err := s.Open(f.Latest)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(file)
			file.Close()
			if !bytes.Equal(b, content) || f.Latest.SHA256 != hashOf(content) {
				t.Fatalf("%s: the shared file is corrupt", f.Title)
			}
		}
	})
}

func TestGCRemovesOnlyUnreferencedFiles(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(t, d)
		kept := attachmentstest.PDF("in uso")
		archived := attachmentstest.ODT("archiviato")
		f, err := s.Create(ctx, NewForm{ServiceID: "accesso-atti", Title: "In uso"}, stage(t, s, kept, "a.pdf"), operator)
		if err != nil {
			t.Fatal(err)
		}
		g, err := s.Create(ctx, NewForm{ServiceID: "accesso-atti", Title: "Archiviato"}, stage(t, s, archived, "b.odt"), operator)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddVersion(ctx, f.ID, stage(t, s, attachmentstest.DOCX("nuova"), "c.docx"), "", operator); err != nil {
			t.Fatal(err)
		}
		if err := s.SetArchived(ctx, g.ID, true, operator); err != nil {
			t.Fatal(err)
		}
		// What a crash leaves: a file placed whose version never committed,
		// an interrupted upload from yesterday, and one in progress.
		orphan := attachmentstest.PDF("orfano")
		op := filepath.Join(s.Dir, hashOf(orphan)[:2], hashOf(orphan))
		os.MkdirAll(filepath.Dir(op), 0o750)
		if err := os.WriteFile(op, orphan, 0o640); err != nil {
			t.Fatal(err)
		}
		stale, fresh := filepath.Join(s.Dir, "tmp", "upload-111"), filepath.Join(s.Dir, "tmp", "upload-222")
		os.WriteFile(stale, []byte("half"), 0o640)
		os.WriteFile(fresh, []byte("half"), 0o640)
		old := time.Now().Add(-25 * time.Hour)
		os.Chtimes(stale, old, old)
		// Something else in the directory is none of GC's business.
		os.WriteFile(filepath.Join(s.Dir, "LEGGIMI.txt"), []byte("x"), 0o640)

		removed, err := s.GC(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if removed != 2 {
			t.Errorf("GC removed %d files, want 2", removed)
		}
		stored, temps := filesOnDisk(t, s)
		want := []string{hashOf(archived), hashOf(kept), hashOf(attachmentstest.DOCX("nuova")), "LEGGIMI.txt"}
		sort.Strings(want)
		if fmt.Sprint(stored) != fmt.Sprint(want) || fmt.Sprint(temps) != "[upload-222]" {
			t.Errorf("after GC: %v, temporary %v; want %v", stored, temps, want)
		}
		if again, err := s.GC(ctx); err != nil || again != 0 {
			t.Errorf("second GC: %d, %v", again, err)
		}
		// GC on a store that never received a file.
		if n, err := NewStore(d, t.TempDir(), nil, nil).GC(ctx); n != 0 || err != nil {
			t.Errorf("GC of an empty store: %d, %v", n, err)
		}
	})
}

func TestStageNeedsADataDirectory(t *testing.T) {
	s := NewStore(nil, "", nil, nil)
	if _, err := s.Stage(context.Background(), bytes.NewReader(attachmentstest.PDF("x")), "a.pdf"); err == nil {
		t.Error("Stage without a data directory succeeded")
	}
}
