// Package segnala is "Segnala disservizio": a resident reports a problem
// in town (a pothole, a broken street lamp, rubbish left out), the office
// answers, and everyone sees the reports and their answers, never who
// made them. Someone not logged in reports with a mail address that
// confirms the report through a mailed link before it counts.
package segnala

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/civico-pa/civico/internal/attachments"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/mail"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/throttle"
	tokens "github.com/civico-pa/civico/internal/token"
	"github.com/civico-pa/civico/internal/web"
)

// Categories of a report, as the form offers them.
var Categories = []string{"strade", "illuminazione", "rifiuti", "verde", "segnaletica", "acqua", "barriere", "rumore", "altro"}

// Statuses of a report. Unconfirmed is on no list; the others are public.
const (
	Unconfirmed = "unconfirmed"
	Open        = "open"
	InProgress  = "in_progress"
	Resolved    = "resolved"
	Rejected    = "rejected"
)

// OfficeStatuses are what the office may set; Resolved and Rejected need
// an answer.
var OfficeStatuses = []string{Open, InProgress, Resolved, Rejected}

// Limits of what a report holds.
const (
	MaxAddress     = 200
	MinDescription = 10
	MaxDescription = 4000
	MaxAnswer      = 4000
	PageSize       = 20
)

// ConfirmTTL is how long a mailed confirmation link works; unconfirmed
// reports are deleted after it.
const ConfirmTTL = 48 * time.Hour

// ReportRule bounds the reports one client makes (its address, an IPv6
// client's /48 too): a few a day are what a resident needs; more is a
// script filling the public list.
var ReportRule = throttle.Rule{Free: 5, Window: 24 * time.Hour}

// ErrNotFound is a report that does not exist or is not public.
var ErrNotFound = &problem.Error{Kind: problem.NotFound}

// ErrTokenInvalid is a confirmation link that is unknown, used or expired.
var ErrTokenInvalid = errors.New("segnala: invalid or expired link")

// ErrChanged is an answer to a report someone else changed meanwhile.
var ErrChanged = &problem.Error{Kind: problem.Conflict, Message: "segnala.error.changed"}

// Report is one report.
type Report struct {
	ID, Category, Address, Description, Status, Answer string
	CreatedAt                                          time.Time
	PublishedAt, UpdatedAt                             time.Time
	Version                                            int
	// Lat and Lon are the place's point on the map, when HasPoint.
	Lat, Lon float64
	HasPoint bool
	// For the office only: where the answer goes.
	AccountID, Email, Lang string
}

// Input is what a resident reports.
type Input struct {
	Category, Address, Description, Email, Lang string
	// Lat and Lon are the point typed, in decimal degrees (both optional;
	// the form offers them where the town has maps).
	Lat, Lon string
	// lat, lon and hasPoint are the point as Check read it.
	lat, lon float64
	hasPoint bool
	// Privacy: the reporter accepted the privacy notice.
	Privacy bool
	// Remote is the client's address (its budget).
	Remote string
	// Photos are the photographs staged with the report (PhotoField):
	// only a reporter who publishes at once (logged in, confirmed address)
	// may send them.
	Photos []*attachments.Staged
}

// Photographs: at most MaxPhotos JPEG or PNG files of PhotoSize each,
// checked by content as every upload (attachments), seen by the office
// only (a photograph of a street shows faces and number plates).
const (
	MaxPhotos = 3
	PhotoSize = 8 << 20
)

// PhotoField is the form's file field of the photographs.
var PhotoField = attachments.FileField{Max: MaxPhotos, Policy: attachments.Policy{Types: []attachments.Type{attachments.JPEG, attachments.PNG}, MaxSize: PhotoSize}}

// photosOf owns a report's photographs.
func photosOf(reportID string) attachments.Owner {
	return attachments.Record("segnala", "report", reportID)
}

// Reporter is who reports: a logged-in account with a confirmed mail
// address publishes at once; anyone else confirms by mail.
type Reporter struct {
	AccountID, Email string
	Verified         bool
}

// PublishesAtOnce: logged in with a confirmed address, so the report needs
// no mailed confirmation (and may carry photographs).
func (r Reporter) PublishesAtOnce() bool { return r.AccountID != "" && r.Verified && r.Email != "" }

// Fields are errors beside their fields (message ids).
type Fields = problem.Fields

// Store keeps the reports.
type Store struct {
	DB      *db.DB
	Audit   audit.Writer
	Outbox  *mail.Outbox
	Limiter *throttle.Limiter
	// MailBudget is the budget of mails to typed addresses a client may
	// cause, shared with registration and the news (identity's).
	MailBudget func(addr string) throttle.Key
	// T translates mails; BaseURL starts the links in them.
	T       func(lang, id string, args ...any) string
	BaseURL string
	Now     func() time.Time
	// Files keeps the photographs (nil: photographs refused).
	Files *attachments.Store
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Check validates a report; the errors are message ids by field.
func Check(in *Input, needEmail bool) Fields {
	fe := Fields{}
	if !in.Privacy {
		fe["privacy"] = "segnala.error.privacy"
	}
	in.Category = strings.TrimSpace(in.Category)
	in.Address = strings.TrimSpace(in.Address)
	in.Description = strings.TrimSpace(strings.ReplaceAll(in.Description, "\r\n", "\n"))
	if !slices.Contains(Categories, in.Category) {
		fe["category"] = "segnala.error.category"
	}
	if n := utf8.RuneCountInString(in.Address); n < 3 || n > MaxAddress || !utf8.ValidString(in.Address) || strings.ContainsAny(in.Address, "\n\r") {
		fe["address"] = "segnala.error.address"
	}
	var field, msg string
	if in.lat, in.lon, in.hasPoint, field, msg = web.ParsePoint(in.Lat, in.Lon); field != "" {
		fe[field] = msg
	}
	if n := utf8.RuneCountInString(in.Description); n < MinDescription || n > MaxDescription || !utf8.ValidString(in.Description) {
		fe["description"] = "segnala.error.description"
	}
	if needEmail {
		in.Email = identity.NormalizeEmail(in.Email)
		if !identity.ValidEmail(in.Email) || mail.ValidateAddress(in.Email) != nil {
			fe["email"] = "segnala.error.email"
		}
	}
	if len(fe) > 0 {
		return fe
	}
	return nil
}

// Create records a report. A verified reporter's is published at once;
// anyone else's waits for the link mailed to the address typed. The
// client's budget, the report and its mail are one transaction: a refusal
// (problem.Throttled) changes nothing.
func (s *Store) Create(ctx context.Context, in Input, by Reporter) (*Report, error) {
	verified := by.PublishesAtOnce()
	fe := Check(&in, !verified)
	if len(in.Photos) > 0 && (!verified || s.Files == nil) {
		// The form offers no photographs to whoever must confirm by mail.
		if fe == nil {
			fe = Fields{}
		}
		fe["photos"] = "segnala.error.photos_login"
	}
	if fe != nil {
		return nil, fe
	}
	if !web.Supported(in.Lang) {
		in.Lang = web.Languages[0]
	}
	now := s.now()
	r := &Report{ID: tokens.ID(), Category: in.Category, Address: in.Address, Description: in.Description,
		Status: Unconfirmed, CreatedAt: now, UpdatedAt: now, Version: 1, AccountID: by.AccountID, Email: in.Email, Lang: in.Lang}
	r.Lat, r.Lon, r.HasPoint = in.lat, in.lon, in.hasPoint
	keys := []throttle.Key{throttle.ClientKey("segnala:report:", in.Remote, "", ReportRule)}
	var token, hash string
	if verified {
		r.Status, r.PublishedAt, r.Email = Open, now, by.Email
	} else {
		token, hash = tokens.New()
		keys = append(keys, s.MailBudget(in.Remote))
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.Limiter.Take(ctx, tx, keys...); err != nil {
			if refused, ok := errors.AsType[*throttle.Refused](err); ok {
				return &problem.Error{Kind: problem.Throttled, Retry: refused.Wait, Err: refused}
			}
			return err
		}
		var account any
		if by.AccountID != "" {
			account = by.AccountID
		}
		var published, expires any
		var tokenHash any
		if verified {
			published = now
		} else {
			tokenHash, expires = hash, now.Add(ConfirmTTL)
		}
		var lat, lon any
		if r.HasPoint {
			lat, lon = r.Lat, r.Lon
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO segnala_reports (id, category, address, description, status, account_id, email, lang,
			token_hash, token_expires_at, created_at, published_at, updated_at, lat, lon) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $11, $13, $14)`,
			r.ID, r.Category, r.Address, r.Description, r.Status, account, r.Email, r.Lang, tokenHash, expires, now, published, lat, lon); err != nil {
			return err
		}
		for _, st := range in.Photos {
			if _, err := s.Files.Add(ctx, tx, photosOf(r.ID), st); err != nil {
				return err
			}
		}
		if verified {
			return s.mail(ctx, tx, r, "segnala.mail.received.subject", "segnala.mail.received.text", "")
		}
		return s.mail(ctx, tx, r, "segnala.mail.confirm.subject", "segnala.mail.confirm.text", s.BaseURL+ConfirmPath+"?token="+token)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (s *Store) mail(ctx context.Context, tx *sql.Tx, r *Report, subject, text, link string) error {
	if r.Email == "" {
		return nil
	}
	t := func(id string, args ...any) string { return s.T(r.Lang, id, args...) }
	_, err := s.Outbox.Enqueue(ctx, tx, mail.Message{To: r.Email, Subject: t(subject),
		Text: t(text, "Category", t("segnala.category."+r.Category), "Address", r.Address, "Link", link,
			"Page", s.BaseURL+Path+"/"+r.ID, "Hours", int(ConfirmTTL.Hours()), "Status", t("segnala.status."+r.Status), "Answer", r.Answer)})
	return err
}

// Pending is the report a confirmation link would confirm, or
// ErrTokenInvalid.
func (s *Store) Pending(ctx context.Context, token string) (*Report, error) {
	if token == "" || len(token) > 100 {
		return nil, ErrTokenInvalid
	}
	r, err := s.scanOne(s.DB.QueryRowContext(ctx, selectReport+` WHERE token_hash = $1 AND token_expires_at > $2`, tokens.Hash(token), s.now()))
	if errors.Is(err, ErrNotFound) {
		return nil, ErrTokenInvalid
	}
	return r, err
}

// Confirm uses a confirmation link: one statement, so two clicks racing
// on it cannot both publish the report.
func (s *Store) Confirm(ctx context.Context, token string) (*Report, error) {
	if token == "" || len(token) > 100 {
		return nil, ErrTokenInvalid
	}
	now := s.now()
	var r *Report
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		r, err = s.scanOne(tx.QueryRowContext(ctx, selectReport+` WHERE token_hash = $1 AND token_expires_at > $2`+s.DB.ForUpdate(), tokens.Hash(token), now))
		if errors.Is(err, ErrNotFound) {
			return ErrTokenInvalid
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE segnala_reports SET status = $1, published_at = $2, updated_at = $2, token_hash = NULL, token_expires_at = NULL
			WHERE id = $3 AND token_hash IS NOT NULL`, Open, now, r.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrTokenInvalid
		}
		r.Status, r.PublishedAt, r.UpdatedAt = Open, now, now
		return s.mail(ctx, tx, r, "segnala.mail.received.subject", "segnala.mail.received.text", "")
	})
	return r, err
}

const selectReport = `SELECT id, category, address, description, status, answer, COALESCE(account_id, ''), email, lang,
	created_at, published_at, updated_at, version, lat, lon FROM segnala_reports`

func (s *Store) scanOne(row interface{ Scan(...any) error }) (*Report, error) {
	var r Report
	var published sql.NullTime
	var lat, lon sql.NullFloat64
	err := row.Scan(&r.ID, &r.Category, &r.Address, &r.Description, &r.Status, &r.Answer, &r.AccountID, &r.Email, &r.Lang,
		&r.CreatedAt, &published, &r.UpdatedAt, &r.Version, &lat, &lon)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	r.PublishedAt = published.Time
	if lat.Valid && lon.Valid {
		r.Lat, r.Lon, r.HasPoint = lat.Float64, lon.Float64, true
	}
	return &r, nil
}

// Public is a published report, without who made it.
func (s *Store) Public(ctx context.Context, id string) (*Report, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	r, err := s.scanOne(s.DB.QueryRowContext(ctx, selectReport+` WHERE id = $1 AND published_at IS NOT NULL`, id))
	if err != nil {
		return nil, err
	}
	r.AccountID, r.Email, r.Lang = "", "", ""
	return r, nil
}

// Get is any report, for the office.
func (s *Store) Get(ctx context.Context, id string) (*Report, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	return s.scanOne(s.DB.QueryRowContext(ctx, selectReport+` WHERE id = $1`, id))
}

// CountCap bounds the counts of the lists: pages end there ("1000+").
const CountCap = 1000

// List is a page of published reports, newest first; status "" is every
// public status. The count stops at CountCap.
func (s *Store) List(ctx context.Context, status string, page int) ([]*Report, int, error) {
	page = max(page, 1)
	where, args := `published_at IS NOT NULL`, []any{}
	if status != "" {
		where, args = `status = $1 AND published_at IS NOT NULL`, append(args, status)
	}
	n := len(args)
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM segnala_reports WHERE `+where+` LIMIT `+strconv.Itoa(CountCap)+`) AS capped`, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.DB.QueryContext(ctx, selectReport+` WHERE `+where+` ORDER BY published_at DESC, id DESC LIMIT $`+strconv.Itoa(n+1)+` OFFSET $`+strconv.Itoa(n+2),
		append(args, PageSize, (page-1)*PageSize)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*Report
	for rows.Next() {
		r, err := s.scanOne(rows)
		if err != nil {
			return nil, 0, err
		}
		r.AccountID, r.Email, r.Lang = "", "", ""
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// Answer is the office's change to a report.
type Answer struct {
	Status, Answer string
	// Version is the report's version the operator saw.
	Version int
	// Actor and Remote name the operator in the audit log.
	Actor, Remote string
}

// Reply sets a report's status and answer, tells the reporter by mail and
// writes the audit log, in one transaction. A report changed since the
// operator read it is refused (ErrChanged), nothing done.
func (s *Store) Reply(ctx context.Context, id string, a Answer) (*Report, error) {
	a.Answer = strings.TrimSpace(strings.ReplaceAll(a.Answer, "\r\n", "\n"))
	fe := Fields{}
	if !slices.Contains(OfficeStatuses, a.Status) {
		fe["status"] = "segnala.error.status"
	}
	if utf8.RuneCountInString(a.Answer) > MaxAnswer || !utf8.ValidString(a.Answer) {
		fe["answer"] = "segnala.error.answer_long"
	} else if a.Answer == "" && (a.Status == Resolved || a.Status == Rejected) {
		fe["answer"] = "segnala.error.answer"
	}
	if len(fe) > 0 {
		return nil, fe
	}
	now := s.now()
	var r *Report
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		r, err = s.scanOne(tx.QueryRowContext(ctx, selectReport+` WHERE id = $1`+s.DB.ForUpdate(), id))
		if err != nil {
			return err
		}
		if r.Status == Unconfirmed {
			return ErrNotFound
		}
		if r.Version != a.Version {
			return ErrChanged
		}
		if r.Status == a.Status && r.Answer == a.Answer {
			return nil
		}
		res, err := tx.ExecContext(ctx, `UPDATE segnala_reports SET status = $1, answer = $2, updated_at = $3, version = version + 1
			WHERE id = $4 AND version = $5`, a.Status, a.Answer, now, id, a.Version)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrChanged
		}
		from := r.Status
		r.Status, r.Answer, r.UpdatedAt, r.Version = a.Status, a.Answer, now, r.Version+1
		if err := s.Audit.Write(ctx, tx, audit.Entry{Actor: a.Actor, Action: "segnala.reply", Subject: "segnala:" + id, Remote: a.Remote,
			Details: map[string]string{"from": from, "to": a.Status}}); err != nil {
			return err
		}
		return s.mail(ctx, tx, r, "segnala.mail.update.subject", "segnala.mail.update.text", "")
	})
	return r, err
}

// Queue is a page of the office's reports of one status, oldest first.
func (s *Store) Queue(ctx context.Context, status string, page int) ([]*Report, int, error) {
	if !slices.Contains(OfficeStatuses, status) {
		status = Open
	}
	page = max(page, 1)
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM segnala_reports WHERE status = $1 LIMIT `+strconv.Itoa(CountCap)+`) AS capped`,
		status).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.DB.QueryContext(ctx, selectReport+` WHERE status = $1 ORDER BY published_at, id LIMIT $2 OFFSET $3`, status, PageSize, (page-1)*PageSize)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*Report
	for rows.Next() {
		r, err := s.scanOne(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// Purge deletes the reports whose confirmation link expired unused.
func (s *Store) Purge(ctx context.Context) error {
	_, err := s.DB.ExecContext(ctx, `DELETE FROM segnala_reports WHERE token_hash IS NOT NULL AND token_expires_at <= $1`, s.now())
	return err
}

// Photos are a report's photographs, in the order they were sent.
func (s *Store) Photos(ctx context.Context, reportID string) ([]*attachments.Attachment, error) {
	if s.Files == nil {
		return nil, nil
	}
	list, _, err := s.Files.List(ctx, photosOf(reportID), MaxPhotos, 0)
	return list, err
}

// Photo opens one of a report's photographs (ErrNotFound for another's).
func (s *Store) Photo(ctx context.Context, reportID, id string) (*attachments.Attachment, *os.File, error) {
	if s.Files == nil {
		return nil, nil, ErrNotFound
	}
	return s.Files.Open(ctx, photosOf(reportID), id)
}

// OwnPhoto opens one of a report's photographs for the account that sent
// the report (ErrNotFound for anyone else's report, or another report's
// photograph): the reporter's own copy, for their data download.
func (s *Store) OwnPhoto(ctx context.Context, accountID, reportID, id string) (*attachments.Attachment, *os.File, error) {
	if s.Files == nil || accountID == "" || !validID(reportID) {
		return nil, nil, ErrNotFound
	}
	var one int
	err := s.DB.QueryRowContext(ctx, `SELECT 1 FROM segnala_reports WHERE id = $1 AND account_id = $2`, reportID, accountID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	return s.Files.Open(ctx, photosOf(reportID), id)
}

// ExportedReport is a report in its author's data download, with its
// photographs: described, and where the author downloads each.
type ExportedReport struct {
	*Report
	Photos []ExportedPhoto `json:"photos"`
}

// ExportedPhoto is a photograph in the data download: what it is, its
// SHA-256 to check the copy, and its address (for the author's login only).
type ExportedPhoto struct {
	Filename  string    `json:"filename"`
	MediaType string    `json:"media_type"`
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"`
	CreatedAt time.Time `json:"created_at"`
	URL       string    `json:"url"`
}

// Export is what the reports hold about an account, for its download.
func (s *Store) Export(ctx context.Context, accountID string) (any, error) {
	rows, err := s.DB.QueryContext(ctx, selectReport+` WHERE account_id = $1 ORDER BY created_at`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*ExportedReport{}
	for rows.Next() {
		r, err := s.scanOne(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, &ExportedReport{Report: r, Photos: []ExportedPhoto{}})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := rows.Close(); err != nil { // before the photographs' queries
		return nil, err
	}
	if s.Files == nil || len(out) == 0 {
		return out, nil
	}
	// Every report's photographs in one statement, not one per report.
	owners := make([]attachments.Owner, len(out))
	for i, r := range out {
		owners[i] = photosOf(r.ID)
	}
	photos, err := s.Files.OfOwners(ctx, owners)
	if err != nil {
		return nil, err
	}
	for i, r := range out {
		for _, a := range photos[owners[i]] {
			r.Photos = append(r.Photos, ExportedPhoto{Filename: a.Filename, MediaType: a.MediaType, Size: a.Size, SHA256: a.SHA256,
				CreatedAt: a.CreatedAt, URL: s.BaseURL + OwnPhotoPath(r.ID, a.ID)})
		}
	}
	return out, nil
}

// validID is the shape of the ids the token package makes.
var validID = tokens.ValidID
