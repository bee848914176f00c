package attachments

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/db"
)

// Blobs keeps files by content under Dir, one file per SHA-256:
//
//	<Dir>/ab/ab12...ef    mode 0640, one file per distinct content
//	<Dir>/tmp/upload-*    uploads being received
//
// An upload is streamed to a temporary file while hashed, checked (Policy)
// and scanned (Scanner), synced, and renamed into place (Put) inside the
// transaction that records the row naming it, so no row ever names a file
// that is not complete on disk. The rows are the owner's (the attachments
// table, the forms library's versions): Referenced lists the hashes they
// name, and GC removes the files no row names (left by a transaction that
// rolled back, or a crash between the rename and the commit).
type Blobs struct {
	DB *db.DB
	// Dir holds the files. Stage fails while it is empty.
	Dir string
	// Lock orders placing files (shared, in the placing transaction)
	// against collecting them (exclusive).
	Lock db.Lock
	// Referenced is the query listing the hashes the owner's rows name,
	// one column (the owner's own table: a constant of its package).
	Referenced string
	// Scanner looks for viruses in every upload (none when nil).
	Scanner Scanner
	Now     func() time.Time
}

func (s *Blobs) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Staged is an uploaded file received, hashed, checked and scanned, not yet
// named by a row. Put places it; Discard removes it otherwise.
type Staged struct {
	SHA256   string
	Size     int64
	Type     Type
	Filename string // sanitised, with the extension of Type
	path     string // the temporary file until it is placed
}

// Discard removes the temporary file, if it is still there.
func (st *Staged) Discard() {
	if st != nil && st.path != "" {
		_ = os.Remove(st.path) // a leftover would be removed by GC
		st.path = ""
	}
}

// Errors of receiving a file.
var (
	// ErrTooLarge: the file is larger than the policy's limit.
	ErrTooLarge = errors.New("the file is larger than the limit")
	errNoDir    = errors.New("attachments: no data directory configured")
)

// Stage receives a file: it streams r to a temporary file under Dir,
// hashing it on the way and stopping after p.Max() bytes (ErrTooLarge),
// checks its type by content (ErrEmpty, ErrType, ErrMacro, ErrExpands,
// ErrScript), has it scanned (ErrInfected, or ErrScanFailed when the
// scanner cannot say) and syncs it to disk. name is the name it was
// uploaded with, kept sanitised (fallback when nothing of it is left).
// Whatever goes wrong, nothing stays on disk.
func (s *Blobs) Stage(ctx context.Context, r io.Reader, name, fallback string, p Policy) (*Staged, error) {
	if s.Dir == "" {
		return nil, errNoDir
	}
	tmpDir := filepath.Join(s.Dir, "tmp")
	if err := os.MkdirAll(tmpDir, 0o750); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(tmpDir, "upload-*")
	if err != nil {
		return nil, err
	}
	st := &Staged{path: f.Name()}
	ok := false
	defer func() {
		if !ok {
			_ = f.Close()
			st.Discard()
		}
	}()
	if err := f.Chmod(0o640); err != nil {
		return nil, err
	}
	h := sha256.New()
	max := p.Max()
	n, err := io.CopyBuffer(io.MultiWriter(f, h), io.LimitReader(readErrors{r}, max+1), make([]byte, 64<<10))
	if err != nil {
		return nil, err
	}
	if n > max {
		return nil, ErrTooLarge
	}
	if st.Type, err = p.Detect(f, n); err != nil {
		return nil, err
	}
	if s.Scanner != nil {
		if err := s.Scanner.Scan(ctx, io.NewSectionReader(f, 0, n)); err != nil {
			return nil, err
		}
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	st.SHA256, st.Size, st.Filename = hex.EncodeToString(h.Sum(nil)), n, SanitizeFilename(name, st.Type, fallback)
	ok = true
	return st, nil
}

// ReadError is a failure to read the upload itself (the client went away,
// sent a malformed body, or more than the server accepts), as opposed to a
// failure of the server's disk.
type ReadError struct{ Err error }

func (e *ReadError) Error() string { return "reading the upload: " + e.Err.Error() }
func (e *ReadError) Unwrap() error { return e.Err }

type readErrors struct{ r io.Reader }

func (r readErrors) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = &ReadError{err}
	}
	return n, err
}

// path is where the file with this hash lives.
func (s *Blobs) path(sum string) (string, error) {
	if len(sum) != 64 || strings.Trim(sum, "0123456789abcdef") != "" {
		return "", fmt.Errorf("attachments: bad file hash %q", sum)
	}
	return filepath.Join(s.Dir, sum[:2], sum), nil
}

// Open opens the file with this SHA-256 for reading.
func (s *Blobs) Open(sum string) (*os.File, error) {
	p, err := s.path(sum)
	if err != nil {
		return nil, err
	}
	return os.Open(p) // #nosec G304 -- p is Dir/<2 hex>/<64 hex>, from a hash path() has validated
}

// lock orders placing files (shared) and collecting them (exclusive).
func (s *Blobs) lock(ctx context.Context, tx *sql.Tx, exclusive bool) error {
	if exclusive {
		return s.DB.Hold(ctx, tx, s.Lock)
	}
	return s.DB.HoldShared(ctx, tx, s.Lock)
}

// place moves a staged file to its final name, unless a file with the same
// content is there already. It reports whether it created the file.
func (s *Blobs) place(st *Staged) (bool, error) {
	final, err := s.path(st.SHA256)
	if err != nil {
		return false, err
	}
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return false, err
	}
	if same, err := hasContent(final, st.SHA256, st.Size); err != nil {
		return false, err
	} else if same {
		return false, nil
	}
	if st.path == "" {
		return false, errors.New("attachments: staged file already used")
	}
	if err := os.Rename(st.path, final); err != nil {
		return false, err
	}
	st.path = ""
	if err := syncDir(dir); err != nil {
		return true, err
	}
	return true, syncDir(s.Dir)
}

// hasContent reports whether the file at p exists with exactly this
// content; a damaged copy is replaced by the caller.
func hasContent(p, sum string, size int64) (bool, error) {
	f, err := os.Open(p) // #nosec G304 -- p is Dir/<2 hex>/<64 hex>, from a hash path() has validated
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer func() { _ = f.Close() }()
	if fi, err := f.Stat(); err != nil || fi.Size() != size {
		return false, err
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, err
	}
	return hex.EncodeToString(h.Sum(nil)) == sum, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir) // #nosec G304 -- dir is Dir or one of its <2 hex> subdirectories
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	return d.Sync()
}

// Put places a staged file in tx, the transaction that records the row
// naming it: under the shared lock, so that GC, which takes it
// exclusively, waits for the row. If tx rolls back, GC removes the file
// later (unless another row names the same content). It reports whether
// it created the file (false when the same content was there already).
func (s *Blobs) Put(ctx context.Context, tx *sql.Tx, st *Staged) (bool, error) {
	if st == nil {
		return false, errors.New("attachments: no staged file")
	}
	if err := s.lock(ctx, tx, false); err != nil {
		return false, err
	}
	return s.place(st)
}

// WithFile runs fn in a write transaction after placing the staged file.
// The staged file is consumed either way; a file placed by a transaction
// that then failed is removed at once if nothing else references it.
func (s *Blobs) WithFile(ctx context.Context, st *Staged, fn func(tx *sql.Tx) error) error {
	defer st.Discard()
	created := false
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if created, err = s.Put(ctx, tx, st); err != nil {
			return err
		}
		return fn(tx)
	})
	if err != nil && created {
		_, _ = s.collect(ctx, map[string]bool{st.SHA256: true}, false)
	}
	return err
}

// staleUpload is how old a temporary file must be before GC takes it for
// the leftover of an interrupted upload.
const staleUpload = 24 * time.Hour

// GC removes the files no row references (left by a rolled-back
// transaction or a crash between placing a file and committing its row)
// and temporary files of uploads interrupted more than a day ago. It
// returns how many it removed.
func (s *Blobs) GC(ctx context.Context) (int, error) {
	if s.Dir == "" {
		return 0, nil
	}
	return s.collect(ctx, nil, true)
}

// collect removes the unreferenced files among only (every file when only
// is nil), under the exclusive lock; stale temporary files too if asked.
func (s *Blobs) collect(ctx context.Context, only map[string]bool, temps bool) (int, error) {
	removed := 0
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		removed = 0
		if err := s.lock(ctx, tx, true); err != nil {
			return err
		}
		refs := map[string]bool{}
		rows, err := tx.QueryContext(ctx, s.Referenced)
		if err != nil {
			return err
		}
		for rows.Next() {
			var sum string
			if err := rows.Scan(&sum); err != nil {
				_ = rows.Close()
				return err
			}
			refs[sum] = true
		}
		_ = rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		dirs, err := os.ReadDir(s.Dir)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, d := range dirs {
			name := d.Name()
			if !d.IsDir() {
				continue
			}
			if name == "tmp" {
				if temps {
					n, err := removeStale(filepath.Join(s.Dir, name), s.now().Add(-staleUpload))
					removed += n
					if err != nil {
						return err
					}
				}
				continue
			}
			if len(name) != 2 {
				continue
			}
			files, err := os.ReadDir(filepath.Join(s.Dir, name))
			if err != nil {
				return err
			}
			for _, f := range files {
				sum := f.Name()
				if _, err := s.path(sum); err != nil || sum[:2] != name || refs[sum] || (only != nil && !only[sum]) {
					continue
				}
				if err := os.Remove(filepath.Join(s.Dir, name, sum)); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
				removed++
			}
		}
		return nil
	})
	return removed, err
}

func removeStale(dir string, before time.Time) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || e.IsDir() || !strings.HasPrefix(e.Name(), "upload-") || !info.ModTime().Before(before) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err == nil {
			n++
		}
	}
	return n, nil
}
