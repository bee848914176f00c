package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/civico-pa/civico/internal/attachments/attachmentstest"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/cardca"
	"github.com/civico-pa/civico/internal/catalog"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/forms"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/jobs"
	"github.com/civico-pa/civico/internal/oidcop"
	"github.com/civico-pa/civico/internal/town"
)

// backupFixture is a data directory as the demo leaves it (town, catalogue,
// accounts, the test card authority and cards, the demo's secret, a signing
// key sealed with it), plus a form uploaded through the forms store.
type backupFixture struct {
	dir      string
	formID   string
	form     []byte
	operator string // an operator's e-mail
	audited  int    // audit entries before the backup
}

const backupOperator = "paola.esposito@demo.civico.invalid"

func newBackupFixture(t *testing.T) *backupFixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	d, err := db.Open(ctx, db.Target{Dialect: db.SQLite, Path: filepath.Join(dir, "civico.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if _, err := d.Migrate(ctx, schema()); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.DataDir, cfg.SecretKey = dir, ""
	if err := prepareDemo(ctx, &cfg, d, town.NewStore(d, 0)); err != nil {
		t.Fatal(err)
	}
	secret, err := oidcop.NewSecret([]byte(cfg.SecretKey))
	if err != nil {
		t.Fatal(err)
	}
	if err := (&oidcop.Keys{DB: d, Secret: secret}).Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	op, err := (&identity.Store{DB: d}).ByEmail(ctx, backupOperator)
	if err != nil {
		t.Fatal(err)
	}
	store := testFormStore(d, dir)
	pdf := attachmentstest.PDF("Domanda di iscrizione")
	st, err := store.Stage(context.Background(), bytes.NewReader(pdf), "domanda.pdf")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := (&catalog.Store{DB: d}).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f, err := store.Create(ctx, forms.NewForm{ServiceID: cat.Services[0].ID, Title: "Domanda di iscrizione"}, st, forms.Actor{AccountID: op.ID})
	if err != nil {
		t.Fatal(err)
	}
	// An upload being received when the backup runs: not copied.
	if err := os.WriteFile(filepath.Join(dir, "forms", "tmp", "upload-1"), []byte("half"), 0o640); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	// A job waiting for next month: river's tables are copied too.
	q := jobs.New(d, jobs.Config{})
	q.Add(jobs.Work(func(context.Context, *river.Job[brokenArgs]) error { return nil }))
	if err := q.Ready(); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Insert(ctx, brokenArgs{Protocol: "2025/7"}, &river.InsertOpts{ScheduledAt: time.Now().Add(30 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	n, err := (&audit.Log{DB: d}).Verify(ctx)
	if err != nil || n == 0 {
		t.Fatalf("the fixture's audit log: %d entries, %v", n, err)
	}
	return &backupFixture{dir: dir, formID: f.ID, form: pdf, operator: backupOperator, audited: n}
}

// testFormStore is the forms store as serve makes it.
func testFormStore(d *db.DB, dataDir string) *forms.Store {
	return forms.NewStore(d, dataDir, &audit.Log{DB: d}, formServices(&catalog.Store{DB: d}))
}

// archiveNames lists an archive's members in order, checking it.
func archiveNames(t *testing.T, p string) ([]string, *db.Manifest) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	m, err := db.ReadArchive(f, func(name string, _ fs.FileMode, _ io.Reader) error {
		names = append(names, name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names, m
}

// The whole story: back up a demo data directory in use, restore it into
// an empty directory, serve from it with civico serve, and find everything.
func TestBackupRestoreServe(t *testing.T) {
	fx := newBackupFixture(t)
	out := filepath.Join(t.TempDir(), "civico.tar.gz")
	code, stdout, stderr := runCLI(t, map[string]string{"CIVICO_DATA_DIR": fx.dir}, "backup", "--out", out)
	if code != 0 || !strings.Contains(stdout, out) || !strings.Contains(stdout, "demo-secret.key, the demo's secret key") {
		t.Fatalf("backup: %d %q %q", code, stdout, stderr)
	}
	if strings.Contains(stdout, "CIVICO_SECRET_KEY is not in this archive") {
		t.Errorf("the demo's backup speaks of CIVICO_SECRET_KEY: %q", stdout)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("archive: %v %v", fi, err)
	}

	// The layout: the database first, the forms' files by hash, the card
	// authority, the demo's secret, the manifest last; no upload in progress.
	names, m := archiveNames(t, out)
	sum := sha256.Sum256(fx.form)
	hash := hex.EncodeToString(sum[:])
	for _, want := range []string{"forms/" + hash[:2] + "/" + hash, "ca/ca.key", "ca/ca.pem", "ca/crl.pem", "ca/cards.json", "ca/server.key", "ca/cards/giulia-bianchi.p12", demoSecretFile} {
		if !slices.Contains(names, want) {
			t.Errorf("the archive lacks %s: %v", want, names)
		}
	}
	if names[0] != db.DatabaseMember || slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, "forms/tmp") }) {
		t.Errorf("archive members %v", names)
	}
	ms, _ := schema().Migrations(db.SQLite)
	if m.Dialect != db.SQLite || m.Schema != ms[len(ms)-1].Version || m.Civico != buildVersion() || m.Database != db.DatabaseMember || time.Since(m.Created) > time.Hour {
		t.Errorf("manifest %+v", m)
	}

	restored := filepath.Join(t.TempDir(), "restored")
	code, stdout, stderr = runCLI(t, map[string]string{"CIVICO_DATA_DIR": "/nonexistent/elsewhere"}, "restore", "--from", out, "--data-dir", restored)
	if code != 0 || !strings.Contains(stdout, "restored into "+restored) || !strings.Contains(stdout, "signing keys open with "+filepath.Join(restored, demoSecretFile)) {
		t.Fatalf("restore: %d %q %q", code, stdout, stderr)
	}

	// civico serve from the restored directory: it migrates, opens the
	// signing key with the restored secret, and serves the form's file.
	srv := startServe(t, map[string]string{"CIVICO_DATA_DIR": restored, "CIVICO_SECRET_KEY_FILE": filepath.Join(restored, demoSecretFile)})
	res, body := httpGet(t, srv.portal+"/moduli/"+fx.formID)
	if res.StatusCode != http.StatusOK || !bytes.Equal(body, fx.form) {
		t.Errorf("GET /moduli/%s from the restored server: %d, %d bytes (want the %d uploaded)", fx.formID, res.StatusCode, len(body), len(fx.form))
	}
	res, body = httpGet(t, srv.portal+"/.well-known/openid-configuration")
	var disc struct {
		JWKS string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &disc); res.StatusCode != http.StatusOK || err != nil || disc.JWKS == "" {
		t.Fatalf("discovery: %d %q", res.StatusCode, body)
	}
	// serve works the jobs: the periodic ones run as it starts.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, out, _ := runCLI(t, map[string]string{"CIVICO_DATA_DIR": restored}, "jobs", "list", "--state", "done")
		if !slices.ContainsFunc(periodicKinds, func(k string) bool { return !strings.Contains(out, " "+k+" ") }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not run the periodic jobs: %s", out)
		}
	}
	if code, log := srv.stop(); code != 0 {
		t.Fatalf("serve on the restored directory exited %d: %s", code, log)
	}

	// And the data itself, through the packages that own it.
	ctx := context.Background()
	d, err := db.Open(ctx, db.Target{Dialect: db.SQLite, Path: filepath.Join(restored, "civico.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Migrate(ctx, schema()); err != nil {
		t.Fatal(err)
	}
	op, err := (&identity.Store{DB: d}).ByEmail(ctx, fx.operator)
	if err != nil || !slices.Contains(op.Roles, "admin") || op.PasswordHash == "" {
		t.Errorf("the operator in the restored database: %+v, %v", op, err)
	}
	store := testFormStore(d, restored)
	f, err := store.Get(ctx, fx.formID)
	if err != nil {
		t.Fatal(err)
	}
	file, err := store.Open(f.Latest)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(file)
	_ = file.Close()
	if err != nil || !bytes.Equal(got, fx.form) {
		t.Errorf("the restored form's file: %d bytes, %v", len(got), err)
	}
	if n, err := (&audit.Log{DB: d}).Verify(ctx); err != nil || n < fx.audited {
		t.Errorf("the restored audit log: %d entries (%d before), %v", n, fx.audited, err)
	}
	ca, err := cardca.Open(filepath.Join(restored, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(ca.Files().CAKey); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the restored CA key: %v %v", fi, err)
	}
	if code, stdout, _ := runCLI(t, map[string]string{"CIVICO_DATA_DIR": restored}, "audit", "verify"); code != 0 {
		t.Errorf("civico audit verify on the restored directory: %d %q", code, stdout)
	}
	if code, stdout, _ := runCLI(t, map[string]string{"CIVICO_DATA_DIR": restored}, "jobs", "list", "--state", "pending", "--kind", "test.broken"); code != 0 || !strings.Contains(stdout, "scheduled") {
		t.Errorf("the job waiting in the backup: %d %q", code, stdout)
	}
}

// runningServe is civico serve running in this process.
type runningServe struct {
	portal string
	done   chan int
	log    *lockedBuffer
	prev   *slog.Logger
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServe runs civico serve with env (and free addresses) until it
// answers /healthz.
func startServe(t *testing.T, env map[string]string) *runningServe {
	t.Helper()
	env["CIVICO_ADDR"], env["CIVICO_PARTECIPA_ADDR"], env["CIVICO_ACCESS_LOG"] = freeAddr(t), freeAddr(t), "false"
	s := &runningServe{portal: "http://" + env["CIVICO_ADDR"], done: make(chan int, 1), log: &lockedBuffer{}, prev: slog.Default()}
	go func() { s.done <- run([]string{"serve"}, io.Discard, s.log, func(k string) string { return env[k] }) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case code := <-s.done:
			slog.SetDefault(s.prev)
			t.Fatalf("serve exited %d before answering: %s", code, s.log)
		default:
		}
		if res, err := http.Get(s.portal + "/healthz"); err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not answer in 30 s: %s", s.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends the process SIGINT, which serve takes as its signal to stop
// (it is listening for it while it runs), and waits for it.
func (s *runningServe) stop() (int, string) {
	http.DefaultClient.CloseIdleConnections()
	p, err := os.FindProcess(os.Getpid())
	if err == nil {
		err = p.Signal(os.Interrupt)
	}
	if err != nil {
		return -1, err.Error()
	}
	code := <-s.done
	slog.SetDefault(s.prev)
	return code, s.log.String()
}

func httpGet(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

func TestRestoreRefuses(t *testing.T) {
	fx := newBackupFixture(t)
	out := filepath.Join(t.TempDir(), "civico.tar.gz")
	if code, stdout, stderr := runCLI(t, map[string]string{"CIVICO_DATA_DIR": fx.dir}, "backup", "--out", out); code != 0 {
		t.Fatalf("backup: %d %q %q", code, stdout, stderr)
	}
	good, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("again onto the same archive", func(t *testing.T) {
		code, _, stderr := runCLI(t, map[string]string{"CIVICO_DATA_DIR": fx.dir}, "backup", "--out", out)
		if after, _ := os.ReadFile(out); code != 1 || !strings.Contains(stderr, "already exists") || !bytes.Equal(after, good) {
			t.Errorf("a backup over an existing archive: %d %q", code, stderr)
		}
	})
	t.Run("a non-empty data directory", func(t *testing.T) {
		target := t.TempDir()
		if err := os.WriteFile(filepath.Join(target, "civico.db"), []byte("someone's database"), 0o600); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runCLI(t, nil, "restore", "--from", out, "--data-dir", target)
		if code != 2 || !strings.Contains(stderr, target+" is not empty (it holds civico.db): restore into a new or empty data directory") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("restore into a non-empty directory: %d %q %q", code, stdout, stderr)
		}
		if b, _ := os.ReadFile(filepath.Join(target, "civico.db")); string(b) != "someone's database" {
			t.Errorf("the existing database changed: %q", b)
		}
	})
	t.Run("a byte changed", func(t *testing.T) {
		// One byte of the form's file, the archive compressed again so
		// that only the manifest's SHA-256 can tell.
		bad := rewriteArchive(t, good, func(name string, body []byte) []byte {
			if strings.HasPrefix(name, "forms/") {
				body[len(body)/2] ^= 1
			}
			return body
		})
		p := filepath.Join(t.TempDir(), "bad.tar.gz")
		if err := os.WriteFile(p, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(t.TempDir(), "restored")
		code, stdout, stderr := runCLI(t, nil, "restore", "--from", p, "--data-dir", target)
		if code != 1 || !strings.Contains(stderr, "is damaged") || !strings.Contains(stderr, "nothing was restored") {
			t.Errorf("restore of a damaged archive: %d %q %q", code, stdout, stderr)
		}
		if _, err := os.Stat(target); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the damaged archive made the data directory: %v", err)
		}
	})
	t.Run("a member outside the data directory", func(t *testing.T) {
		evil := rewriteArchive(t, good, func(name string, body []byte) []byte { return body }, tarMember{"../evil.txt", []byte("x")})
		p := filepath.Join(t.TempDir(), "evil.tar.gz")
		if err := os.WriteFile(p, evil, 0o600); err != nil {
			t.Fatal(err)
		}
		parent := t.TempDir()
		code, _, stderr := runCLI(t, nil, "restore", "--from", p, "--data-dir", filepath.Join(parent, "restored"))
		if code != 1 || !strings.Contains(stderr, "leaves the data directory") {
			t.Errorf("restore of an archive with ../evil.txt: %d %q", code, stderr)
		}
		if entries, _ := os.ReadDir(parent); len(entries) > 0 {
			t.Errorf("the refused archive wrote %v", entries)
		}
	})
}

type tarMember struct {
	name string
	body []byte
}

// rewriteArchive changes members' content with edit and adds extra members
// listed in the manifest with their true hashes, then compresses it again.
func rewriteArchive(t *testing.T, archive []byte, edit func(name string, body []byte) []byte, extra ...tarMember) []byte {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	write := func(name string, body []byte) {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(body)), Mode: 0o600}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	for _, x := range extra {
		write(x.name, x.body)
	}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == db.ManifestName && len(extra) > 0 {
			var m db.Manifest
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatal(err)
			}
			for _, x := range extra {
				sum := sha256.Sum256(x.body)
				m.Members = append(m.Members, db.Member{Name: x.name, Size: int64(len(x.body)), SHA256: hex.EncodeToString(sum[:])})
			}
			if body, err = json.Marshal(m); err != nil {
				t.Fatal(err)
			}
		}
		write(h.Name, edit(h.Name, body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// On PostgreSQL the archive holds the files only and says so; restoring it
// restores the files and says to pg_restore the dump.
func TestBackupPostgresFilesOnly(t *testing.T) {
	base := os.Getenv(dbtest.PostgresEnv)
	if base == "" {
		t.Skip(dbtest.SkipMessage)
	}
	ctx := context.Background()
	admin, err := db.Open(ctx, db.Target{Dialect: db.Postgres, URL: base})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	schema := "t_backup_" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`) })
	url := dbtest.WithSearchPath(t, base, schema)

	dir := t.TempDir()
	env := map[string]string{"CIVICO_DATA_DIR": dir, "CIVICO_DATABASE_URL": url, "CIVICO_SECRET_KEY": testSecretKey}
	if code, stdout, stderr := runCLI(t, env, "migrate"); code != 0 {
		t.Fatalf("migrate: %d %q %q", code, stdout, stderr)
	}
	d, err := db.Open(ctx, db.Target{Dialect: db.Postgres, URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := ensureDemo(ctx, town.NewStore(d, 0)); err != nil {
		t.Fatal(err)
	}
	if err := ensureDemoCatalog(ctx, d); err != nil {
		t.Fatal(err)
	}
	store := testFormStore(d, dir)
	pdf := attachmentstest.PDF("Modulo")
	st, err := store.Stage(context.Background(), bytes.NewReader(pdf), "modulo.pdf")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := (&catalog.Store{DB: d}).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f, err := store.Create(ctx, forms.NewForm{ServiceID: cat.Services[0].ID, Title: "Modulo"}, st, forms.Actor{AccountID: "cli"})
	if err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(t.TempDir(), "files.tar.gz")
	code, stdout, stderr := runCLI(t, env, "backup", "--out", out)
	if code != 0 || !strings.Contains(stdout, "without the database") || !strings.Contains(stdout, "pg_dump --format=custom") ||
		!strings.Contains(stdout, "CIVICO_SECRET_KEY is not in this archive") {
		t.Fatalf("backup on PostgreSQL: %d %q %q", code, stdout, stderr)
	}
	names, m := archiveNames(t, out)
	if m.Dialect != db.Postgres || m.Database != "" || slices.Contains(names, db.DatabaseMember) || len(names) != 1 || !strings.HasPrefix(names[0], "forms/") ||
		!strings.Contains(strings.Join(m.Notes, " "), "pg_dump --format=custom") {
		t.Errorf("PostgreSQL archive %v, manifest %+v", names, m)
	}

	// A files-only archive cannot fill a SQLite database: restored into the
	// PostgreSQL configuration, it gives back the files and says the rest.
	restored := filepath.Join(t.TempDir(), "restored")
	code, stdout, stderr = runCLI(t, map[string]string{"CIVICO_DATABASE_URL": url}, "restore", "--from", out, "--data-dir", restored)
	if code != 0 || !strings.Contains(stdout, "pg_restore") {
		t.Fatalf("restore of the files: %d %q %q", code, stdout, stderr)
	}
	rf, err := testFormStore(d, restored).Get(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	file, err := testFormStore(d, restored).Open(rf.Latest)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(file)
	_ = file.Close()
	if !bytes.Equal(got, pdf) {
		t.Errorf("the restored form's file: %d bytes", len(got))
	}

	// A SQLite archive is refused by a PostgreSQL configuration.
	fx := newBackupFixture(t)
	sqliteArchive := filepath.Join(t.TempDir(), "sqlite.tar.gz")
	if code, stdout, stderr := runCLI(t, map[string]string{"CIVICO_DATA_DIR": fx.dir}, "backup", "--out", sqliteArchive); code != 0 {
		t.Fatalf("backup: %d %q %q", code, stdout, stderr)
	}
	target := filepath.Join(t.TempDir(), "other")
	code, _, stderr = runCLI(t, map[string]string{"CIVICO_DATABASE_URL": url}, "restore", "--from", sqliteArchive, "--data-dir", target)
	if code != 2 || !strings.Contains(stderr, "cannot be restored into PostgreSQL") {
		t.Errorf("a SQLite archive into PostgreSQL: %d %q", code, stderr)
	}
	if _, err := os.Stat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the refused restore made %s: %v", target, err)
	}
}
