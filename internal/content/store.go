package content

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/taxonomy"
	tokens "github.com/civico-pa/civico/internal/token"
)

// Store keeps the entries in the database. Every change holds
// db.LockContent and writes its audit entry in its transaction.
type Store struct {
	DB    *db.DB
	Audit audit.Writer
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (s *Store) now() time.Time {
	t := time.Now()
	if s.Now != nil {
		t = s.Now()
	}
	// PostgreSQL keeps microseconds: store what reads back the same.
	return t.UTC().Truncate(time.Microsecond)
}

// Errors of the store.
var (
	ErrNotFound = problem.New(problem.NotFound, "", errors.New("content entry not found"))
	// ErrInUse: the entry cannot be deleted while others point at it.
	ErrInUse = problem.New(problem.Conflict, "content.error.in_use", errors.New("content entry in use"))
)

// Actor is who makes a change, for the audit log.
type Actor struct {
	AccountID string
	Remote    string
}

func (a Actor) name() string {
	if a.AccountID == "" {
		return "system"
	}
	return "account:" + a.AccountID
}

const columns = `id, kind, category, slug, status, title, title_en, summary, summary_en, body, body_en, role, role_en,
	opening, opening_en, cost, cost_en, address, postal_code, lat, lon, phone, email, website, starts_at, ends_at, doc_date,
	place_id, unit_id, created_at, updated_at`

type scanner interface{ Scan(dest ...any) error }

func scan(r scanner) (*Entry, error) {
	e := &Entry{}
	var lat, lon sql.NullFloat64
	var starts, ends sql.NullTime
	var place, unit sql.NullString
	err := r.Scan(&e.ID, &e.Kind, &e.Category, &e.Slug, &e.Status, &e.Title.IT, &e.Title.EN, &e.Summary.IT, &e.Summary.EN,
		&e.Body.IT, &e.Body.EN, &e.Role.IT, &e.Role.EN, &e.Opening.IT, &e.Opening.EN, &e.Cost.IT, &e.Cost.EN,
		&e.Address, &e.PostalCode, &lat, &lon, &e.Phone, &e.Email, &e.Website, &starts, &ends, &e.DocDate,
		&place, &unit, &e.CreatedAt, &e.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	e.Lat, e.Lon, e.HasCoords = lat.Float64, lon.Float64, lat.Valid && lon.Valid
	e.StartsAt, e.EndsAt = starts.Time.UTC(), ends.Time.UTC()
	e.PlaceID, e.UnitID = place.String, unit.String
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	return e, nil
}

func (s *Store) query(ctx context.Context, q string, args ...any) ([]Entry, error) {
	rows, err := s.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *e)
	}
	return out, rows.Err()
}

func nullCoord(v float64, set bool) any {
	if !set {
		return nil
	}
	return v
}

func nullID(id string) any {
	if id == "" {
		return nil
	}
	return id
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// Get returns an entry whatever its status, for the back office.
func (s *Store) Get(ctx context.Context, id string) (*Entry, error) {
	return scan(s.DB.QueryRowContext(ctx, `SELECT `+columns+` FROM content_entries WHERE id = $1`, id))
}

// Published returns the published entry of a kind with the slug.
func (s *Store) Published(ctx context.Context, kind, slug string) (*Entry, error) {
	return scan(s.DB.QueryRowContext(ctx, `SELECT `+columns+` FROM content_entries WHERE kind = $1 AND slug = $2 AND status = 'published'`, kind, slug))
}

// PublishedByID returns the published entry with the id.
func (s *Store) PublishedByID(ctx context.Context, id string) (*Entry, error) {
	return scan(s.DB.QueryRowContext(ctx, `SELECT `+columns+` FROM content_entries WHERE id = $1 AND status = 'published'`, id))
}

// page is the LIMIT and OFFSET of page n (from 1).
func page(n, perPage int) string {
	return fmt.Sprintf(` LIMIT %d OFFSET %d`, perPage, (n-1)*perPage)
}

// List returns page n of the published entries of a kind, of a category
// ("" for all), by title, and how many there are.
func (s *Store) List(ctx context.Context, kind, category string, n, perPage int) ([]Entry, int, error) {
	where, args := `kind = $1 AND status = 'published'`, []any{kind}
	if category != "" {
		where += ` AND category = $2`
		args = append(args, category)
	}
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM content_entries WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	if total == 0 || (n-1)*perPage >= total {
		return nil, total, nil
	}
	list, err := s.query(ctx, `SELECT `+columns+` FROM content_entries WHERE `+where+` ORDER BY title, id`+page(n, perPage), args...)
	return list, total, err
}

// Events returns page n of the published events that have not ended at
// now (end after now), soonest first (past: those that have, latest first), and how many
// there are. placeID, when set, keeps those at one place.
func (s *Store) Events(ctx context.Context, now time.Time, past bool, placeID string, n, perPage int) ([]Entry, int, error) {
	where, order := `kind = 'event' AND status = 'published' AND ends_at > $1`, ` ORDER BY starts_at, title, id`
	if past {
		where, order = `kind = 'event' AND status = 'published' AND ends_at <= $1`, ` ORDER BY starts_at DESC, title, id`
	}
	args := []any{now.UTC()}
	if placeID != "" {
		where += ` AND place_id = $2`
		args = append(args, placeID)
	}
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM content_entries WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	if total == 0 || (n-1)*perPage >= total {
		return nil, total, nil
	}
	list, err := s.query(ctx, `SELECT `+columns+` FROM content_entries WHERE `+where+order+page(n, perPage), args...)
	return list, total, err
}

// Members returns the published people of a body, by name (at most max).
func (s *Store) Members(ctx context.Context, unitID string, max int) ([]Entry, error) {
	return s.query(ctx, `SELECT `+columns+` FROM content_entries WHERE kind = 'person' AND status = 'published' AND unit_id = $1
		ORDER BY title, id LIMIT `+strconv.Itoa(max), unitID)
}

// Documents returns the newest published documents of a body (at most max).
func (s *Store) Documents(ctx context.Context, unitID string, max int) ([]Entry, error) {
	return s.query(ctx, `SELECT `+columns+` FROM content_entries WHERE kind = 'document' AND status = 'published' AND unit_id = $1
		ORDER BY doc_date DESC, title, id LIMIT `+strconv.Itoa(max), unitID)
}

// ByIDs returns the published entries with the ids, by id.
func (s *Store) ByIDs(ctx context.Context, ids []string) (map[string]*Entry, error) {
	out := map[string]*Entry{}
	seen := map[string]bool{}
	var uniq []any
	for _, id := range ids {
		if id != "" && !seen[id] && len(uniq) < maxChoices {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	if len(uniq) == 0 {
		return out, nil
	}
	marks := make([]string, len(uniq))
	for i := range uniq {
		marks[i] = "$" + strconv.Itoa(i+1)
	}
	list, err := s.query(ctx, `SELECT `+columns+` FROM content_entries WHERE status = 'published' AND id IN (`+strings.Join(marks, ", ")+`)`, uniq...)
	for i := range list {
		out[list[i].ID] = &list[i]
	}
	return out, err
}

// WithPlaces joins each event to its place (nil when the place is not
// published).
func (s *Store) WithPlaces(ctx context.Context, events []Entry) ([]EventView, error) {
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.PlaceID
	}
	places, err := s.ByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]EventView, len(events))
	for i, e := range events {
		out[i] = EventView{Entry: e, Place: places[e.PlaceID]}
	}
	return out, nil
}

// All returns page n of the entries of a kind, whatever their status,
// most recently changed first, and how many there are: the back office's
// list.
func (s *Store) All(ctx context.Context, kind string, n, perPage int) ([]Entry, int, error) {
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM content_entries WHERE kind = $1`, kind).Scan(&total); err != nil {
		return nil, 0, err
	}
	list, err := s.query(ctx, `SELECT `+columns+` FROM content_entries WHERE kind = $1 ORDER BY updated_at DESC, id`+page(n, perPage), kind)
	return list, total, err
}

// maxChoices bounds the places or bodies a form offers.
const maxChoices = 500

// Choices are the entries of a kind a form may point at (not retired), by
// title.
func (s *Store) Choices(ctx context.Context, kind string) ([]Entry, error) {
	return s.query(ctx, `SELECT `+columns+` FROM content_entries WHERE kind = $1 AND status <> 'retired' ORDER BY title, id LIMIT `+
		strconv.Itoa(maxChoices), kind)
}

// Create validates and stores a new entry of kind.
func (s *Store) Create(ctx context.Context, kind string, in Input, by Actor) (*Entry, error) {
	k := kindOf(kind)
	e := &Entry{}
	if fe := k.validate(in, e); fe != nil {
		return nil, fe
	}
	e.ID = tokens.ID()
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.DB.Hold(ctx, tx, db.LockContent); err != nil {
			return err
		}
		e.Status = statusOf(in.Action, StatusDraft)
		if err := s.checkRefs(ctx, tx, e); err != nil {
			return err
		}
		slug, err := s.freeSlug(ctx, tx, kind, taxonomy.Slug(e.Title.IT))
		if err != nil {
			return err
		}
		e.Slug = slug
		e.CreatedAt = s.now()
		e.UpdatedAt = e.CreatedAt
		if _, err := tx.ExecContext(ctx, `INSERT INTO content_entries (`+columns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31)`,
			values(e)...); err != nil {
			return err
		}
		return s.audit(ctx, tx, by, e, nil)
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

func values(e *Entry) []any {
	return []any{e.ID, e.Kind, e.Category, e.Slug, e.Status, e.Title.IT, e.Title.EN, e.Summary.IT, e.Summary.EN, e.Body.IT, e.Body.EN,
		e.Role.IT, e.Role.EN, e.Opening.IT, e.Opening.EN, e.Cost.IT, e.Cost.EN, e.Address, e.PostalCode,
		nullCoord(e.Lat, e.HasCoords), nullCoord(e.Lon, e.HasCoords), e.Phone, e.Email, e.Website,
		nullTime(e.StartsAt), nullTime(e.EndsAt), e.DocDate, nullID(e.PlaceID), nullID(e.UnitID), e.CreatedAt, e.UpdatedAt}
}

// statusOf is the status an action leads to.
func statusOf(action, old string) string {
	switch action {
	case ActionPublish:
		return StatusPublished
	case ActionRetire:
		return StatusRetired
	case ActionDraft:
		return StatusDraft
	}
	return old
}

// Update validates and stores a change of an entry; its kind and slug
// stay.
func (s *Store) Update(ctx context.Context, id string, in Input, by Actor) (*Entry, error) {
	old, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	k := kindOf(old.Kind)
	e := &Entry{}
	if fe := k.validate(in, e); fe != nil {
		return nil, fe
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.DB.Hold(ctx, tx, db.LockContent); err != nil {
			return err
		}
		cur, err := scan(tx.QueryRowContext(ctx, `SELECT `+columns+` FROM content_entries WHERE id = $1`+s.DB.ForUpdate(), id))
		if err != nil {
			return err
		}
		e.ID, e.Slug, e.CreatedAt, e.UpdatedAt = cur.ID, cur.Slug, cur.CreatedAt, s.now()
		e.Status = statusOf(in.Action, cur.Status)
		if err := s.checkRefs(ctx, tx, e); err != nil {
			return err
		}
		if cur.Status == StatusPublished && e.Status != StatusPublished {
			n, err := s.pointing(ctx, tx, e.ID, true)
			if err != nil {
				return err
			}
			if n > 0 {
				return FieldErrors{"action": "content.error.in_use_published"}
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE content_entries SET category = $2, status = $3, title = $4, title_en = $5, summary = $6,
			summary_en = $7, body = $8, body_en = $9, role = $10, role_en = $11, opening = $12, opening_en = $13, cost = $14, cost_en = $15,
			address = $16, postal_code = $17, lat = $18, lon = $19, phone = $20, email = $21, website = $22, starts_at = $23, ends_at = $24,
			doc_date = $25, place_id = $26, unit_id = $27, updated_at = $28 WHERE id = $1`,
			e.ID, e.Category, e.Status, e.Title.IT, e.Title.EN, e.Summary.IT, e.Summary.EN, e.Body.IT, e.Body.EN, e.Role.IT, e.Role.EN,
			e.Opening.IT, e.Opening.EN, e.Cost.IT, e.Cost.EN, e.Address, e.PostalCode, nullCoord(e.Lat, e.HasCoords), nullCoord(e.Lon, e.HasCoords),
			e.Phone, e.Email, e.Website, nullTime(e.StartsAt), nullTime(e.EndsAt), e.DocDate, nullID(e.PlaceID), nullID(e.UnitID),
			e.UpdatedAt); err != nil {
			return err
		}
		return s.audit(ctx, tx, by, e, cur)
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// checkRefs checks, inside the change's transaction, the entries an entry
// points at: they exist, are of the right kind and are not retired; and
// a published entry points only at published ones.
func (s *Store) checkRefs(ctx context.Context, tx *sql.Tx, e *Entry) error {
	fe := FieldErrors{}
	check := func(field, id, kind string) error {
		if id == "" {
			return nil
		}
		var status string
		err := tx.QueryRowContext(ctx, `SELECT status FROM content_entries WHERE id = $1 AND kind = $2`, id, kind).Scan(&status)
		switch {
		case errors.Is(err, sql.ErrNoRows) || err == nil && status == StatusRetired:
			fe[field] = "content.error." + field
		case err != nil:
			return err
		case e.Status == StatusPublished && status != StatusPublished:
			fe[field] = "content.error." + field + "_unpublished"
		}
		return nil
	}
	if err := check("place", e.PlaceID, KindPlace); err != nil {
		return err
	}
	if err := check("unit", e.UnitID, KindUnit); err != nil {
		return err
	}
	if len(fe) > 0 {
		return fe
	}
	return nil
}

// pointing counts the entries pointing at id (only the published ones
// when published).
func (s *Store) pointing(ctx context.Context, tx *sql.Tx, id string, published bool) (int, error) {
	q := `SELECT COUNT(*) FROM content_entries WHERE (place_id = $1 OR unit_id = $1)`
	if published {
		q += ` AND status = 'published'`
	}
	var n int
	err := tx.QueryRowContext(ctx, q, id).Scan(&n)
	return n, err
}

// Delete removes an entry no other entry points at; ErrInUse otherwise.
func (s *Store) Delete(ctx context.Context, id string, by Actor) (*Entry, error) {
	var gone *Entry
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.DB.Hold(ctx, tx, db.LockContent); err != nil {
			return err
		}
		e, err := scan(tx.QueryRowContext(ctx, `SELECT `+columns+` FROM content_entries WHERE id = $1`+s.DB.ForUpdate(), id))
		if err != nil {
			return err
		}
		n, err := s.pointing(ctx, tx, id, false)
		if err != nil {
			return err
		}
		if n > 0 {
			return ErrInUse
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM content_entries WHERE id = $1`, id); err != nil {
			return err
		}
		gone = e
		return s.record(ctx, tx, by, "content.deleted", e)
	})
	return gone, err
}

// maxSlug bounds the length of a slug, cut at a hyphen.
const maxSlug = 80

// freeSlug returns base, or base-2, base-3..., whichever no entry of the
// kind has.
func (s *Store) freeSlug(ctx context.Context, tx *sql.Tx, kind, base string) (string, error) {
	if len(base) > maxSlug {
		base = base[:maxSlug]
		if i := strings.LastIndexByte(base, '-'); i > maxSlug/2 {
			base = base[:i]
		}
		base = strings.Trim(base, "-")
	}
	if base == "" {
		base = kind
	}
	for n := 1; ; n++ {
		slug := base
		if n > 1 {
			slug = base + "-" + strconv.Itoa(n)
		}
		var taken int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM content_entries WHERE kind = $1 AND slug = $2`, kind, slug).Scan(&taken); err != nil {
			return "", err
		}
		if taken == 0 {
			return slug, nil
		}
	}
}

// audit records a save: created or updated, and published or retired
// when the status changed.
func (s *Store) audit(ctx context.Context, tx *sql.Tx, by Actor, e, old *Entry) error {
	action := "content.updated"
	if old == nil {
		action = "content.created"
	}
	if err := s.record(ctx, tx, by, action, e); err != nil {
		return err
	}
	if old != nil && old.Status == e.Status || old == nil && e.Status == StatusDraft {
		return nil
	}
	switch e.Status {
	case StatusPublished:
		return s.record(ctx, tx, by, "content.published", e)
	case StatusRetired:
		return s.record(ctx, tx, by, "content.retired", e)
	}
	return s.record(ctx, tx, by, "content.unpublished", e)
}

func (s *Store) record(ctx context.Context, tx *sql.Tx, by Actor, action string, e *Entry) error {
	if s.Audit == nil {
		return nil
	}
	return s.Audit.Write(ctx, tx, audit.Entry{Actor: by.name(), Action: action, Subject: "content:" + e.ID, Remote: by.Remote,
		Details: map[string]string{"kind": e.Kind, "slug": e.Slug, "status": e.Status, "title": e.Title.IT}})
}

// Featured sections of the home page.
const (
	FeaturedServices = "services"
	FeaturedTopics   = "topics"
	// MaxFeatured is how many of each the home page shows.
	MaxFeatured = 6
)

// Featured returns what the home page puts in evidence in a section, in
// order.
func (s *Store) Featured(ctx context.Context, section string) ([]string, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT ref FROM content_featured WHERE section = $1 ORDER BY position`, section)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var ref string
		if err := rows.Scan(&ref); err != nil {
			return nil, err
		}
		out = append(out, ref)
	}
	return out, rows.Err()
}

// SetFeatured replaces what the home page puts in evidence: services
// and topics, in order. The refs are checked by the caller against what
// exists.
func (s *Store) SetFeatured(ctx context.Context, services, topics []string, by Actor) error {
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.DB.Hold(ctx, tx, db.LockContent); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM content_featured`); err != nil {
			return err
		}
		for section, refs := range map[string][]string{FeaturedServices: services, FeaturedTopics: topics} {
			for i, ref := range refs {
				if _, err := tx.ExecContext(ctx, `INSERT INTO content_featured (section, ref, position) VALUES ($1, $2, $3)`, section, ref, i); err != nil {
					return err
				}
			}
		}
		if s.Audit == nil {
			return nil
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: by.name(), Action: "content.featured", Subject: "home", Remote: by.Remote,
			Details: map[string]string{"services": strings.Join(services, ","), "topics": strings.Join(topics, ",")}})
	})
}
