// Package news is the Novità section of the portal: operators write news
// items (Notizie, Comunicati, Avvisi) and publish them at once or at a
// chosen time; residents read them on the portal and in Atom feeds, or
// subscribe by topic, without an account, to a daily digest by mail.
//
// An item is a draft or published; a published item whose publish_at is
// still in the future is scheduled, and nothing public shows it until then.
// Every change an operator makes is written to the audit log in the same
// transaction, and every mail goes through the outbox in the transaction of
// the action that sends it.
package news

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/mail"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/taxonomy"
	"github.com/civico-pa/civico/internal/throttle"
	tokens "github.com/civico-pa/civico/internal/token"
	"github.com/civico-pa/civico/internal/town"
	"github.com/civico-pa/civico/internal/web"
)

// Statuses of an item as stored.
const (
	StatusDraft     = "draft"
	StatusPublished = "published"
)

// States of an item at an instant, as the back office shows them.
const (
	StateDraft     = "draft"
	StateScheduled = "scheduled"
	StatePublished = "published"
)

// Actions of the item form.
const (
	ActionPublish  = "publish"  // visible now (a visible item keeps its date)
	ActionSchedule = "schedule" // visible from publish_at, which must be in the future
	ActionDraft    = "draft"    // hidden
)

// Limits of an item's fields, in characters.
const (
	MinText    = 3
	MaxTitle   = 200
	MaxSummary = 300
	MaxBody    = 100_000
)

// PerPage is how many items a list page shows.
const PerPage = 20

// Item is a news item.
type Item struct {
	ID       string
	Slug     string
	Category string
	Title    string
	Summary  string
	Body     string
	Topics   []string
	Status   string
	// PublishAt is when a published item becomes visible; zero for a draft
	// without a planned date.
	PublishAt time.Time
	AuthorID  string
	CreatedAt time.Time
	UpdatedAt time.Time
	// Version counts the item's saves: an edit based on an older one is
	// refused (ErrStale).
	Version int
	// Translations are the item's texts in other languages than Italian
	// ("en"); each may be missing.
	Translations map[string]ItemText
}

// ItemText are an item's texts in one language.
type ItemText struct {
	Title, Summary, Body string
}

// Text is a piece of content and the language it is written in.
type Text struct {
	Value, Lang string
}

func (t Text) String() string { return t.Value }

func pick(lang, italian, translated string) Text {
	if lang != "it" && translated != "" {
		return Text{translated, lang}
	}
	return Text{italian, "it"}
}

// ItemTexts are an item's texts as a page in one language shows them.
type ItemTexts struct {
	Title, Summary, Body Text
	// Italian: some text is shown in Italian on a page in another
	// language; All: none of it is translated.
	Italian, All bool
}

// Texts are the item's texts for a page in lang: the translation where
// there is one, the Italian elsewhere.
func (i Item) Texts(lang string) ItemTexts {
	tr := i.Translations[lang]
	t := ItemTexts{Title: pick(lang, i.Title, tr.Title), Summary: pick(lang, i.Summary, tr.Summary), Body: pick(lang, i.Body, tr.Body)}
	if lang != "it" {
		t.All = true
		for _, x := range []Text{t.Title, t.Summary, t.Body} {
			if x.Value != "" {
				t.Italian = t.Italian || x.Lang == "it"
				t.All = t.All && x.Lang == "it"
			}
		}
	}
	return t
}

// State is what the item is at now: draft, scheduled or published.
func (i Item) State(now time.Time) string {
	switch {
	case i.Status != StatusPublished:
		return StateDraft
	case i.PublishAt.After(now):
		return StateScheduled
	}
	return StatePublished
}

// Visible reports whether the public may read the item at now.
func (i Item) Visible(now time.Time) bool { return i.State(now) == StatePublished }

// Path is the item's page on the portal.
func (i Item) Path() string { return "/novita/" + i.Category + "/" + i.Slug }

// CategoryTitle is the national title of the item's category.
func (i Item) CategoryTitle() string {
	t, _ := taxonomy.Find(taxonomy.NewsCategories, i.Category)
	return t.Title
}

// TopicTerms are the item's topics with their national titles.
func (i Item) TopicTerms() []taxonomy.Term { return terms(i.Topics) }

// Date is the publication day in Rome, as 02/01/2006; empty without a date.
func (i Item) Date() string {
	if i.PublishAt.IsZero() {
		return ""
	}
	return i.PublishAt.In(hours.Rome).Format("02/01/2006")
}

// DateTime is the publication time in Rome, for a datetime attribute.
func (i Item) DateTime() string {
	if i.PublishAt.IsZero() {
		return ""
	}
	return i.PublishAt.In(hours.Rome).Format(time.RFC3339)
}

// Clock is the publication time of day in Rome, as 15:04.
func (i Item) Clock() string {
	if i.PublishAt.IsZero() {
		return ""
	}
	return i.PublishAt.In(hours.Rome).Format("15:04")
}

func terms(slugs []string) []taxonomy.Term {
	out := make([]taxonomy.Term, 0, len(slugs))
	for _, s := range slugs {
		if t, ok := taxonomy.Find(taxonomy.Topics, s); ok {
			out = append(out, t)
		}
	}
	return out
}

// Service is the news rules over the database. Outbox, I18n, Towns and
// BaseURL are what the mails need: their texts, the town's name, the
// portal's public address for the links.
type Service struct {
	DB      *db.DB
	Outbox  *mail.Outbox
	Audit   audit.Writer
	I18n    *web.I18n
	Towns   *town.Store
	BaseURL string
	// Limiter keeps the budget MailBudget names: the asking client's
	// budget of mails to typed addresses, shared with identity's forms.
	Limiter    *throttle.Limiter
	MailBudget func(client string) throttle.Key
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (s *Service) now() time.Time {
	var t time.Time
	if s.Now != nil {
		t = s.Now()
	} else {
		t = time.Now()
	}
	// PostgreSQL keeps microseconds: store what reads back the same.
	return t.UTC().Truncate(time.Microsecond)
}

func (s *Service) townName(ctx context.Context) string {
	if s.Towns != nil {
		if p, err := s.Towns.Get(ctx); err == nil {
			return p.FullName()
		}
	}
	return "civico"
}

func (s *Service) t(lang, id string, args ...any) string {
	if s.I18n == nil {
		return id
	}
	return s.I18n.T(lang, id, args...)
}

// Errors of the news rules.
var (
	ErrNotFound = problem.New(problem.NotFound, "", errors.New("news item not found"))
	// ErrStale: the item was saved by someone else since the form was
	// opened.
	ErrStale        = problem.New(problem.Conflict, "news.error.stale", errors.New("edit based on an older version"))
	ErrTokenInvalid = errors.New("link invalid, expired or already used")
)

// FieldErrors maps a form field to the message id explaining what is
// wrong: problem.Fields, the one type of invalid request.
type FieldErrors = problem.Fields

// Input is what the item form sends.
type Input struct {
	Title, Summary, Body, Category string
	Topics                         []string
	// PublishAt is a datetime-local value ("2006-01-02T15:04") in Rome
	// time, possibly empty.
	PublishAt string
	Action    string
	// EN is the English version, each text optional.
	EN ItemText
	// Version is the version the edit is based on; 0 saves whatever the
	// stored one (a program, not a form).
	Version int
}

// DateTimeLocal is the layout of an <input type="datetime-local">.
const DateTimeLocal = "2006-01-02T15:04"

// validate checks the form and returns the planned publication time (zero
// when none was given).
func (in *Input) validate(now time.Time) (time.Time, FieldErrors) {
	fe := FieldErrors{}
	in.Title = strings.TrimSpace(in.Title)
	in.Summary = strings.TrimSpace(in.Summary)
	in.Body = strings.TrimSpace(strings.ReplaceAll(in.Body, "\r\n", "\n"))
	textField(fe, "title", in.Title, MaxTitle, "news.error.title")
	textField(fe, "summary", in.Summary, MaxSummary, "news.error.summary")
	textField(fe, "body", in.Body, MaxBody, "news.error.body")
	in.EN.Title, in.EN.Summary = strings.TrimSpace(in.EN.Title), strings.TrimSpace(in.EN.Summary)
	in.EN.Body = strings.TrimSpace(strings.ReplaceAll(in.EN.Body, "\r\n", "\n"))
	optionalField(fe, "en_title", in.EN.Title, MaxTitle, "news.error.en_title")
	optionalField(fe, "en_summary", in.EN.Summary, MaxSummary, "news.error.en_summary")
	optionalField(fe, "en_body", in.EN.Body, MaxBody, "news.error.en_body")
	if _, ok := taxonomy.Find(taxonomy.NewsCategories, in.Category); !ok {
		fe["category"] = "news.error.category"
	}
	in.Topics = cleanTopics(in.Topics)
	if len(in.Topics) == 0 {
		fe["topics"] = "news.error.topics_none"
	}
	for _, t := range in.Topics {
		if _, ok := taxonomy.Find(taxonomy.Topics, t); !ok {
			fe["topics"] = "news.error.topics"
		}
	}
	var at time.Time
	if v := strings.TrimSpace(in.PublishAt); v != "" {
		var ok bool
		if at, ok = parseLocal(v); !ok {
			fe["publish_at"] = "news.error.publish_at"
		}
	}
	switch in.Action {
	case ActionPublish, ActionDraft:
	case ActionSchedule:
		switch {
		case fe["publish_at"] != "":
		case at.IsZero():
			fe["publish_at"] = "news.error.publish_at_needed"
		case !at.After(now):
			fe["publish_at"] = "news.error.publish_at_past"
		}
	default:
		fe["action"] = "news.error.action"
	}
	if len(fe) > 0 {
		return time.Time{}, fe
	}
	return at.UTC(), nil
}

// localLayouts are what a datetime-local input sends, and what people type
// where a browser shows a plain text box instead.
var localLayouts = []string{DateTimeLocal, "2006-01-02T15:04:05", "2006-01-02 15:04", "02/01/2006 15:04", "2/1/2006 15:04"}

// parseLocal reads a date and time in Rome.
func parseLocal(v string) (time.Time, bool) {
	for _, l := range localLayouts {
		if t, err := time.ParseInLocation(l, v, hours.Rome); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func textField(fe FieldErrors, name, v string, max int, msg string) {
	n := utf8.RuneCountInString(v)
	if n < MinText || n > max || !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
		fe[name] = msg
	}
}

// optionalField checks a text that may be empty.
func optionalField(fe FieldErrors, name, v string, max int, msg string) {
	if v == "" {
		return
	}
	textField(fe, name, v, max, msg)
}

// cleanTopics drops empty and repeated values, keeping the order.
func cleanTopics(in []string) []string {
	out := make([]string, 0, len(in))
	for _, t := range in {
		t = strings.TrimSpace(t)
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

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

// lockItems makes a transaction that makes items visible (exclusive) and
// one that reads them for a digest (shared) wait for each other on
// PostgreSQL. Without it, a digest covering the window up to now could read
// just before an item whose publish_at is in that window commits, and the
// next digest, starting after the window, would never send it. On SQLite
// every write transaction already holds the database's write lock.
func (s *Service) lockItems(ctx context.Context, tx *sql.Tx, shared bool) error {
	if shared {
		return s.DB.HoldShared(ctx, tx, db.LockNewsItems)
	}
	return s.DB.Hold(ctx, tx, db.LockNewsItems)
}

// Create validates and stores a new item.
func (s *Service) Create(ctx context.Context, in Input, by Actor) (*Item, error) {
	planned, fe := in.validate(s.now())
	if fe != nil {
		return nil, fe
	}
	it := &Item{ID: tokens.UUID(), Category: in.Category, Title: in.Title, Summary: in.Summary, Body: in.Body, Topics: in.Topics, AuthorID: by.AccountID,
		Version: 1, Translations: translations(in.EN)}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockItems(ctx, tx, false); err != nil {
			return err
		}
		now := s.now()
		it.CreatedAt, it.UpdatedAt = now, now
		it.Status, it.PublishAt = publication(in.Action, planned, nil, now)
		slug, err := s.freeSlug(ctx, tx, taxonomy.Slug(in.Title))
		if err != nil {
			return err
		}
		it.Slug = slug
		if _, err := tx.ExecContext(ctx, `INSERT INTO news_items (id, slug, category, title, summary, body, topics, status, publish_at, author_id, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			it.ID, it.Slug, it.Category, it.Title, it.Summary, it.Body, strings.Join(it.Topics, ","), it.Status, nullTime(it.PublishAt),
			it.AuthorID, it.CreatedAt, it.UpdatedAt); err != nil {
			return err
		}
		if err := writeTranslations(ctx, tx, it); err != nil {
			return err
		}
		if err := setTopics(ctx, tx, it.ID, it.Topics); err != nil {
			return err
		}
		return s.audit(ctx, tx, by, it, nil, now)
	})
	if err != nil {
		return nil, err
	}
	return it, nil
}

// Update validates and stores a change of an item.
func (s *Service) Update(ctx context.Context, id string, in Input, by Actor) (*Item, error) {
	planned, fe := in.validate(s.now())
	if fe != nil {
		return nil, fe
	}
	var it *Item
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockItems(ctx, tx, false); err != nil {
			return err
		}
		q := `SELECT ` + itemColumns + ` FROM news_items WHERE id = $1` + s.DB.ForUpdate()
		old, err := scanItem(tx.QueryRowContext(ctx, q, id))
		if err != nil {
			return err
		}
		if in.Version != 0 && in.Version != old.Version {
			return ErrStale
		}
		now := s.now()
		n := *old
		n.Title, n.Summary, n.Body, n.Category, n.Topics, n.UpdatedAt = in.Title, in.Summary, in.Body, in.Category, in.Topics, now
		n.Status, n.PublishAt = publication(in.Action, planned, old, now)
		n.Version, n.Translations = old.Version+1, translations(in.EN)
		if _, err := tx.ExecContext(ctx, `UPDATE news_items SET category = $1, title = $2, summary = $3, body = $4, topics = $5, status = $6,
			publish_at = $7, updated_at = $8, version = version + 1 WHERE id = $9`,
			n.Category, n.Title, n.Summary, n.Body, strings.Join(n.Topics, ","), n.Status, nullTime(n.PublishAt), n.UpdatedAt, n.ID); err != nil {
			return err
		}
		if err := writeTranslations(ctx, tx, &n); err != nil {
			return err
		}
		if err := setTopics(ctx, tx, n.ID, n.Topics); err != nil {
			return err
		}
		it = &n
		return s.audit(ctx, tx, by, &n, old, now)
	})
	if err != nil {
		return nil, err
	}
	return it, nil
}

// publication decides status and publish_at. now is taken inside the
// transaction, after lockItems: an item never becomes visible at an instant
// before its transaction could be seen, so no digest window misses it.
func publication(action string, planned time.Time, old *Item, now time.Time) (string, time.Time) {
	switch action {
	case ActionPublish:
		if old != nil && old.Visible(now) {
			return StatusPublished, old.PublishAt // a correction is not news again
		}
		return StatusPublished, now
	case ActionSchedule:
		return StatusPublished, latest(planned, now)
	}
	return StatusDraft, planned
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// audit records what a save did: created or updated, and when visibility
// changed, published, scheduled or unpublished.
func (s *Service) audit(ctx context.Context, tx *sql.Tx, by Actor, it, old *Item, now time.Time) error {
	if s.Audit == nil {
		return nil
	}
	state := it.State(now)
	details := map[string]string{"slug": it.Slug, "category": it.Category, "state": state}
	if !it.PublishAt.IsZero() {
		details["publish_at"] = it.PublishAt.Format(time.RFC3339)
	}
	if len(it.Translations) > 0 {
		langs := make([]string, 0, len(it.Translations))
		for l := range it.Translations {
			langs = append(langs, l)
		}
		slices.Sort(langs)
		details["translations"] = strings.Join(langs, ",")
	}
	action := "news.updated"
	if old == nil {
		action = "news.created"
	}
	events := []string{action}
	oldState := StateDraft
	if old != nil {
		oldState = old.State(now)
	}
	switch {
	case state == StatePublished && oldState != StatePublished:
		events = append(events, "news.published")
	case state == StateScheduled && (oldState != StateScheduled || !old.PublishAt.Equal(it.PublishAt)):
		events = append(events, "news.scheduled")
	case state == StateDraft && oldState != StateDraft:
		events = append(events, "news.unpublished")
	}
	for _, a := range events {
		if err := s.Audit.Write(ctx, tx, audit.Entry{Actor: by.name(), Action: a, Subject: "news:" + it.ID, Remote: by.Remote, Details: details}); err != nil {
			return err
		}
	}
	return nil
}

// setTopics writes an item's topics where a topic's page finds them.
func setTopics(ctx context.Context, tx *sql.Tx, id string, topics []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM news_item_topics WHERE item_id = $1`, id); err != nil {
		return err
	}
	for _, t := range topics {
		if _, err := tx.ExecContext(ctx, `INSERT INTO news_item_topics (item_id, topic) VALUES ($1, $2)`, id, t); err != nil {
			return err
		}
	}
	return nil
}

// maxSlug bounds the length of a slug, cut at a hyphen.
const maxSlug = 80

// freeSlug returns base, or base-2, base-3..., whichever no item has.
func (s *Service) freeSlug(ctx context.Context, tx *sql.Tx, base string) (string, error) {
	if len(base) > maxSlug {
		base = base[:maxSlug]
		if i := strings.LastIndexByte(base, '-'); i > maxSlug/2 {
			base = base[:i]
		}
		base = strings.Trim(base, "-")
	}
	if base == "" {
		base = "notizia"
	}
	for n := 1; ; n++ {
		slug := base
		if n > 1 {
			slug = base + "-" + strconv.Itoa(n)
		}
		var taken int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM news_items WHERE slug = $1`, slug).Scan(&taken); err != nil {
			return "", err
		}
		if taken == 0 {
			return slug, nil
		}
	}
}

const itemColumns = `id, slug, category, title, summary, body, topics, status, publish_at, author_id, created_at, updated_at, version`

// listColumns leave the body out: lists do not show it.
const listColumns = `id, slug, category, title, summary, '', topics, status, publish_at, author_id, created_at, updated_at, version`

type rowScanner interface{ Scan(dest ...any) error }

func scanItem(r rowScanner) (*Item, error) {
	it := &Item{}
	var topics string
	var at sql.NullTime
	err := r.Scan(&it.ID, &it.Slug, &it.Category, &it.Title, &it.Summary, &it.Body, &topics, &it.Status, &at, &it.AuthorID, &it.CreatedAt, &it.UpdatedAt,
		&it.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if topics != "" {
		it.Topics = strings.Split(topics, ",")
	}
	if at.Valid {
		it.PublishAt = at.Time.UTC()
	}
	it.CreatedAt, it.UpdatedAt = it.CreatedAt.UTC(), it.UpdatedAt.UTC()
	return it, nil
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// Get returns an item whatever its state, for the back office.
func (s *Service) Get(ctx context.Context, id string) (*Item, error) {
	it, err := scanItem(s.DB.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM news_items WHERE id = $1`, id))
	if err != nil {
		return nil, err
	}
	return it, s.translate(ctx, []*Item{it}, true)
}

// Published returns the item with the slug if the public may read it now.
func (s *Service) Published(ctx context.Context, slug string) (*Item, error) {
	it, err := scanItem(s.DB.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM news_items
		WHERE slug = $1 AND status = 'published' AND publish_at <= $2`, slug, s.now()))
	if err != nil {
		return nil, err
	}
	return it, s.translate(ctx, []*Item{it}, true)
}

// translations are an input's English texts as an item's, none when
// empty.
func translations(en ItemText) map[string]ItemText {
	if en == (ItemText{}) {
		return nil
	}
	return map[string]ItemText{"en": en}
}

// writeTranslations replaces the stored translations of an item.
func writeTranslations(ctx context.Context, tx *sql.Tx, it *Item) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM news_translations WHERE item_id = $1`, it.ID); err != nil {
		return err
	}
	for lang, t := range it.Translations {
		if _, err := tx.ExecContext(ctx, `INSERT INTO news_translations (item_id, lang, title, summary, body) VALUES ($1, $2, $3, $4, $5)`,
			it.ID, lang, t.Title, t.Summary, t.Body); err != nil {
			return err
		}
	}
	return nil
}

// translate reads the translations of the items (their bodies only when
// withBody: lists show titles and summaries).
func (s *Service) translate(ctx context.Context, items []*Item, withBody bool) error {
	if len(items) == 0 {
		return nil
	}
	byID := make(map[string]*Item, len(items))
	marks := make([]string, 0, len(items))
	args := make([]any, 0, len(items))
	for _, it := range items {
		byID[it.ID] = it
		args = append(args, it.ID)
		marks = append(marks, "$"+strconv.Itoa(len(args)))
	}
	body := "''"
	if withBody {
		body = "body"
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT item_id, lang, title, summary, `+body+` FROM news_translations WHERE item_id IN (`+ // #nosec G202 -- only placeholders and a column name are joined in
		strings.Join(marks, ", ")+`)`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, lang string
		var t ItemText
		if err := rows.Scan(&id, &lang, &t.Title, &t.Summary, &t.Body); err != nil {
			return err
		}
		if it := byID[id]; it != nil {
			if it.Translations == nil {
				it.Translations = map[string]ItemText{}
			}
			it.Translations[lang] = t
		}
	}
	return rows.Err()
}

// List returns page (from 1) of the items the public may read now, of a
// category ("" for all), newest first, and how many there are in all.
func (s *Service) List(ctx context.Context, category string, page, perPage int) ([]Item, int, error) {
	now := s.now()
	where := `status = 'published' AND publish_at <= $1`
	args := []any{now}
	if category != "" {
		where += ` AND category = $2`
		args = append(args, category)
	}
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM news_items WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	if total == 0 || (page-1)*perPage >= total {
		return nil, total, nil
	}
	items, err := s.query(ctx, listColumns, where, perPage, (page-1)*perPage, args...)
	return items, total, err
}

// ByTopic returns page (from 1) of the items the public may read now that
// carry a national topic, newest first, and how many there are in all.
func (s *Service) ByTopic(ctx context.Context, topic string, page, perPage int) ([]Item, int, error) {
	where := `status = 'published' AND publish_at <= $1 AND id IN (SELECT item_id FROM news_item_topics WHERE topic = $2)`
	args := []any{s.now(), topic}
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM news_items WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	if total == 0 || (page-1)*perPage >= total {
		return nil, total, nil
	}
	items, err := s.query(ctx, listColumns, where, perPage, (page-1)*perPage, args...)
	return items, total, err
}

// Latest returns the n newest items the public may read now, for the home
// page.
func (s *Service) Latest(ctx context.Context, n int) ([]Item, error) {
	return s.query(ctx, listColumns, `status = 'published' AND publish_at <= $1`, n, 0, s.now())
}

// Feed returns the n newest items the public may read now, of a category
// ("" for all), with their bodies.
func (s *Service) Feed(ctx context.Context, category string, n int) ([]Item, error) {
	if category == "" {
		return s.query(ctx, itemColumns, `status = 'published' AND publish_at <= $1`, n, 0, s.now())
	}
	return s.query(ctx, itemColumns, `status = 'published' AND publish_at <= $1 AND category = $2`, n, 0, s.now(), category)
}

func (s *Service) query(ctx context.Context, columns, where string, limit, offset int, args ...any) ([]Item, error) {
	q := fmt.Sprintf(`SELECT %s FROM news_items WHERE %s ORDER BY publish_at DESC, id DESC LIMIT %d OFFSET %d`, columns, where, limit, offset)
	rows, err := s.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Item
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *it)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, s.translateAll(ctx, out, columns == itemColumns)
}

// translateAll reads the translations of a list of items.
func (s *Service) translateAll(ctx context.Context, items []Item, withBody bool) error {
	ptrs := make([]*Item, len(items))
	for i := range items {
		ptrs[i] = &items[i]
	}
	return s.translate(ctx, ptrs, withBody)
}

// All returns page (from 1) of every item, drafts and scheduled ones
// included, most recently changed first, and how many there are, for the
// back office.
func (s *Service) All(ctx context.Context, page, perPage int) ([]Item, int, error) {
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM news_items`).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.DB.QueryContext(ctx, fmt.Sprintf(`SELECT %s FROM news_items ORDER BY updated_at DESC, id DESC LIMIT %d OFFSET %d`,
		listColumns, perPage, (page-1)*perPage))
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []Item
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, *it)
	}
	return out, total, rows.Err()
}
