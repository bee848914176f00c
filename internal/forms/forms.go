// Package forms is the town's forms library (modulistica): the documents
// residents download from a service's page (applications, declarations,
// conditions), uploaded by operators as PDF, ODT or DOCX.
//
// A form belongs to a catalogue service and has versions: every upload is a
// new version and every version is kept, so a link a resident saved keeps
// giving the document it gave. A form can be archived: it leaves the lists,
// its versioned links keep working.
//
// Files are checked by content (attachments.Policy.Detect), never by name or by what the
// browser claims, and stored under the data directory by SHA-256:
//
//	<data dir>/forms/ab/ab12...ef    mode 0640, one file per distinct content
//	<data dir>/forms/tmp/upload-*    uploads being received
//
// An upload is streamed to a temporary file while hashed, checked, scanned, synced,
// and renamed into place in the same transaction that records its version,
// so no version ever names a file that is not complete on disk (attachments.Blobs, as for every upload). A file no
// version names (after a crash between the rename and the commit) is
// removed by GC.
package forms

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/civico-pa/civico/internal/attachments"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/problem"
	tokens "github.com/civico-pa/civico/internal/token"
)

// DefaultMaxSize is the largest file accepted unless Store.MaxSize says
// otherwise: 20 MiB.
const DefaultMaxSize = attachments.DefaultMaxSize

// Form is a document of a service, with its versions.
type Form struct {
	ID          string
	ServiceID   string
	Title       string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Archived    bool
	// Latest is the newest version. Versions, filled by Get, holds every
	// version, newest first.
	Latest   *Version
	Versions []*Version
}

// URL is the address of the form's latest version.
func (f *Form) URL() string { return "/moduli/" + f.ID }

// Version is one uploaded file of a form.
type Version struct {
	ID         string
	FormID     string
	Number     int
	Filename   string
	MediaType  string
	Size       int64
	SHA256     string
	UploadedBy string // account id
	UploadedAt time.Time
	Note       string
}

// URL is the permanent address of this version.
func (v *Version) URL() string {
	return "/moduli/" + v.FormID + "/" + strconv.Itoa(v.Number) + "/" + url.PathEscape(v.Filename)
}

// Type is the version's document type.
func (v *Version) Type() attachments.Type { t, _ := attachments.TypeOf(v.MediaType); return t }

// TypeLabel names the type for people: "PDF", "ODT", "DOCX".
func (v *Version) TypeLabel() string { return v.Type().Label }

// Icon is the Bootstrap Italia icon of the type.
func (v *Version) Icon() string {
	if t := v.Type(); t.Ext != "" {
		return "it-file-" + t.Ext
	}
	return "it-file"
}

// HumanSize writes the size as people read it in lang: "245 KB", "1,2 MB".
func (v *Version) HumanSize(lang string) string { return HumanSize(v.Size, lang) }

// Date is the upload day in Rome, "02/01/2006".
func (v *Version) Date() string { return v.UploadedAt.In(hours.Rome).Format("02/01/2006") }

// ISODate is the upload day in Rome, "2006-01-02", for <time datetime>.
func (v *Version) ISODate() string { return v.UploadedAt.In(hours.Rome).Format("2006-01-02") }

// HumanSize writes a size in bytes as people read it in lang.
func HumanSize(n int64, lang string) string {
	switch {
	case n < 1<<10:
		if lang == "it" {
			return strconv.FormatInt(n, 10) + " byte"
		}
		return strconv.FormatInt(n, 10) + " bytes"
	case n < 1<<20:
		return strconv.FormatInt((n+512)>>10, 10) + " KB"
	}
	s := strings.TrimSuffix(strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64), ".0")
	if lang == "it" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s + " MB"
}

// Service is a catalogue service a form can belong to.
type Service struct {
	ID, Title string
}

// Services lists the catalogue's services. The catalogue is another
// feature: cmd/civico passes a function reading it.
type Services func(ctx context.Context) ([]Service, error)

// Actor is who uploads or archives, for the record and the audit log.
type Actor struct {
	AccountID string
	Remote    string
}

func (a Actor) audit() string { return "account:" + a.AccountID }

// Store keeps forms in the database and their files under Dir.
type Store struct {
	DB *db.DB
	// Dir holds the files: <data dir>/forms. Uploads fail while it is empty.
	Dir string
	// MaxSize is the largest file accepted, in bytes (DefaultMaxSize if 0).
	MaxSize int64
	// Limits bound the check of ODT and DOCX archives (attachments.DefaultLimits if zero).
	Limits attachments.Limits
	// Scanner looks for viruses in every upload (none when nil).
	Scanner  attachments.Scanner
	Audit    audit.Writer
	Services Services
	Now      func() time.Time
}

// NewStore returns the store of forms keeping files under dataDir/forms.
func NewStore(d *db.DB, dataDir string, audit audit.Writer, services Services) *Store {
	s := &Store{DB: d, Audit: audit, Services: services}
	if dataDir != "" {
		s.Dir = filepath.Join(dataDir, "forms")
	}
	return s
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

// Max is the largest file accepted, in bytes.
func (s *Store) Max() int64 {
	if s.MaxSize > 0 {
		return s.MaxSize
	}
	return DefaultMaxSize
}

// Errors of the store.
var (
	ErrNotFound = problem.New(problem.NotFound, "", errors.New("form not found"))
)

// FieldErrors maps a form field to the message id saying what is wrong.
type FieldErrors = problem.Fields

// Limits of the text fields, in characters.
const (
	minTitle       = 3
	maxTitle       = 200
	maxDescription = 2000
	maxNote        = 500
)

// NewForm is what an operator fills in to add a form.
type NewForm struct {
	ServiceID, Title, Description string
}

// Validate checks a new form's fields against the catalogue; nil when fine.
func (s *Store) Validate(ctx context.Context, nf NewForm) (FieldErrors, error) {
	fe := FieldErrors{}
	known, err := s.serviceKnown(ctx, nf.ServiceID)
	if err != nil {
		return nil, err
	}
	if !known {
		fe["service"] = "forms.error.service"
	}
	switch n := utf8.RuneCountInString(strings.TrimSpace(nf.Title)); {
	case n < minTitle:
		fe["title"] = "forms.error.title"
	case n > maxTitle:
		fe["title"] = "forms.error.title_long"
	}
	if utf8.RuneCountInString(nf.Description) > maxDescription {
		fe["description"] = "forms.error.description_long"
	}
	if len(fe) == 0 {
		return nil, nil
	}
	return fe, nil
}

func (s *Store) serviceKnown(ctx context.Context, id string) (bool, error) {
	if id == "" || s.Services == nil {
		return false, nil
	}
	list, err := s.Services(ctx)
	if err != nil {
		return false, err
	}
	for _, sv := range list {
		if sv.ID == id {
			return true, nil
		}
	}
	return false, nil
}

// FileMessage is the message id explaining why an upload was refused.
func FileMessage(err error) string {
	switch {
	case errors.Is(err, attachments.ErrTooLarge):
		return "forms.error.too_large"
	case errors.Is(err, attachments.ErrEmpty):
		return "forms.error.empty"
	case errors.Is(err, attachments.ErrMacro):
		return "forms.error.macro"
	case errors.Is(err, attachments.ErrExpands):
		return "forms.error.expands"
	case errors.Is(err, attachments.ErrInfected), errors.Is(err, attachments.ErrScanFailed):
		id, _ := attachments.Message(err)
		return id
	}
	return "forms.error.type"
}

func versionOf(formID string, number int, st *Staged, note string, by Actor, at time.Time) *Version {
	return &Version{ID: tokens.ID(), FormID: formID, Number: number, Filename: st.Filename, MediaType: st.Type.MediaType, Size: st.Size,
		SHA256: st.SHA256, UploadedBy: by.AccountID, UploadedAt: at, Note: note}
}

func insertVersion(ctx context.Context, tx *sql.Tx, v *Version) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO form_versions (id, form_id, version, filename, media_type, size, sha256, uploaded_by, uploaded_at, note)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		v.ID, v.FormID, v.Number, v.Filename, v.MediaType, v.Size, v.SHA256, v.UploadedBy, v.UploadedAt, v.Note)
	return err
}

func versionDetails(v *Version) map[string]string {
	return map[string]string{"version": strconv.Itoa(v.Number), "filename": v.Filename, "media_type": v.MediaType,
		"size": strconv.FormatInt(v.Size, 10), "sha256": v.SHA256}
}

// Create adds a form with st as its first version. Invalid fields come
// back as FieldErrors and nothing is stored; st is consumed either way.
func (s *Store) Create(ctx context.Context, nf NewForm, st *Staged, by Actor) (*Form, error) {
	defer st.Discard()
	nf.Title, nf.Description = strings.TrimSpace(nf.Title), strings.TrimSpace(nf.Description)
	fe, err := s.Validate(ctx, nf)
	if err != nil {
		return nil, err
	}
	if st == nil {
		if fe == nil {
			fe = FieldErrors{}
		}
		fe["file"] = "forms.error.file_missing"
	}
	if fe != nil {
		return nil, fe
	}
	now := s.now()
	f := &Form{ID: tokens.ID(), ServiceID: nf.ServiceID, Title: nf.Title, Description: nf.Description, CreatedAt: now, UpdatedAt: now}
	v := versionOf(f.ID, 1, st, "", by, now)
	err = s.withFile(ctx, st, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO forms (id, service_id, title, description, created_at, updated_at, archived)
			VALUES ($1, $2, $3, $4, $5, $5, $6)`, f.ID, f.ServiceID, f.Title, f.Description, now, false); err != nil {
			return err
		}
		if err := insertVersion(ctx, tx, v); err != nil {
			return err
		}
		d := versionDetails(v)
		d["service"], d["title"] = f.ServiceID, f.Title
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: by.audit(), Action: "form.created", Subject: f.ID, Remote: by.Remote, Details: d})
	})
	if err != nil {
		return nil, err
	}
	f.Latest, f.Versions = v, []*Version{v}
	return f, nil
}

// AddVersion makes st the newest version of a form; note says what
// changed. st is consumed either way.
func (s *Store) AddVersion(ctx context.Context, formID string, st *Staged, note string, by Actor) (*Version, error) {
	defer st.Discard()
	note = strings.TrimSpace(note)
	fe := FieldErrors{}
	if st == nil {
		fe["file"] = "forms.error.file_missing"
	}
	if utf8.RuneCountInString(note) > maxNote {
		fe["note"] = "forms.error.note_long"
	}
	if len(fe) > 0 {
		return nil, fe
	}
	now := s.now()
	var v *Version
	err := s.withFile(ctx, st, func(tx *sql.Tx) error {
		// Updating the form first locks its row (PostgreSQL), so two
		// uploads to one form number their versions one after the other.
		res, err := tx.ExecContext(ctx, `UPDATE forms SET updated_at = $2 WHERE id = $1`, formID, now)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound
		}
		var last int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM form_versions WHERE form_id = $1`, formID).Scan(&last); err != nil {
			return err
		}
		v = versionOf(formID, last+1, st, note, by, now)
		if err := insertVersion(ctx, tx, v); err != nil {
			return err
		}
		d := versionDetails(v)
		if note != "" {
			d["note"] = note
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: by.audit(), Action: "form.version_added", Subject: formID, Remote: by.Remote, Details: d})
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// SetArchived archives a form (it leaves every list, its versioned links
// keep working) or brings it back.
func (s *Store) SetArchived(ctx context.Context, formID string, archived bool, by Actor) error {
	action := "form.restored"
	if archived {
		action = "form.archived"
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE forms SET archived = $2, updated_at = $3 WHERE id = $1`, formID, archived, s.now())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: by.audit(), Action: action, Subject: formID, Remote: by.Remote})
	})
}

// The queries are constants: nothing from a request is ever spliced in.
const (
	selectFormVersion = `SELECT f.id, f.service_id, f.title, f.description, f.created_at, f.updated_at, f.archived,
		v.id, v.form_id, v.version, v.filename, v.media_type, v.size, v.sha256, v.uploaded_by, v.uploaded_at, v.note
		FROM forms f JOIN form_versions v ON v.form_id = f.id`
	isLatest    = ` v.version = (SELECT MAX(version) FROM form_versions WHERE form_id = f.id)`
	latestOrder = ` ORDER BY f.service_id, f.title, f.id`

	queryForService = selectFormVersion + ` WHERE` + isLatest + ` AND f.service_id = $1 AND NOT f.archived` + latestOrder
	queryList       = selectFormVersion + ` WHERE` + isLatest + latestOrder
	queryForm       = selectFormVersion + ` WHERE f.id = $1 ORDER BY v.version DESC`
	queryVersion    = selectFormVersion + ` WHERE f.id = $1 AND v.version = $2`
	queryLatest     = selectFormVersion + ` WHERE f.id = $1 AND` + isLatest
)

type scanner interface{ Scan(dest ...any) error }

func scanFormVersion(r scanner) (*Form, *Version, error) {
	f, v := &Form{}, &Version{}
	err := r.Scan(&f.ID, &f.ServiceID, &f.Title, &f.Description, &f.CreatedAt, &f.UpdatedAt, &f.Archived,
		&v.ID, &v.FormID, &v.Number, &v.Filename, &v.MediaType, &v.Size, &v.SHA256, &v.UploadedBy, &v.UploadedAt, &v.Note)
	return f, v, err
}

// scanAll reads forms with one version each, in the query's order.
func (s *Store) scanAll(ctx context.Context, query string, args ...any) ([]*Form, []*Version, error) {
	rows, err := s.DB.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = rows.Close() }()
	var forms []*Form
	var versions []*Version
	for rows.Next() {
		f, v, err := scanFormVersion(rows)
		if err != nil {
			return nil, nil, err
		}
		f.Latest = v
		forms, versions = append(forms, f), append(versions, v)
	}
	return forms, versions, rows.Err()
}

// ForService lists the forms of a service residents see, by title, each
// with its latest version: what the service page links to.
func (s *Store) ForService(ctx context.Context, serviceID string) ([]*Form, error) {
	forms, _, err := s.scanAll(ctx, queryForService, serviceID)
	return forms, err
}

// List lists every form, archived ones too, by service and title, each
// with its latest version.
func (s *Store) List(ctx context.Context) ([]*Form, error) {
	forms, _, err := s.scanAll(ctx, queryList)
	return forms, err
}

// Get returns a form with all its versions, newest first.
func (s *Store) Get(ctx context.Context, id string) (*Form, error) {
	forms, versions, err := s.scanAll(ctx, queryForm, id)
	if err != nil {
		return nil, err
	}
	if len(forms) == 0 {
		return nil, ErrNotFound
	}
	f := forms[0]
	f.Latest, f.Versions = versions[0], versions
	return f, nil
}

// Version returns one version of a form (archived or not), with the form;
// number 0 means the latest.
func (s *Store) Version(ctx context.Context, formID string, number int) (*Form, *Version, error) {
	row := s.DB.QueryRowContext(ctx, queryLatest, formID)
	if number != 0 {
		row = s.DB.QueryRowContext(ctx, queryVersion, formID, number)
	}
	f, v, err := scanFormVersion(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	f.Latest = v
	return f, v, nil
}
