package db_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/attachments/attachmentstest"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/forms"
)

// testDataDir makes a data directory as civico leaves it: a form file
// stored by hash, an upload in progress, a card authority with its key
// 0600, the demo's secret, and something the backup does not know.
func testDataDir(t *testing.T) (dir string, files map[string]string) {
	t.Helper()
	dir = t.TempDir()
	form := "%PDF-1.4 a form"
	sum := sha256.Sum256([]byte(form))
	hash := hex.EncodeToString(sum[:])
	files = map[string]string{
		"forms/" + hash[:2] + "/" + hash: form,
		"ca/ca.pem":                      "certificate",
		"ca/ca.key":                      "private key",
		"ca/cards/giulia.p12":            "card",
		"demo-secret.key":                "demo secret\n",
	}
	modes := map[string]fs.FileMode{"ca/ca.key": 0o600, "ca/cards/giulia.p12": 0o600, "demo-secret.key": 0o600}
	for name, body := range files {
		mode := modes[name]
		if mode == 0 {
			mode = 0o644
		}
		writeTestFile(t, filepath.Join(dir, name), body, mode)
	}
	writeTestFile(t, filepath.Join(dir, "forms", "tmp", "upload-123"), "half an upload", 0o640)
	writeTestFile(t, filepath.Join(dir, "notes.txt"), "not civico's", 0o644)
	return dir, files
}

func writeTestFile(t *testing.T, p, body string, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

var testOptions = db.BackupOptions{Include: []string{"forms", "ca", "demo-secret.key"}, Skip: []string{"forms/tmp"}, Version: "test"}

func backupTo(t *testing.T, d *db.DB, dataDir string) (string, *db.Manifest) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "civico.tar.gz")
	opt := testOptions
	opt.Schema = dbtest.Schema(t)
	opt.DataDir = dataDir
	m, err := d.BackupArchive(context.Background(), out, opt)
	if err != nil {
		t.Fatal(err)
	}
	return out, m
}

// listDir returns every file under dir with its content.
func listDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		got[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return got
}

func TestBackupArchiveRestores(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if _, err := d.ExecContext(ctx, `INSERT INTO page_feedback (path, rating, reason, comment, lang, created_at)
			VALUES ('/p', 2, '', '', 'it', $1)`, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		dataDir, files := testDataDir(t)
		out, m := backupTo(t, d, dataDir)

		fi, err := os.Stat(out)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("archive mode %v, want 0600", fi.Mode().Perm())
		}
		if left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*")); len(left) > 0 {
			t.Errorf("the backup left %v behind", left)
		}
		_, known, err := d.SchemaStatus(ctx, dbtest.Schema(t))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, x := range m.Members {
			names = append(names, x.Name)
		}
		wantNames := []string{}
		for name := range files {
			wantNames = append(wantNames, name)
		}
		slices.Sort(wantNames)
		if d.Dialect == db.SQLite {
			wantNames = append([]string{db.DatabaseMember}, wantNames...)
			if m.Database != db.DatabaseMember {
				t.Errorf("manifest database %q", m.Database)
			}
		} else if m.Database != "" || len(m.Notes) == 0 || !strings.Contains(m.Notes[0], "pg_dump --format=custom") {
			t.Errorf("PostgreSQL manifest: database %q, notes %q", m.Database, m.Notes)
		}
		// The database first, then the files in the order of Include.
		sorted := slices.Clone(names)
		slices.Sort(sorted[len(sorted)-len(files):])
		if !slices.Equal(sorted, wantNames) || !strings.HasPrefix(names[len(names)-len(files)], "forms/") || m.Schema != known || m.Dialect != d.Dialect || m.Format != db.ArchiveFormat || m.Civico != "test" {
			t.Errorf("manifest %+v, members %v; want members %v, schema %d", m, names, wantNames, known)
		}

		// The archive's members, in order: the database first, the
		// manifest last.
		var order []string
		if _, err := db.ReadArchive(openFile(t, out), func(name string, _ fs.FileMode, _ io.Reader) error {
			order = append(order, name)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(order, names) {
			t.Errorf("archive order %v", order)
		}

		target := filepath.Join(t.TempDir(), "restored")
		dbPath := filepath.Join(target, "civico.db")
		tg := db.Target{Dialect: db.SQLite, Path: dbPath}
		if d.Dialect == db.Postgres {
			tg = db.Target{Dialect: db.Postgres, URL: "postgres://unused"}
		}
		rm, err := db.Restore(ctx, out, db.RestoreOptions{DataDir: target, Database: tg, Schema: dbtest.Schema(t)})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(rm.Members, m.Members) {
			t.Errorf("restore's manifest differs")
		}
		got := listDir(t, target)
		delete(got, "civico.db")
		for k := range got {
			if strings.HasPrefix(k, "civico.db-") {
				delete(got, k)
			}
		}
		if len(got) != len(files) {
			t.Errorf("restored %v, want %v", got, files)
		}
		for name, body := range files {
			if got[name] != body {
				t.Errorf("%s restored as %q, want %q", name, got[name], body)
			}
		}
		for name, want := range map[string]fs.FileMode{"ca/ca.key": 0o600, "ca/ca.pem": 0o640, "demo-secret.key": 0o600, "ca": fs.ModeDir | 0o700, ".": fs.ModeDir | 0o700} {
			fi, err := os.Stat(filepath.Join(target, name))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != want {
				t.Errorf("%s restored with mode %v, want %v", name, fi.Mode(), want)
			}
		}
		if d.Dialect == db.SQLite {
			r, err := db.Open(ctx, tg)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var n int
			if err := r.QueryRowContext(ctx, `SELECT COUNT(*) FROM page_feedback`).Scan(&n); err != nil || n != 1 {
				t.Errorf("restored database: %d rows, %v", n, err)
			}
		} else if _, err := os.Stat(dbPath); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a files-only archive wrote a database: %v", err)
		}
	})
}

func openFile(t *testing.T, p string) *os.File {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// A backup refuses to overwrite, and leaves nothing behind when it fails.
func TestBackupArchiveRefusesExisting(t *testing.T) {
	d := dbtest.SQLite(t)
	dataDir, _ := testDataDir(t)
	out, _ := backupTo(t, d, dataDir)
	before, _ := os.ReadFile(out)
	opt := testOptions
	opt.Schema = dbtest.Schema(t)
	opt.DataDir = dataDir
	if _, err := d.BackupArchive(context.Background(), out, opt); err == nil {
		t.Error("a second backup over an existing archive succeeded")
	}
	if after, _ := os.ReadFile(out); !bytes.Equal(before, after) {
		t.Error("the existing archive changed")
	}
}

// restoreRefused restores the archive bytes into a new directory and
// wants err, and nothing written. Unless the refusal comes once the
// database is written (written), it restores into an empty directory too,
// which must stay untouched, its modification time included: the refusal
// came before anything was written, not from a clean-up.
func restoreRefused(t *testing.T, archive []byte, want error, written ...bool) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "a.tar.gz")
	if err := os.WriteFile(p, archive, 0o600); err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	target := filepath.Join(parent, "restored")
	_, err := db.Restore(context.Background(), p, db.RestoreOptions{DataDir: target, Database: db.Target{Dialect: db.SQLite, Path: filepath.Join(target, "civico.db")}, Schema: dbtest.Schema(t)})
	if !errors.Is(err, want) {
		t.Errorf("Restore: %v, want %v", err, want)
	}
	if left := listDir(t, parent); len(left) > 0 {
		t.Errorf("a refused restore wrote %v", left)
	}
	if _, err := os.Stat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused restore left the data directory: %v", err)
	}
	if len(written) > 0 && written[0] {
		return
	}
	empty := t.TempDir()
	past := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(empty, past, past); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Restore(context.Background(), p, db.RestoreOptions{DataDir: empty, Database: db.Target{Dialect: db.SQLite, Path: filepath.Join(empty, "civico.db")}, Schema: dbtest.Schema(t)}); !errors.Is(err, want) {
		t.Errorf("Restore into an empty directory: %v, want %v", err, want)
	}
	if fi, err := os.Stat(empty); err != nil || !fi.ModTime().Equal(past) {
		t.Errorf("a refused restore changed the empty directory (modified %v): it wrote before it checked", fi.ModTime())
	}
}

// untar and retar let tests change an archive's content and compress it
// again, as damage the gzip checksum would not catch (or tampering).
func untar(t *testing.T, archive []byte) []testEntry {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var out []testEntry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, testEntry{hdr: *h, body: b})
	}
}

func gunzip(t *testing.T, archive []byte) []byte {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(gz)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type testEntry struct {
	hdr  tar.Header
	body []byte
}

func retar(entries []testEntry) []byte {
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := e.hdr
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			panic(err)
		}
		if _, err := tw.Write(e.body); err != nil {
			panic(err)
		}
	}
	if err := tw.Close(); err != nil {
		panic(err)
	}
	if err := gz.Close(); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// craft builds an archive of the entries and a manifest that lists every
// regular one correctly: only what the test breaks is wrong.
func craft(m db.Manifest, entries ...testEntry) []byte {
	if m.Format == 0 {
		m.Format = db.ArchiveFormat
	}
	if m.Dialect == "" {
		m.Dialect = db.SQLite
	}
	for _, e := range entries {
		// Links and directories too, as ReadArchive would hash them: only
		// their type is wrong.
		sum := sha256.Sum256(e.body)
		m.Members = append(m.Members, db.Member{Name: e.hdr.Name, Size: int64(len(e.body)), SHA256: hex.EncodeToString(sum[:])})
	}
	body, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return retar(append(entries, file(db.ManifestName, string(body))))
}

func file(name, body string) testEntry {
	return testEntry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o640}, body: []byte(body)}
}

func TestRestoreRefusesDamage(t *testing.T) {
	d := dbtest.SQLite(t)
	dataDir, _ := testDataDir(t)
	out, _ := backupTo(t, d, dataDir)
	good, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("one byte of the file", func(t *testing.T) {
		for _, at := range []int{len(good) / 3, len(good) / 2, len(good) - 12, len(good) - 1} {
			bad := bytes.Clone(good)
			bad[at] ^= 0x01
			restoreRefused(t, bad, db.ErrArchive)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		restoreRefused(t, good[:len(good)-100], db.ErrArchive)
	})
	t.Run("trailing data", func(t *testing.T) {
		restoreRefused(t, append(bytes.Clone(good), 0), db.ErrArchive)
	})
	t.Run("a bomb after the tar's end", func(t *testing.T) {
		// 64 MiB of zeros compressed after the tar's end, inside the same
		// gzip stream: refused without reading it through.
		var b bytes.Buffer
		gz := gzip.NewWriter(&b)
		raw := gunzip(t, good)
		if _, err := gz.Write(raw); err != nil {
			t.Fatal(err)
		}
		if _, err := gz.Write(make([]byte, 64<<20)); err != nil {
			t.Fatal(err)
		}
		if err := gz.Close(); err != nil {
			t.Fatal(err)
		}
		restoreRefused(t, b.Bytes(), db.ErrArchive)
	})
	// One byte changed in a member, the archive compressed again: the gzip
	// checksum is right, only the manifest's SHA-256 tells.
	for _, member := range []string{"ca/ca.key", db.DatabaseMember} {
		t.Run("one byte of "+member, func(t *testing.T) {
			entries := untar(t, good)
			changed := false
			for i := range entries {
				if entries[i].hdr.Name == member {
					entries[i].body[len(entries[i].body)/2] ^= 0x01
					changed = true
				}
			}
			if !changed {
				t.Fatalf("no member %s", member)
			}
			restoreRefused(t, retar(entries), db.ErrArchive)
		})
	}
	t.Run("a member missing", func(t *testing.T) {
		entries := untar(t, good)
		restoreRefused(t, retar(slices.DeleteFunc(entries, func(e testEntry) bool { return e.hdr.Name == "ca/ca.pem" })), db.ErrArchive)
	})
	t.Run("a member added", func(t *testing.T) {
		entries := untar(t, good)
		restoreRefused(t, retar(append([]testEntry{file("ca/extra.pem", "x")}, entries...)), db.ErrArchive)
	})
	t.Run("no manifest", func(t *testing.T) {
		entries := untar(t, good)
		restoreRefused(t, retar(entries[:len(entries)-1]), db.ErrArchive)
	})
}

func TestRestoreRefusesNonEmptyTarget(t *testing.T) {
	d := dbtest.SQLite(t)
	dataDir, _ := testDataDir(t)
	out, _ := backupTo(t, d, dataDir)
	target := t.TempDir()
	writeTestFile(t, filepath.Join(target, "keep.txt"), "mine", 0o600)
	_, err := db.Restore(context.Background(), out, db.RestoreOptions{DataDir: target, Database: db.Target{Dialect: db.SQLite, Path: filepath.Join(target, "civico.db")}, Schema: dbtest.Schema(t)})
	if !errors.Is(err, db.ErrNotEmpty) {
		t.Errorf("Restore into a non-empty directory: %v", err)
	}
	if got := listDir(t, target); len(got) != 1 || got["keep.txt"] != "mine" {
		t.Errorf("the directory now holds %v", got)
	}
	// An empty data directory, but the configured database file exists.
	empty := t.TempDir()
	elsewhere := filepath.Join(t.TempDir(), "civico.db")
	writeTestFile(t, elsewhere, "a database", 0o600)
	_, err = db.Restore(context.Background(), out, db.RestoreOptions{DataDir: empty, Database: db.Target{Dialect: db.SQLite, Path: elsewhere}, Schema: dbtest.Schema(t)})
	if !errors.Is(err, db.ErrNotEmpty) {
		t.Errorf("Restore onto an existing database file: %v", err)
	}
	if got := listDir(t, empty); len(got) != 0 {
		t.Errorf("the empty directory now holds %v", got)
	}
}

func TestRestoreRefusesUnsafeMembers(t *testing.T) {
	for name, entries := range map[string][]testEntry{
		"parent":             {file("../evil", "x")},
		"parent inside":      {file("forms/../../evil", "x")},
		"absolute":           {file("/tmp/civico-evil", "x")},
		"unclean":            {file("forms/./ab", "x")},
		"backslash":          {file("..\\evil", "x")},
		"dot":                {file(".", "x")},
		"symlink":            {{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: "forms", Linkname: "/etc"}}},
		"symlink and file":   {{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: "forms", Linkname: "/etc"}}, file("forms/passwd", "x")},
		"hard link":          {file("a", "x"), {hdr: tar.Header{Typeflag: tar.TypeLink, Name: "b", Linkname: "/etc/passwd"}}},
		"directory":          {{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "forms", Mode: 0o777}}},
		"twice":              {file("a", "x"), file("a", "y")},
		"file and directory": {file("a", "x"), file("a/b", "y")},
		"directory and file": {file("a/b", "x"), file("a", "y")},
		"database sibling":   {file("civico.db-wal", "x")},
		"database not named": {file("civico.db", "x")},
	} {
		t.Run(name, func(t *testing.T) {
			restoreRefused(t, craft(db.Manifest{}, entries...), db.ErrArchive)
		})
	}
	// The same name twice, the manifest listing it once, as the second.
	t.Run("twice, listed once", func(t *testing.T) {
		sum := sha256.Sum256([]byte("y"))
		m, err := json.Marshal(db.Manifest{Format: db.ArchiveFormat, Dialect: db.SQLite, Members: []db.Member{{Name: "a", Size: 1, SHA256: hex.EncodeToString(sum[:])}}})
		if err != nil {
			t.Fatal(err)
		}
		restoreRefused(t, retar([]testEntry{file("a", "x"), file("a", "y"), file(db.ManifestName, string(m))}), db.ErrArchive)
	})
}

func TestRestoreRefusesNewer(t *testing.T) {
	ms, err := dbtest.Schema(t).Migrations(db.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	known := ms[len(ms)-1].Version
	restoreRefused(t, craft(db.Manifest{Schema: known + 1}, file("forms/ab/x", "x")), db.ErrSchemaTooNew)
	restoreRefused(t, craft(db.Manifest{Format: db.ArchiveFormat + 1}, file("forms/ab/x", "x")), db.ErrArchive)

	// The manifest says a known version, the database holds a newer one:
	// found once written, and everything removed.
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "newer.db")
	d, err := db.Open(ctx, db.Target{Dialect: db.SQLite, Path: p})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Migrate(ctx, dbtest.Schema(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'future', $2)`, known+1, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), "copy.db")
	if err := d.Backup(ctx, copyPath); err != nil {
		t.Fatal(err)
	}
	d.Close()
	body, err := os.ReadFile(copyPath)
	if err != nil {
		t.Fatal(err)
	}
	restoreRefused(t, craft(db.Manifest{Schema: known, Database: db.DatabaseMember}, file(db.DatabaseMember, string(body)), file("forms/ab/x", "x")), db.ErrArchive, true)
}

func TestRestoreRefusesSQLiteIntoPostgres(t *testing.T) {
	d := dbtest.SQLite(t)
	dataDir, _ := testDataDir(t)
	out, _ := backupTo(t, d, dataDir)
	target := filepath.Join(t.TempDir(), "restored")
	_, err := db.Restore(context.Background(), out, db.RestoreOptions{DataDir: target, Database: db.Target{Dialect: db.Postgres, URL: "postgres://x"}, Schema: dbtest.Schema(t)})
	if !errors.Is(err, db.ErrDialect) {
		t.Errorf("Restore of a SQLite archive into PostgreSQL: %v", err)
	}
	if _, err := os.Stat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the refused restore made the data directory: %v", err)
	}
}

type noAudit struct{}

func (noAudit) Write(context.Context, *sql.Tx, audit.Entry) error { return nil }

func uploadForm(t *testing.T, store *forms.Store, title string) *forms.Form {
	t.Helper()
	st, err := store.Stage(context.Background(), bytes.NewReader(attachmentstest.PDF(title)), title+".pdf")
	if err != nil {
		t.Fatal(err)
	}
	f, err := store.Create(context.Background(), forms.NewForm{ServiceID: "anagrafe", Title: title}, st, forms.Actor{AccountID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// A form uploaded while the backup runs, after the database was copied:
// its file may be in the archive, never a row without its file. Restored,
// every form has its file, and the extra file is collected.
func TestBackupArchiveDuringUploads(t *testing.T) {
	ctx := context.Background()
	d := dbtest.SQLite(t)
	services := func(context.Context) ([]forms.Service, error) {
		return []forms.Service{{ID: "anagrafe", Title: "Anagrafe"}}, nil
	}
	dataDir := t.TempDir()
	store := forms.NewStore(d, dataDir, noAudit{}, services)
	before := uploadForm(t, store, "Prima")
	var during *forms.Form
	opt := testOptions
	opt.Schema = dbtest.Schema(t)
	opt.DataDir = dataDir
	opt.AfterDatabase = func() { during = uploadForm(t, store, "Durante") }
	out := filepath.Join(t.TempDir(), "civico.tar.gz")
	if _, err := d.BackupArchive(ctx, out, opt); err != nil {
		t.Fatal(err)
	}

	target := filepath.Join(t.TempDir(), "restored")
	tg := db.Target{Dialect: db.SQLite, Path: filepath.Join(target, "civico.db")}
	if _, err := db.Restore(ctx, out, db.RestoreOptions{DataDir: target, Database: tg, Schema: dbtest.Schema(t)}); err != nil {
		t.Fatal(err)
	}
	r, err := db.Open(ctx, tg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rs := forms.NewStore(r, target, noAudit{}, services)
	if _, err := rs.Get(ctx, during.ID); !errors.Is(err, forms.ErrNotFound) {
		t.Errorf("the form uploaded after the database was copied is in the copy: %v", err)
	}
	list, err := rs.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != before.ID {
		t.Fatalf("restored forms %v", list)
	}
	for _, f := range list {
		file, err := rs.Open(f.Latest)
		if err != nil {
			t.Fatalf("restored form %s without its file: %v", f.ID, err)
		}
		_ = file.Close()
	}
	if n, err := rs.GC(ctx); err != nil || n != 1 {
		t.Errorf("GC of the restored directory removed %d files (want the one uploaded during the backup), %v", n, err)
	}
}
