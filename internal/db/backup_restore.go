package db

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
)

// RestoreOptions says where Restore writes.
type RestoreOptions struct {
	// DataDir receives the files; it must be missing or empty.
	DataDir string
	// Database is the configured database. A SQLite file receives the
	// archive's database and must not exist; a PostgreSQL target refuses an
	// archive holding a database (ErrDialect): restore its pg_dump with
	// pg_restore.
	Database Target
	// Progress, when set, is called once with the bytes to read and then
	// written every byte read.
	Progress func(total int64) io.Writer
	// Schema is what this civico builds databases from: an archive whose
	// database is newer than it knows is refused.
	Schema Schema
}

// Restore restores a backup archive made by BackupArchive into an empty data
// directory (created if missing) and, when the archive holds one, the
// SQLite database file. It reads the archive twice: once to check every
// member against the manifest, writing nothing, then to write them, checking
// them again; if anything fails on the way, what it wrote is removed and the
// target is left as it was. Directories are made 0700, files keep their
// permissions within 0640 (the keys stay 0600). It refuses a non-empty target
// (ErrNotEmpty), a damaged archive (ErrArchive) and one whose database
// schema is newer than this civico knows (ErrSchemaTooNew).
func Restore(ctx context.Context, from string, opt RestoreOptions) (*Manifest, error) {
	if err := restoreTargetEmpty(opt); err != nil {
		return nil, err
	}
	fi, err := os.Stat(from)
	if err != nil {
		return nil, err
	}
	progress := io.Discard
	if opt.Progress != nil {
		progress = opt.Progress(2 * fi.Size())
	}

	// Pass 1: check, write nothing.
	m, err := readArchiveFile(from, progress, nil)
	if err != nil {
		return nil, err
	}
	if m.Database != "" && opt.Database.Dialect != SQLite {
		return nil, ErrDialect
	}
	ms, err := opt.Schema.Migrations(m.Dialect)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, errors.New("restore: no schema to check the archive against")
	}
	if known := ms[len(ms)-1].Version; m.Schema > known {
		return nil, fmt.Errorf("%w: the archive's database is at version %d, this civico knows up to %d; restore it with a newer civico", ErrSchemaTooNew, m.Schema, known)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Pass 2: write. The target was empty when checked, and is checked
	// again now that the archive is known good.
	if err := restoreTargetEmpty(opt); err != nil {
		return nil, err
	}
	createdDir := false
	if _, err := os.Stat(opt.DataDir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(opt.DataDir), 0o750); err != nil {
			return nil, err
		}
		if err := os.Mkdir(opt.DataDir, 0o700); err != nil {
			return nil, err
		}
		createdDir = true
	}
	root, err := os.OpenRoot(opt.DataDir)
	if err != nil {
		return nil, err
	}
	defer func() { _ = root.Close() }()
	dbWritten := false
	ok := false
	defer func() {
		if ok {
			return
		}
		// Remove what was written: the target was empty.
		if dbWritten {
			for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
				_ = os.Remove(opt.Database.Path + suffix)
			}
		}
		if entries, err := os.ReadDir(opt.DataDir); err == nil {
			for _, e := range entries {
				_ = root.RemoveAll(e.Name())
			}
		}
		if createdDir {
			_ = os.Remove(opt.DataDir)
		}
	}()
	write := func(name string, mode fs.FileMode, content io.Reader) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Owner read and write always, group read at most, nothing else.
		mode = mode&0o640 | 0o600
		if name == m.Database {
			if err := os.MkdirAll(filepath.Dir(opt.Database.Path), 0o750); err != nil {
				return err
			}
			f, err := os.OpenFile(opt.Database.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) // #nosec G304 -- the configured database file
			if err != nil {
				return err
			}
			dbWritten = true
			return writeAll(f, content)
		}
		if dir := path.Dir(name); dir != "." {
			if err := root.MkdirAll(dir, 0o700); err != nil {
				return err
			}
		}
		// os.Root refuses to leave the directory, through ".." or a link,
		// whatever ReadArchive let through; O_EXCL refuses an existing file.
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if err != nil {
			return err
		}
		return writeAll(f, content)
	}
	again, err := readArchiveFile(from, progress, write)
	if err != nil {
		return nil, err
	}
	// The archive changed between the passes: what was written may not be
	// what was checked.
	if again.Database != m.Database || again.Dialect != m.Dialect || again.Schema != m.Schema || !slices.Equal(again.Members, m.Members) {
		return nil, fmt.Errorf("%w: %s changed while it was restored", ErrArchive, from)
	}
	if m.Database != "" {
		v, err := fileSchema(ctx, opt.Database.Path)
		if err != nil {
			return nil, fmt.Errorf("%w: the database does not open: %v", ErrArchive, err)
		}
		if v != m.Schema {
			return nil, fmt.Errorf("%w: the database is at schema version %d, the manifest says %d", ErrArchive, v, m.Schema)
		}
		if err := syncDir(filepath.Dir(opt.Database.Path)); err != nil {
			return nil, err
		}
	}
	err = fs.WalkDir(root.FS(), ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.IsDir() {
			return err
		}
		d, err := root.Open(p)
		if err != nil {
			return err
		}
		defer func() { _ = d.Close() }()
		return d.Sync()
	})
	if err != nil {
		return nil, err
	}
	if createdDir {
		if err := syncDir(filepath.Dir(opt.DataDir)); err != nil {
			return nil, err
		}
	}
	ok = true
	return m, nil
}

func writeAll(f *os.File, content io.Reader) error {
	_, err := io.Copy(f, content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func readArchiveFile(name string, progress io.Writer, each func(string, fs.FileMode, io.Reader) error) (*Manifest, error) {
	f, err := os.Open(name) // #nosec G304 -- the archive the operator named with --from
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return ReadArchive(io.TeeReader(f, progress), each)
}

// restoreTargetEmpty refuses a data directory that holds anything, and a
// SQLite database file that exists.
func restoreTargetEmpty(opt RestoreOptions) error {
	if opt.DataDir == "" {
		return errors.New("no data directory to restore into")
	}
	fi, err := os.Stat(opt.DataDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory: the target is %w", opt.DataDir, ErrNotEmpty)
	default:
		entries, err := os.ReadDir(opt.DataDir)
		if err != nil {
			return err
		}
		if len(entries) > 0 {
			return fmt.Errorf("%s is %w (it holds %s)", opt.DataDir, ErrNotEmpty, entries[0].Name())
		}
	}
	if opt.Database.Dialect == SQLite {
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			if _, err := os.Lstat(opt.Database.Path + suffix); err == nil {
				return fmt.Errorf("the database file %s exists: the target is %w", opt.Database.Path+suffix, ErrNotEmpty)
			}
		}
	}
	return nil
}
