package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/payments"
	"github.com/civico-pa/civico/internal/town"
)

// `civico payments import FILE` creates the positions as the back
// office's job does (the same code), lists the import among the back
// office's, and refuses the same file again, on either database.
func TestPaymentsImportCommand(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			env := map[string]string{"CIVICO_DATA_DIR": dir}
			if dialect == db.Postgres {
				base := os.Getenv(dbtest.PostgresEnv)
				if base == "" {
					t.Skip(dbtest.SkipMessage)
				}
				admin, err := db.Open(ctx, db.Target{Dialect: db.Postgres, URL: base})
				if err != nil {
					t.Fatal(err)
				}
				defer admin.Close()
				schema := "t_payimport_" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
				if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _, _ = admin.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`) })
				env["CIVICO_DATABASE_URL"] = dbtest.WithSearchPath(t, base, schema)
			}
			if code, out, errOut := runCLI(t, env, "migrate"); code != 0 {
				t.Fatalf("migrate: %d %q %q", code, out, errOut)
			}
			target, err := db.ParseURL(env["CIVICO_DATABASE_URL"], dir)
			if err != nil {
				t.Fatal(err)
			}
			d, err := db.Open(ctx, target)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if err := ensureDemo(ctx, town.NewStore(d, 0)); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, "mensa-novembre.csv")
			if err := os.WriteFile(file, canteenImport("NOV", 30), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runCLI(t, env, "payments", "import", file)
			if code != 0 || !strings.Contains(out, "imported 30 positions, € 135,00") || !strings.Contains(errOut, "importing: 30/30") {
				t.Fatalf("import: %d %q %q", code, out, errOut)
			}
			s := &payments.Service{DB: d}
			runs, total, err := s.ImportRuns(ctx, 1)
			if err != nil || total != 1 || runs[0].Status != payments.ImportDone || runs[0].By != "cli" || runs[0].Name != "mensa-novembre.csv" ||
				runs[0].Positions != 30 || runs[0].Notices != 30 || runs[0].Done != 30 {
				t.Fatalf("the command line's import among the back office's: %d %+v %v", total, runs, err)
			}
			if code, _, errOut := runCLI(t, env, "payments", "import", file); code == 0 || !strings.Contains(errOut, "this file was imported before: nothing imported") {
				t.Fatalf("the same file again: %d %q", code, errOut)
			}
			var n int
			if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM payments_positions`).Scan(&n); err != nil || n != 30 {
				t.Fatalf("%d positions, %v", n, err)
			}
		})
	}
}
