package db

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrBackupPostgres is returned by Backup on PostgreSQL, whose own tools do it better.
var ErrBackupPostgres = errors.New("civico backup copies SQLite databases; back up PostgreSQL with pg_dump")

// Backup writes a consistent copy of the SQLite database to out while other
// processes keep reading and writing it. The copy appears under its final name
// only once complete.
func (d *DB) Backup(ctx context.Context, out string) error {
	if d.Dialect != SQLite {
		return ErrBackupPostgres
	}
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("%s already exists: choose another name or remove it", out)
	}
	tmp := filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".partial")
	_ = os.Remove(tmp)
	// VACUUM INTO reads one snapshot of the database and writes it compacted.
	if _, err := d.write.ExecContext(ctx, `VACUUM INTO $1`, tmp); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("copy the database: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}
