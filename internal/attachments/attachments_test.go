package attachments

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/attachments/attachmentstest"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/problem"
)

func TestDetectImagesAndScripts(t *testing.T) {
	photo := attachmentstest.JPEG(64, 48)
	png := attachmentstest.PNG(40, 30)
	small := Limits{MaxPixels: 1 << 20}
	cases := []struct {
		name string
		data []byte
		p    Policy
		want Type
		err  error
	}{
		{"png", png, DefaultPolicy, PNG, nil},
		{"jpeg", photo, DefaultPolicy, JPEG, nil},
		{"jpeg with a phone's trailer", append(append([]byte{}, photo...), "SEFHx\x00\x00\x00trailer"...), DefaultPolicy, JPEG, nil},
		{"pdf", attachmentstest.PDF("Certificato medico"), DefaultPolicy, PDF, nil},
		{"pdf with JavaScript, for a resident", attachmentstest.ScriptedPDF("x", "JavaScript"), DefaultPolicy, Type{}, ErrScript},
		{"pdf with JavaScript, escaped name", attachmentstest.ScriptedPDF("x", "J#61vaScri#70t"), DefaultPolicy, Type{}, ErrScript},
		{"pdf with JavaScript in an object stream", attachmentstest.ObjStmScriptedPDF("x"), DefaultPolicy, Type{}, ErrScript},
		{"pdf with a launch action", attachmentstest.ScriptedPDF("x", "Launch"), DefaultPolicy, Type{}, ErrScript},
		{"pdf with JavaScript, scripts allowed", attachmentstest.ScriptedPDF("x", "JavaScript"), Policy{Types: Types}, PDF, nil},
		{"png with a zip after its end", append(append([]byte{}, png...), attachmentstest.DOCX("x")...), DefaultPolicy, Type{}, ErrType},
		{"truncated png", png[:len(png)-5], DefaultPolicy, Type{}, ErrType},
		{"png with a wrong crc", corrupt(png, 30), DefaultPolicy, Type{}, ErrType},
		{"png announcing 4 billion pixels", attachmentstest.HugePNG(65536, 65536), DefaultPolicy, Type{}, ErrExpands},
		{"png beyond a small limit", attachmentstest.PNG(1100, 1000), Policy{Types: Types, Limits: small}, Type{}, ErrExpands},
		{"truncated jpeg", photo[:len(photo)/2], DefaultPolicy, Type{}, ErrType},
		{"jpeg header only", photo[:20], DefaultPolicy, Type{}, ErrType},
		{"exe named .pdf", attachmentstest.EXE(), DefaultPolicy, Type{}, ErrType},
		{"html named .jpg", attachmentstest.HTML(), DefaultPolicy, Type{}, ErrType},
		{"gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), DefaultPolicy, Type{}, ErrType},
		{"pdf where only images go", attachmentstest.PDF("x"), Policy{Types: []Type{PNG, JPEG}}, Type{}, ErrType},
		{"odt where only PDF goes", attachmentstest.ODT("x"), Policy{Types: []Type{PDF}}, Type{}, ErrType},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.p.Detect(bytes.NewReader(c.data), int64(len(c.data)))
			if c.err == nil && err != nil || c.err != nil && !errors.Is(err, c.err) {
				t.Fatalf("Detect = %v, %v; want %v, %v", got, err, c.want, c.err)
			}
			if got != c.want {
				t.Fatalf("Detect = %v; want %v", got, c.want)
			}
		})
	}
}

// corrupt flips a byte.
func corrupt(b []byte, at int) []byte {
	out := append([]byte{}, b...)
	out[at] ^= 0xFF
	return out
}

func newStore(t *testing.T, d *db.DB, scanner Scanner) *Store {
	return NewStore(d, t.TempDir(), scanner)
}

func stage(t *testing.T, s *Store, data []byte, name string) *Staged {
	t.Helper()
	st, err := s.Stage(context.Background(), bytes.NewReader(data), name, Policy{})
	if err != nil {
		t.Fatalf("Stage(%s): %v", name, err)
	}
	return st
}

func add(t *testing.T, s *Store, owner Owner, st *Staged) *Attachment {
	t.Helper()
	var a *Attachment
	if err := s.DB.Tx(context.Background(), func(tx *sql.Tx) error {
		var err error
		a, err = s.Add(context.Background(), tx, owner, st)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return a
}

// onDisk lists the stored files' names and the temporary files.
func onDisk(t *testing.T, s *Store) (stored, temps []string) {
	return attachmentstest.OnDisk(s.Files.Dir)
}

// A resident's files are theirs: stored by hash, once per content, named
// as uploaded (sanitised) in the row, read only with their owner.
func TestOwnedStoredByHash(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(t, d, nil)
		mario, lucia := Account("0123456789abcdef0123456789abcdef"), Account("fedcba9876543210fedcba9876543210")
		photo := attachmentstest.JPEG(32, 32)
		a := add(t, s, mario, stage(t, s, photo, "../../Foto buca via Roma.exe"))
		b := add(t, s, lucia, stage(t, s, photo, "IMG_0001.JPG"))
		if a.Filename != "Foto-buca-via-Roma.jpg" || a.MediaType != "image/jpeg" || b.Filename != "IMG_0001.jpg" {
			t.Fatalf("names: %q %q", a.Filename, b.Filename)
		}
		stored, temps := onDisk(t, s)
		if len(stored) != 1 || stored[0] != a.SHA256 || len(temps) != 0 {
			t.Fatalf("on disk: %v, temporary %v", stored, temps)
		}
		if _, err := s.Get(ctx, lucia, a.ID); !errors.Is(err, problem.ErrNotFound) {
			t.Fatalf("another resident's attachment: %v", err)
		}
		got, f, err := s.Open(ctx, mario, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		content, _ := io.ReadAll(f)
		f.Close()
		if !bytes.Equal(content, photo) || got.Owner != mario {
			t.Fatal("the owner reads another content")
		}
		list, total, err := s.List(ctx, mario, 50, 0)
		if err != nil || total != 1 || len(list) != 1 || list[0].ID != a.ID {
			t.Fatalf("List: %v %d %v", list, total, err)
		}
		// Deleting one copy keeps the shared file; deleting the last lets GC take it.
		del := func(owner Owner, id string) error {
			return d.Tx(ctx, func(tx *sql.Tx) error { return s.Delete(ctx, tx, owner, id) })
		}
		if err := del(lucia, a.ID); !errors.Is(err, problem.ErrNotFound) {
			t.Fatalf("deleting another's: %v", err)
		}
		if err := del(mario, a.ID); err != nil {
			t.Fatal(err)
		}
		if n, err := s.GC(ctx); err != nil || n != 0 {
			t.Fatalf("GC while Lucia's copy names the file: %d, %v", n, err)
		}
		if err := del(lucia, b.ID); err != nil {
			t.Fatal(err)
		}
		if n, err := s.GC(ctx); err != nil || n != 1 {
			t.Fatalf("GC after the last copy: %d, %v", n, err)
		}
		if stored, _ := onDisk(t, s); len(stored) != 0 {
			t.Fatalf("left on disk: %v", stored)
		}
	})
}

// A feature's transaction that rolls back leaves no row, and its file is
// collected; a record's attachments move and go with it.
func TestInTheCallersTransaction(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(t, d, nil)
		mario := Account("0123456789abcdef0123456789abcdef")
		errLater := errors.New("the application could not be saved")
		st := stage(t, s, attachmentstest.PDF("ISEE"), "isee.pdf")
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := s.Add(ctx, tx, mario, st); err != nil {
				return err
			}
			return errLater
		})
		if !errors.Is(err, errLater) {
			t.Fatal(err)
		}
		if list, total, _ := s.List(ctx, mario, 50, 0); total != 0 || len(list) != 0 {
			t.Fatal("a rolled-back attachment is listed")
		}
		if n, err := s.GC(ctx); err != nil || n != 1 {
			t.Fatalf("GC after a rollback: %d, %v", n, err)
		}
		a := add(t, s, mario, stage(t, s, attachmentstest.PDF("ISEE"), "isee.pdf"))
		app := Record("sportello", "application", "0123456789abcdef0123456789abcdef")
		if err := d.Tx(ctx, func(tx *sql.Tx) error { return s.Move(ctx, tx, mario, app, a.ID) }); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, mario, a.ID); !errors.Is(err, ErrNotFound) {
			t.Fatal("still the resident's after the move")
		}
		if _, err := s.Get(ctx, app, a.ID); err != nil {
			t.Fatal(err)
		}
		var n int64
		if err := d.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			n, err = s.DeleteOwned(ctx, tx, app)
			return err
		}); err != nil || n != 1 {
			t.Fatalf("DeleteOwned: %d, %v", n, err)
		}
		for _, bad := range []Owner{"", "account:", "x y", Owner(strings.Repeat("a:", 200))} {
			if _, err := s.Get(ctx, bad, a.ID); !errors.Is(err, ErrNotFound) {
				t.Errorf("owner %q: %v", bad, err)
			}
		}
	})
}

func TestRefusedUploadsLeaveNothing(t *testing.T) {
	d := dbtest.SQLite(t) // nothing of the database: the files alone
	s := newStore(t, d, nil)
	for name, data := range map[string][]byte{"program.pdf": attachmentstest.EXE(), "empty.jpg": nil,
		"script.pdf": attachmentstest.ScriptedPDF("x", "JS"), "big.pdf": attachmentstest.PaddedPDF("x", 1<<20)} {
		_, err := s.Stage(context.Background(), bytes.NewReader(data), name, Policy{Types: Types, MaxSize: 512 << 10, RefuseScripts: true})
		if err == nil || !Refused(err) {
			t.Errorf("%s: %v", name, err)
		}
		if id, status := Message(err); id == "" || status < 400 {
			t.Errorf("%s: message %q, status %d", name, id, status)
		}
	}
	if _, err := s.Stage(context.Background(), bytes.NewReader(attachmentstest.PaddedPDF("x", 1<<20)), "big.pdf", Policy{Types: Types, MaxSize: 512 << 10}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("too large: %v", err)
	}
	if stored, temps := onDisk(t, s); len(stored)+len(temps) != 0 {
		t.Fatalf("left on disk: %v %v", stored, temps)
	}
	if _, err := NewStore(d, "", nil).Stage(context.Background(), bytes.NewReader(attachmentstest.PDF("x")), "a.pdf", Policy{}); err == nil {
		t.Error("Stage without a data directory")
	}
}

// BenchmarkUpload measures receiving an upload (hash, content check, disk)
// and recording it, per kind of file, without a virus scanner.
func BenchmarkUpload(b *testing.B) {
	for name, data := range map[string][]byte{"photo-1024x768": attachmentstest.JPEG(1024, 768), "pdf-5MiB": attachmentstest.PaddedPDF("x", 5<<20),
		"docx": attachmentstest.DOCX("Dichiarazione")} {
		b.Run(name, func(b *testing.B) {
			d := dbtest.SQLite(b)
			s := NewStore(d, b.TempDir(), nil)
			owner := Account("0123456789abcdef0123456789abcdef")
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				st, err := s.Stage(context.Background(), bytes.NewReader(data), "file", Policy{})
				if err != nil {
					b.Fatal(err)
				}
				if err := d.Tx(context.Background(), func(tx *sql.Tx) error { _, err := s.Add(context.Background(), tx, owner, st); return err }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// OfOwners gives each owner its own files, oldest first, whatever their
// number: 1,200 owners (three statements), files at the first, past the
// first statement's 500 and at the last; an owner without files and one
// that is not an owner have none.
func TestOfOwners(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(t, d, nil)
		owners := make([]Owner, 1200)
		for i := range owners {
			owners[i] = Record("segnala", "report", "r"+strconv.Itoa(i))
		}
		want := map[Owner][]string{}
		for _, i := range []int{0, 0, 501, 1199, 1199, 1199} {
			a := add(t, s, owners[i], stage(t, s, attachmentstest.PDF("file "+strconv.Itoa(len(want[owners[i]]))+" of "+strconv.Itoa(i)), "f.pdf"))
			want[owners[i]] = append(want[owners[i]], a.ID)
		}
		add(t, s, Account("someone-else"), stage(t, s, attachmentstest.PDF("not asked for"), "x.pdf"))
		got, err := s.OfOwners(ctx, append(owners, "not an owner"))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d owners with files, want %d", len(got), len(want))
		}
		for o, ids := range want {
			var gotIDs []string
			for i, a := range got[o] {
				if a.Owner != o {
					t.Fatalf("%s got a file of %s", o, a.Owner)
				}
				if i > 0 && (a.CreatedAt.Before(got[o][i-1].CreatedAt) || a.CreatedAt.Equal(got[o][i-1].CreatedAt) && a.ID < got[o][i-1].ID) {
					t.Errorf("%s: not the oldest first", o)
				}
				gotIDs = append(gotIDs, a.ID)
			}
			slices.Sort(gotIDs)
			slices.Sort(ids)
			if !slices.Equal(gotIDs, ids) {
				t.Errorf("%s: %v, want %v", o, gotIDs, ids)
			}
		}
	})
}
