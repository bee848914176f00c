package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/forms"
	"github.com/civico-pa/civico/internal/oidcop"
)

// What a backup copies from the data directory besides the database: the
// forms library's files (forms.NewStore keeps them in forms/, and uploads
// being received in forms/tmp, which no form names yet), the attachments'
// files (attachments/, less attachments/tmp), the protocol register's
// daily registers (protocol/), the test card authority of the demo (ca/,
// see prepareDemo) and the demo's secret key.
var (
	backupInclude = []string{"forms", "attachments", "protocol", "ca", demoSecretFile}
	backupSkip    = []string{"forms/tmp", "attachments/tmp"}
)

// backup writes one archive of the database (SQLite) and the data
// directory's files, see db.BackupArchive.
func (c *cli) backup(args []string) error {
	cfg, err := loadConfig(c.env)
	if err != nil {
		return err
	}
	fs := c.flags("backup")
	out := fs.String("out", "", "the archive to write, a tar compressed with gzip (must not exist)")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory (CIVICO_DATA_DIR)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "database URL (CIVICO_DATABASE_URL)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("--out FILE is required")
	}
	ctx, stop := signalContext()
	defer stop()
	d, err := c.open(ctx, cfg, newLogger(cfg, c.stderr), false)
	if err != nil {
		return err
	}
	defer d.Close()
	bar := c.progress("backup")
	m, err := d.BackupArchive(ctx, *out, db.BackupOptions{DataDir: cfg.DataDir, Include: backupInclude, Skip: backupSkip,
		Version: buildVersion(), Notes: secretNotes(cfg), Progress: bar.start, Schema: schema()})
	bar.finish()
	if err != nil {
		return err
	}
	n, size := m.Files()
	if m.Database != "" {
		fmt.Fprintf(c.stdout, "%s (schema version %d) and %d files (%s) of %s written to %s\n",
			d.Describe(), m.Schema, n, forms.HumanSize(size, "en"), cfg.DataDir, *out)
	} else {
		fmt.Fprintf(c.stdout, "%d files (%s) of %s written to %s, without the database\n", n, forms.HumanSize(size, "en"), cfg.DataDir, *out)
		fmt.Fprintf(c.stdout, "%s: back it up with pg_dump, at the same time: pg_dump --format=custom --file=civico-$(date +%%F).dump \"$CIVICO_DATABASE_URL\"\n", d.Describe())
	}
	for _, note := range m.Notes {
		fmt.Fprintf(c.stdout, "Note: %s\n", note)
	}
	return nil
}

// secretNotes say where the secret that seals the OpenID Connect signing
// keys is: the demo's is a file of the data directory, copied with it; a
// real installation's comes from the environment and is not copied, so that
// an archive alone does not open the keys.
func secretNotes(cfg config) []string {
	var notes []string
	_, err := os.Stat(filepath.Join(cfg.DataDir, demoSecretFile))
	demo := err == nil
	if demo {
		notes = append(notes, demoSecretFile+", the demo's secret key, which seals its OpenID Connect signing keys, is in this archive: keep the archive as private as the key.")
	}
	if cfg.SecretKey != "" || !demo {
		notes = append(notes, "CIVICO_SECRET_KEY is not in this archive. The OpenID Connect signing keys in the database are sealed with it: a restored civico refuses to start without the same secret. Keep it apart from the archives (in the vault or password manager it comes from), where you will find it to restore.")
	}
	return notes
}

// restore restores a backup archive into an empty data directory, see
// db.Restore, then opens the database as civico serve would and says
// whether the signing keys open with the secret it would have.
func (c *cli) restore(args []string) error {
	cfg, err := loadConfig(c.env)
	if err != nil {
		return err
	}
	fs := c.flags("restore")
	from := fs.String("from", "", "the archive civico backup wrote")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "the data directory to restore into, missing or empty (CIVICO_DATA_DIR)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "database URL (CIVICO_DATABASE_URL)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *from == "" {
		return usagef("--from FILE is required")
	}
	if strings.TrimSpace(cfg.DataDir) == "" {
		return usagef("CIVICO_DATA_DIR must not be empty")
	}
	if _, err := os.Stat(*from); err != nil {
		return usagef("--from: %v", err)
	}
	target, err := db.ParseURL(cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return usagef("CIVICO_DATABASE_URL: %v", err)
	}
	ctx, stop := signalContext()
	defer stop()
	bar := c.progress("restore")
	m, err := db.Restore(ctx, *from, db.RestoreOptions{DataDir: cfg.DataDir, Database: target, Progress: bar.start, Schema: schema()})
	bar.finish()
	switch {
	case errors.Is(err, db.ErrNotEmpty):
		return usagef("%v: restore into a new or empty data directory (--data-dir DIR)", err)
	case errors.Is(err, db.ErrDialect):
		return usagef("%v: unset CIVICO_DATABASE_URL to restore into SQLite", err)
	case err != nil:
		return fmt.Errorf("%w (nothing was restored)", err)
	}
	n, size := m.Files()
	made := fmt.Sprintf("made by civico %s on %s", m.Civico, m.Created.Format(time.DateTime+" MST"))
	if m.Database == "" {
		fmt.Fprintf(c.stdout, "%d files (%s) restored into %s from %s, %s on PostgreSQL\n", n, forms.HumanSize(size, "en"), cfg.DataDir, *from, made)
		fmt.Fprintf(c.stdout, "The archive holds no database: restore the pg_dump made with it (schema version %d) into an empty database, with pg_restore --no-owner --dbname=\"$CIVICO_DATABASE_URL\" FILE.dump, and start civico with CIVICO_DATA_DIR=%s and that CIVICO_DATABASE_URL.\n",
			m.Schema, cfg.DataDir)
		return nil
	}
	fmt.Fprintf(c.stdout, "the database (schema version %d) and %d files (%s) restored into %s from %s, %s\n",
		m.Schema, n, forms.HumanSize(size, "en"), cfg.DataDir, *from, made)
	// Open it as civico serve does (which refuses a schema newer than it
	// knows), without migrating: the first serve does.
	d, err := c.open(ctx, cfg, newLogger(cfg, c.stderr), false)
	if err != nil {
		return err
	}
	defer d.Close()
	return c.checkRestoredKeys(ctx, cfg, d)
}

// checkRestoredKeys says whether the restored signing keys open with the
// secret civico would start with: CIVICO_SECRET_KEY, or the demo's file.
// It changes nothing: without a key in force, the first start makes one.
func (c *cli) checkRestoredKeys(ctx context.Context, cfg config, d *db.DB) error {
	keys := &oidcop.Keys{DB: d}
	list, err := keys.List(ctx)
	if err != nil {
		return err
	}
	inForce := false
	for _, k := range list {
		inForce = inForce || k.RetiredAt == nil
	}
	if !inForce {
		return nil
	}
	secret, source := cfg.SecretKey, "CIVICO_SECRET_KEY" // #nosec G101 -- the configured secret and the name of its variable, no credential in the code
	if secret == "" {
		p := filepath.Join(cfg.DataDir, demoSecretFile)
		if b, err := os.ReadFile(p); err == nil { // #nosec G304 -- the demo's own secret file, just restored
			secret, source = strings.TrimSpace(string(b)), p+" (civico demo reads it; for civico serve, set CIVICO_SECRET_KEY_FILE="+p+")"
		}
	}
	if secret == "" {
		fmt.Fprintln(c.stdout, "The OpenID Connect signing keys are sealed with the CIVICO_SECRET_KEY of the installation backed up: set it (or CIVICO_SECRET_KEY_FILE) for civico serve, which refuses to start without it.")
		return nil
	}
	s, err := oidcop.NewSecret([]byte(secret))
	if err == nil {
		keys.Secret = s
		_, err = keys.SigningKey(ctx)
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "civico restore: warning: the OpenID Connect signing keys do not open with %s (%v): civico serve refuses to start until it has the CIVICO_SECRET_KEY of the installation backed up\n", source, err)
		return nil
	}
	fmt.Fprintf(c.stdout, "The OpenID Connect signing keys open with %s.\n", source)
	return nil
}

// progressBar shows the bytes copied on standard error when it is a
// terminal: not in the mail of a scheduled backup.
type progressBar struct{ bar *progressbar.ProgressBar }

func (c *cli) progress(what string) *progressBar {
	if f, ok := c.stderr.(*os.File); !ok || !isTerminal(f) {
		return &progressBar{}
	}
	return &progressBar{bar: progressbar.NewOptions64(-1, progressbar.OptionSetWriter(c.stderr), progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())}
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (p *progressBar) start(total int64) io.Writer {
	if p.bar == nil {
		return io.Discard
	}
	p.bar.ChangeMax64(total)
	return p.bar
}

func (p *progressBar) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
