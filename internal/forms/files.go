package forms

import (
	"context"
	"database/sql"
	"io"
	"os"

	"github.com/civico-pa/civico/internal/attachments"
	"github.com/civico-pa/civico/internal/db"
)

// Types are the documents the forms library accepts: what residents can
// open and fill in. PDFs keep their scripts (a fillable form's checks).
var Types = []attachments.Type{attachments.PDF, attachments.ODT, attachments.DOCX}

// Staged is an uploaded form received, hashed, checked and scanned, not
// yet a version: Create or AddVersion take it; Discard removes it otherwise.
type Staged = attachments.Staged

// referenced lists the files the versions name (attachments.Blobs).
const referenced = `SELECT DISTINCT sha256 FROM form_versions`

// files are the library's files under Dir, kept by attachments.Blobs.
func (s *Store) files() *attachments.Blobs {
	return &attachments.Blobs{DB: s.DB, Dir: s.Dir, Lock: db.LockFormFiles, Referenced: referenced, Scanner: s.Scanner, Now: s.Now}
}

func (s *Store) policy() attachments.Policy {
	return attachments.Policy{Types: Types, MaxSize: s.Max(), Limits: s.Limits}
}

// Stage receives a file (see attachments.Blobs.Stage): streamed to a
// temporary file under Dir, hashed, checked by content as one of Types,
// scanned, synced. name is the name it was uploaded with.
func (s *Store) Stage(ctx context.Context, r io.Reader, name string) (*Staged, error) {
	return s.files().Stage(ctx, r, name, "modulo", s.policy())
}

// Open opens a version's file for reading.
func (s *Store) Open(v *Version) (*os.File, error) { return s.files().Open(v.SHA256) }

// withFile runs fn in a write transaction after placing the staged file
// (attachments.Blobs.WithFile).
func (s *Store) withFile(ctx context.Context, st *Staged, fn func(tx *sql.Tx) error) error {
	return s.files().WithFile(ctx, st, fn)
}

// GC removes the files no version references (left by a crash between
// placing a file and committing its version) and temporary files of
// uploads interrupted more than a day ago. It returns how many it removed.
func (s *Store) GC(ctx context.Context) (int, error) {
	if s.Dir == "" {
		return 0, nil
	}
	return s.files().GC(ctx)
}
