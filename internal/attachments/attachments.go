// Package attachments receives the files residents and features upload
// (an application's documents, a report's photographs, a signed receipt)
// and keeps them: every file is checked by its content (Policy.Detect:
// the type it really is, whatever its name; macros, scripts and bombs
// refused), scanned for viruses (Scanner: none by default, clamd when
// configured), and stored once per content under the data directory,
// named by its SHA-256 (Blobs), never by the name it was uploaded with,
// which is kept sanitised as the row's filename.
//
// Each row is owned (Owner): by an account, or by a feature's record. A
// read names the owner in the WHERE clause, so a resident sees only their
// own files, and another's is "not found". A feature adds a file in its own
// transaction (Store.Add) with the rows that refer to it, and deletes it
// the same way; GC removes the files no row names any more.
//
// The forms library keeps its files with the same Blobs, in its own folder.
package attachments

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/problem"
	tokens "github.com/civico-pa/civico/internal/token"
)

// Owner is who an attachment belongs to: an account ("account:<id>") or a
// feature's record ("<feature>:<kind>:<id>").
type Owner string

// Account is the owner of a resident's own uploads.
func Account(id string) Owner { return Owner("account:" + id) }

// Record is the owner of a feature's record: Record("sportello",
// "application", id) is "sportello:application:<id>".
func Record(feature, kind, id string) Owner { return Owner(feature + ":" + kind + ":" + id) }

var ownerRE = regexp.MustCompile(`^[a-z][a-z0-9-]*(:[A-Za-z0-9_.-]+)+$`)

func (o Owner) valid() bool { return len(o) <= 200 && ownerRE.MatchString(string(o)) }

// Attachment is a stored file of an owner.
type Attachment struct {
	ID        string
	Owner     Owner
	Filename  string
	MediaType string
	Size      int64
	SHA256    string
	CreatedAt time.Time
}

// Type is the attachment's file type.
func (a *Attachment) Type() Type { t, _ := TypeOf(a.MediaType); return t }

// Store keeps attachments: rows in the database, files under Dir.
type Store struct {
	DB *db.DB
	// Files are the files, by content, under <data dir>/attachments.
	Files *Blobs
	Now   func() time.Time
}

// referenced lists the hashes attachments name (Blobs.Referenced).
const referenced = `SELECT DISTINCT sha256 FROM attachments`

// NewStore returns the store keeping files under dataDir/attachments,
// scanned by scanner (nil: NoScan).
func NewStore(d *db.DB, dataDir string, scanner Scanner) *Store {
	if scanner == nil {
		scanner = NoScan{}
	}
	b := &Blobs{DB: d, Lock: db.LockAttachmentFiles, Referenced: referenced, Scanner: scanner}
	if dataDir != "" {
		b.Dir = filepath.Join(dataDir, "attachments")
	}
	return &Store{DB: d, Files: b}
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

// Errors of the store.
var (
	// ErrNotFound: no such attachment, or not the owner's.
	ErrNotFound = problem.New(problem.NotFound, "", errors.New("attachment not found"))
	errOwner    = errors.New("attachments: not an owner")
)

// Stage receives an upload under policy p (DefaultPolicy when zero): see
// Blobs.Stage. It needs no transaction; Add then records it.
func (s *Store) Stage(ctx context.Context, r io.Reader, name string, p Policy) (*Staged, error) {
	if len(p.Types) == 0 && p.MaxSize == 0 {
		p = DefaultPolicy
	}
	return s.Files.Stage(ctx, r, name, "documento", p)
}

// Add records a staged file as owner's in tx, the caller's transaction,
// and consumes it. If tx rolls back, the row does not exist and the file
// is collected by GC.
func (s *Store) Add(ctx context.Context, tx *sql.Tx, owner Owner, st *Staged) (*Attachment, error) {
	defer st.Discard()
	if !owner.valid() {
		return nil, errOwner
	}
	if _, err := s.Files.Put(ctx, tx, st); err != nil {
		return nil, err
	}
	a := &Attachment{ID: tokens.ID(), Owner: owner, Filename: st.Filename, MediaType: st.Type.MediaType, Size: st.Size,
		SHA256: st.SHA256, CreatedAt: s.now()}
	_, err := tx.ExecContext(ctx, `INSERT INTO attachments (id, owner, filename, media_type, size, sha256, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, a.ID, string(a.Owner), a.Filename, a.MediaType, a.Size, a.SHA256, a.CreatedAt)
	if err != nil {
		return nil, err
	}
	return a, nil
}

const selectAttachment = `SELECT id, owner, filename, media_type, size, sha256, created_at FROM attachments`

func scanAttachment(r interface{ Scan(...any) error }) (*Attachment, error) {
	a := &Attachment{}
	var owner string
	if err := r.Scan(&a.ID, &owner, &a.Filename, &a.MediaType, &a.Size, &a.SHA256, &a.CreatedAt); err != nil {
		return nil, err
	}
	a.Owner, a.CreatedAt = Owner(owner), a.CreatedAt.UTC()
	return a, nil
}

// validID is the shape of the ids tokens.ID makes.

// Get reads owner's attachment id; another owner's is ErrNotFound.
func (s *Store) Get(ctx context.Context, owner Owner, id string) (*Attachment, error) {
	if !validID(id) || !owner.valid() {
		return nil, ErrNotFound
	}
	a, err := scanAttachment(s.DB.QueryRowContext(ctx, selectAttachment+` WHERE id = $1 AND owner = $2`, id, string(owner)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return a, err
}

// MaxPage is the most attachments List returns at once.
const MaxPage = 50

// List returns owner's attachments, oldest first, at most limit (MaxPage
// at most) from offset, and how many owner has.
func (s *Store) List(ctx context.Context, owner Owner, limit, offset int) ([]*Attachment, int, error) {
	if !owner.valid() {
		return nil, 0, nil
	}
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM attachments WHERE owner = $1`, string(owner)).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.DB.QueryContext(ctx, selectAttachment+` WHERE owner = $1 ORDER BY created_at, id LIMIT $2 OFFSET $3`,
		string(owner), min(max(limit, 1), MaxPage), max(offset, 0))
	if err != nil {
		return nil, 0, err
	}
	defer func() { _ = rows.Close() }()
	var out []*Attachment
	for rows.Next() {
		a, err := scanAttachment(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, a)
	}
	return out, total, rows.Err()
}

// maxOwnersPerStatement bounds the owners OfOwners asks for in one
// statement (its parameters).
const maxOwnersPerStatement = 500

// OfOwners returns the attachments of each of owners, oldest first, in as
// few statements as their number allows (one for up to 500): a list of
// records reads its files together, never one statement per record.
// Owners not valid have none.
func (s *Store) OfOwners(ctx context.Context, owners []Owner) (map[Owner][]*Attachment, error) {
	out := map[Owner][]*Attachment{}
	var valid []string
	for _, o := range owners {
		if o.valid() {
			valid = append(valid, string(o))
		}
	}
	for len(valid) > 0 {
		chunk := valid[:min(len(valid), maxOwnersPerStatement)]
		valid = valid[len(chunk):]
		in, args := db.InList(nil, chunk)
		// #nosec G202 -- in is a list of placeholders; the owners are parameters
		rows, err := s.DB.QueryContext(ctx, selectAttachment+` WHERE owner IN `+in+` ORDER BY created_at, id`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			a, err := scanAttachment(rows)
			if err != nil {
				_ = rows.Close()
				return nil, err
			}
			out[a.Owner] = append(out[a.Owner], a)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Open opens owner's attachment id for reading.
func (s *Store) Open(ctx context.Context, owner Owner, id string) (*Attachment, *os.File, error) {
	a, err := s.Get(ctx, owner, id)
	if err != nil {
		return nil, nil, err
	}
	f, err := s.Files.Open(a.SHA256)
	if err != nil {
		return nil, nil, err
	}
	return a, f, nil
}

// Move gives owner's attachment id to another owner in tx (a draft's
// upload becoming part of the application it was attached to).
func (s *Store) Move(ctx context.Context, tx *sql.Tx, owner, to Owner, id string) error {
	if !to.valid() {
		return errOwner
	}
	return s.affect(ctx, tx, `UPDATE attachments SET owner = $3 WHERE id = $1 AND owner = $2`, id, string(owner), string(to))
}

// Delete removes owner's attachment id in tx; its file goes with the next
// GC unless another row names the same content.
func (s *Store) Delete(ctx context.Context, tx *sql.Tx, owner Owner, id string) error {
	return s.affect(ctx, tx, `DELETE FROM attachments WHERE id = $1 AND owner = $2`, id, string(owner))
}

// DeleteOwned removes every attachment of owner in tx (a record purged at
// the end of its retention) and says how many.
func (s *Store) DeleteOwned(ctx context.Context, tx *sql.Tx, owner Owner) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM attachments WHERE owner = $1`, string(owner))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s *Store) affect(ctx context.Context, tx *sql.Tx, query string, id string, args ...any) error {
	if !validID(id) {
		return ErrNotFound
	}
	res, err := tx.ExecContext(ctx, query, append([]any{id}, args...)...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrNotFound
	}
	return nil
}

// GC removes the files no attachment names, and stale temporary files.
func (s *Store) GC(ctx context.Context) (int, error) {
	if s.Files.Dir == "" {
		return 0, nil
	}
	return s.Files.GC(ctx)
}

// Serve sends an attachment's file: its detected type, as an attachment
// (never displayed in the page), in a sandbox should a browser render it
// anyway, with its hash as ETag; Range and conditional requests are
// answered by http.ServeContent. cache is the Cache-Control value.
func Serve(w http.ResponseWriter, r *http.Request, f io.ReadSeeker, filename, mediaType, sha string, modified time.Time, cache string) {
	hd := w.Header()
	hd.Set("Content-Type", mediaType)
	hd.Set("Content-Disposition", ContentDisposition(filename))
	hd.Set("Content-Security-Policy", "sandbox")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("ETag", `"`+sha+`"`)
	hd.Set("Cache-Control", cache)
	http.ServeContent(w, r, "", modified, f)
}

// Message is the message id (in this package's translations) saying why
// an upload was refused, and the status to answer with: 413 for a file
// too large, 503 when the virus scan could not be made, 422 otherwise.
func Message(err error) (string, int) {
	switch {
	case errors.Is(err, ErrTooLarge):
		return "attachments.error.too_large", http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrEmpty):
		return "attachments.error.empty", http.StatusUnprocessableEntity
	case errors.Is(err, ErrMacro):
		return "attachments.error.macro", http.StatusUnprocessableEntity
	case errors.Is(err, ErrExpands):
		return "attachments.error.expands", http.StatusUnprocessableEntity
	case errors.Is(err, ErrScript):
		return "attachments.error.script", http.StatusUnprocessableEntity
	case errors.Is(err, ErrInfected):
		return "attachments.error.infected", http.StatusUnprocessableEntity
	case errors.Is(err, ErrScanFailed):
		return "attachments.error.scan", http.StatusServiceUnavailable
	}
	return "attachments.error.type", http.StatusUnprocessableEntity
}

// Refused reports whether err is a refusal of the file itself (to be
// shown beside the field), as opposed to a failure of the server.
func Refused(err error) bool {
	for _, e := range []error{ErrTooLarge, ErrEmpty, ErrType, ErrMacro, ErrExpands, ErrScript, ErrInfected, ErrScanFailed} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// validID is the shape of the ids the token package makes.
var validID = tokens.ValidID
