package sportello

import (
	"context"
	"database/sql"
	"errors"
	"io"

	"github.com/civico-pa/civico/internal/attachments"
	"github.com/civico-pa/civico/internal/db"
)

// FileInfo is what the Sportello keeps of an uploaded file.
type FileInfo struct {
	ID, Filename, MediaType, SHA256 string
	Size                            int64
}

// Files is what the Sportello asks of the attachments. An upload belongs
// to the account that sent it until a step makes it part of an
// application (Attach, in the step's transaction); from then on it is
// the application's, and only read as the application's.
type Files interface {
	// Info is account's upload id (not found when it is another's, or
	// already attached).
	Info(ctx context.Context, id, account string) (FileInfo, error)
	// Attach gives account's upload id to application appID in tx.
	Attach(ctx context.Context, tx *sql.Tx, id, account, appID string) error
	// Open opens application appID's file id (not found otherwise).
	Open(ctx context.Context, appID, id string) (io.ReadSeekCloser, FileInfo, error)
	// AttachDelegation gives account's upload id to delegation
	// delegationID in tx; OpenDelegation opens the delegation's file id.
	AttachDelegation(ctx context.Context, tx *sql.Tx, id, account, delegationID string) error
	OpenDelegation(ctx context.Context, delegationID, id string) (io.ReadSeekCloser, FileInfo, error)
}

// Policy is what the Sportello accepts: PDF documents without scripts and
// photographs, at most 20 MiB each.
var Policy = attachments.Policy{Types: []attachments.Type{attachments.PDF, attachments.JPEG, attachments.PNG},
	MaxSize: attachments.DefaultMaxSize, RefuseScripts: true}

// Attachments keeps the Sportello's files with the platform's attachments
// (Files and Uploads): uploads owned by attachments.Account, then by
// attachments.Record("sportello", "application", id).
type Attachments struct {
	DB    *db.DB
	Store *attachments.Store
}

func applicationOwner(id string) attachments.Owner {
	return attachments.Record("sportello", "application", id)
}

func delegationOwner(id string) attachments.Owner {
	return attachments.Record("sportello", "delegation", id)
}

func infoOf(a *attachments.Attachment) FileInfo {
	return FileInfo{ID: a.ID, Filename: a.Filename, MediaType: a.MediaType, SHA256: a.SHA256, Size: a.Size}
}

// Put receives an upload as account's: checked by content against
// Policy, scanned, stored, and recorded in its own transaction.
func (f *Attachments) Put(ctx context.Context, account, filename string, r io.Reader) (FileInfo, error) {
	if account == "" {
		return FileInfo{}, errors.New("sportello: upload without an account")
	}
	st, err := f.Store.Stage(ctx, r, filename, Policy)
	if err != nil {
		return FileInfo{}, err
	}
	defer st.Discard()
	var a *attachments.Attachment
	err = f.DB.Tx(ctx, func(tx *sql.Tx) error {
		a, err = f.Store.Add(ctx, tx, attachments.Account(account), st)
		return err
	})
	if err != nil {
		return FileInfo{}, err
	}
	return infoOf(a), nil
}

// Refusal names why an upload was refused ("sportello.error." + it).
func (f *Attachments) Refusal(err error) string {
	switch {
	case err == nil || !attachments.Refused(err):
		return ""
	case errors.Is(err, attachments.ErrTooLarge):
		return "upload_large"
	case errors.Is(err, attachments.ErrEmpty):
		return "upload_empty"
	case errors.Is(err, attachments.ErrInfected):
		return "upload_virus"
	case errors.Is(err, attachments.ErrScanFailed):
		return "upload_scan"
	}
	return "upload_type"
}

// MaxSize is Policy's largest file.
func (f *Attachments) MaxSize() int64 { return Policy.Max() }

// Info is account's upload id.
func (f *Attachments) Info(ctx context.Context, id, account string) (FileInfo, error) {
	a, err := f.Store.Get(ctx, attachments.Account(account), id)
	if err != nil {
		return FileInfo{}, err
	}
	return infoOf(a), nil
}

// Attach moves account's upload id to application appID in tx.
func (f *Attachments) Attach(ctx context.Context, tx *sql.Tx, id, account, appID string) error {
	return f.Store.Move(ctx, tx, attachments.Account(account), applicationOwner(appID), id)
}

// Open opens application appID's file id.
func (f *Attachments) Open(ctx context.Context, appID, id string) (io.ReadSeekCloser, FileInfo, error) {
	a, file, err := f.Store.Open(ctx, applicationOwner(appID), id)
	if err != nil {
		return nil, FileInfo{}, err
	}
	return file, infoOf(a), nil
}

// AttachDelegation moves account's upload id to delegation delegationID
// in tx.
func (f *Attachments) AttachDelegation(ctx context.Context, tx *sql.Tx, id, account, delegationID string) error {
	return f.Store.Move(ctx, tx, attachments.Account(account), delegationOwner(delegationID), id)
}

// OpenDelegation opens delegation delegationID's file id.
func (f *Attachments) OpenDelegation(ctx context.Context, delegationID, id string) (io.ReadSeekCloser, FileInfo, error) {
	a, file, err := f.Store.Open(ctx, delegationOwner(delegationID), id)
	if err != nil {
		return nil, FileInfo{}, err
	}
	return file, infoOf(a), nil
}
