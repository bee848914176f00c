package area

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/civico-pa/civico/internal/cache"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/mail"
	"github.com/civico-pa/civico/internal/problem"
	tokens "github.com/civico-pa/civico/internal/token"
)

// Message is what a feature tells a resident.
type Message struct {
	// Sender is the posting feature's name ("sportello").
	Sender string
	// Category is a message id of the sender's translations, shown as the
	// message's label ("Pratiche", "Pagamenti").
	Category string
	// Subject and Body are shown as they are, in the resident's language
	// when the sender knows it (Inbox.Recipient), Italian otherwise. Body
	// is plain text; a blank line separates paragraphs.
	Subject, Body string
	// Link is a page of this site the message leads to ("" for none).
	Link string
	// Public says the message holds nothing personal (a notice to every
	// resident of a service): only then does the mail that announces it
	// carry its subject and text. Personal messages, the default, are
	// announced without a word of their content.
	Public bool
	// At is when what the message tells happened, when it is posted
	// later (a notice kept until the person had an account): the
	// message's time in the inbox. Zero: now.
	At time.Time
}

// Stored is a message in a resident's inbox.
type Stored struct {
	Message
	ID        string
	AccountID string
	CreatedAt time.Time
	// ReadAt is zero while the message is unread.
	ReadAt time.Time
}

// Unread reports whether the resident has not opened the message yet.
func (m *Stored) Unread() bool { return m.ReadAt.IsZero() }

// Excerpt is the start of the body, for lists: at most n characters.
func (m *Stored) Excerpt(n int) string {
	s := strings.Join(strings.Fields(m.Body), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n]
	return strings.TrimRightFunc(string(r), unicode.IsSpace) + "…"
}

// Recipient is who a message's mail notice goes to.
type Recipient struct {
	Email, Name, Lang string
}

// Recipients finds an account's address, name and language (identity
// knows them): cmd/civico joins it.
type Recipients func(ctx context.Context, accountID string) (Recipient, bool, error)

// Notice writes the mail that announces a message: cmd/civico joins it
// to the translations and the town's name.
type Notice func(ctx context.Context, to Recipient, m Message, link string) mail.Message

// Inbox keeps the residents' messages.
type Inbox struct {
	DB     *db.DB
	Outbox *mail.Outbox
	// Recipients and Notice make the mail that announces a message; nil
	// sends none.
	Recipients Recipients
	Notice     Notice
	// BaseURL is the portal's public address, for the link in the mail.
	BaseURL string
	Now     func() time.Time
	// UnreadTTL is how long an account's count of unread messages
	// (Unread: the Messaggi tab's badge on every tab of the area) is kept:
	// a message posted, read or erased through this inbox shows at once
	// (each write forgets every count, and a write in its caller's
	// transaction keeps its accounts' counts out of the cache for the TTL,
	// so that one read before the commit is not kept after it), through
	// another process within the TTL. Zero counts at every request.
	UnreadTTL time.Duration

	unreadOnce sync.Once
	unread     *cache.Cache[string, int]
	// held are the accounts whose messages a transaction not committed yet
	// changes (Post, MergeAccounts, Erase), until when: their counts are
	// read at every call meanwhile, so that a count read before the commit
	// is not kept after it.
	heldMu sync.Mutex
	held   map[string]time.Time
}

// maxUnread bounds the counts kept: one an account seen within UnreadTTL.
const maxUnread = 10000

func (b *Inbox) unreadCounts() *cache.Cache[string, int] {
	b.unreadOnce.Do(func() { b.unread = cache.New[string, int](b.UnreadTTL, maxUnread) })
	return b.unread
}

// forget drops the kept counts, after this inbox writes: deferred by
// every method that writes messages in a statement of its own.
func (b *Inbox) forget() { b.unreadCounts().Purge() }

// hold drops the kept counts and keeps accounts' out of the cache for
// UnreadTTL: called by the methods that write in their caller's
// transaction, which commits after they return (a count read in between
// would otherwise be kept for the TTL after the commit).
func (b *Inbox) hold(accounts ...string) {
	if b.unreadCounts() == nil {
		return
	}
	now := time.Now()
	b.heldMu.Lock()
	if b.held == nil || len(b.held) >= maxUnread {
		for id, until := range b.held {
			if now.After(until) {
				delete(b.held, id)
			}
		}
		if b.held == nil || len(b.held) >= maxUnread {
			b.held = map[string]time.Time{} // bounded: the oldest holds end early
		}
	}
	for _, id := range accounts {
		b.held[id] = now.Add(b.UnreadTTL)
	}
	b.heldMu.Unlock()
	b.forget()
}

// isHeld reports whether accountID's count must be read, not kept.
func (b *Inbox) isHeld(accountID string) bool {
	b.heldMu.Lock()
	defer b.heldMu.Unlock()
	until, ok := b.held[accountID]
	return ok && time.Now().Before(until)
}

func (b *Inbox) now() time.Time {
	if b.Now != nil {
		return b.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

// Limits of a message, in characters.
const (
	maxSubject = 200
	maxBody    = 10000
)

// ErrInvalid is matched by every refusal of a message's fields: a
// programming error of the posting feature.
var ErrInvalid = errors.New("area: invalid message")

func (m *Message) check() error {
	m.Subject, m.Body = strings.TrimSpace(m.Subject), strings.TrimSpace(m.Body)
	bad := func(format string, args ...any) error {
		return problem.New(problem.Invalid, "", fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...))
	}
	switch {
	case m.Sender == "" || m.Category == "":
		return bad("sender and category are required")
	case m.Subject == "" || utf8.RuneCountInString(m.Subject) > maxSubject || strings.ContainsFunc(m.Subject, unicode.IsControl):
		return bad("subject: one line of 1 to %d characters", maxSubject)
	case !utf8.ValidString(m.Body) || utf8.RuneCountInString(m.Body) > maxBody || strings.ContainsRune(m.Body, 0):
		return bad("body: at most %d characters of text", maxBody)
	case m.Link != "" && (!strings.HasPrefix(m.Link, "/") || strings.HasPrefix(m.Link, "//") || strings.ContainsAny(m.Link, "\\\r\n\t ")):
		return bad("link %q: a path of this site", m.Link)
	}
	return nil
}

// Path is the address of a message in the personal area.
func Path(id string) string { return "/area-personale/messaggi/" + id }

// Post puts a message in the inbox of an account, in tx, the posting
// feature's transaction: it exists if and only if tx commits, and so does
// the mail that announces it (through the outbox). It returns the
// message's id.
func (b *Inbox) Post(ctx context.Context, tx *sql.Tx, accountID string, m Message) (string, error) {
	b.hold(accountID)
	if err := m.check(); err != nil {
		return "", err
	}
	if accountID == "" {
		return "", problem.New(problem.Invalid, "", fmt.Errorf("%w: no account", ErrInvalid))
	}
	id, at := tokens.ID(), b.now()
	if !m.At.IsZero() {
		at = m.At.UTC().Truncate(time.Microsecond)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO area_messages (id, account_id, sender, category, subject, body, link, public, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, id, accountID, m.Sender, m.Category, m.Subject, m.Body, m.Link, m.Public, at)
	if err != nil {
		return "", fmt.Errorf("area: post a message: %w", err)
	}
	if b.Recipients == nil || b.Notice == nil || b.Outbox == nil {
		return id, nil
	}
	to, ok, err := b.Recipients(ctx, accountID)
	if err != nil {
		return "", err
	}
	if !ok || to.Email == "" {
		return id, nil // an account without an address reads it in the area
	}
	if _, err := b.Outbox.Enqueue(ctx, tx, b.Notice(ctx, to, m, b.BaseURL+Path(id))); err != nil {
		return "", err
	}
	return id, nil
}

// ErrNotFound: no such message in this resident's inbox.
var ErrNotFound = problem.New(problem.NotFound, "", errors.New("area: message not found"))

const selectMessage = `SELECT id, account_id, sender, category, subject, body, link, public, created_at, read_at FROM area_messages`

func scanMessage(r interface{ Scan(...any) error }) (*Stored, error) {
	m := &Stored{}
	var read sql.NullTime
	if err := r.Scan(&m.ID, &m.AccountID, &m.Sender, &m.Category, &m.Subject, &m.Body, &m.Link, &m.Public, &m.CreatedAt, &read); err != nil {
		return nil, err
	}
	m.CreatedAt = m.CreatedAt.UTC()
	if read.Valid {
		m.ReadAt = read.Time.UTC()
	}
	return m, nil
}

// validID is the shape of the ids tokens.ID makes.

// Get reads a message of accountID; another's is ErrNotFound.
func (b *Inbox) Get(ctx context.Context, accountID, id string) (*Stored, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	m, err := scanMessage(b.DB.QueryRowContext(ctx, selectMessage+` WHERE id = $1 AND account_id = $2`, id, accountID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return m, err
}

// MaxPage is the most messages a page lists.
const MaxPage = 50

// Page is a page of an inbox.
type Page struct {
	Messages []*Stored
	// Total and Unread count the whole inbox.
	Total, Unread int
}

// List reads a page of accountID's messages, newest first: at most limit
// (MaxPage at most) from offset; only the unread ones if unread is set.
// One statement: the counts are columns of the page, uncorrelated
// subqueries the database runs once; only a page without a row (past the
// end, or no unread message) asks for them apart.
func (b *Inbox) List(ctx context.Context, accountID string, limit, offset int, unread bool) (Page, error) {
	var p Page
	where := ` WHERE account_id = $1`
	if unread {
		where += ` AND read_at IS NULL`
	}
	rows, err := b.DB.QueryContext(ctx, selectCounted+where+` ORDER BY created_at DESC, id LIMIT $2 OFFSET $3`,
		accountID, min(max(limit, 1), MaxPage), max(offset, 0))
	if err != nil {
		return p, err
	}
	defer func() { _ = rows.Close() }()
	row := plus{rows, []any{&p.Total, &p.Unread}}
	for rows.Next() {
		m, err := scanMessage(row)
		if err != nil {
			return p, err
		}
		p.Messages = append(p.Messages, m)
	}
	if err := rows.Err(); err != nil {
		return p, err
	}
	if len(p.Messages) == 0 && (offset > 0 || unread) {
		p.Total, p.Unread, err = b.Counts(ctx, accountID)
	}
	return p, err
}

// selectCounted is selectMessage with the inbox's counts: all, unread.
const selectCounted = `SELECT id, account_id, sender, category, subject, body, link, public, created_at, read_at,
	(SELECT COUNT(*) FROM area_messages WHERE account_id = $1), (SELECT COUNT(*) FROM area_messages WHERE account_id = $1 AND read_at IS NULL)
	FROM area_messages`

// plus scans a row of scanMessage's columns followed by more, into extra.
type plus struct {
	rows  *sql.Rows
	extra []any
}

func (p plus) Scan(dest ...any) error { return p.rows.Scan(append(dest, p.extra...)...) }

// Latest reads accountID's n latest messages (MaxPage at most) and how
// many of the whole inbox are unread, in one statement: the desk's
// messages and the Messaggi tab's badge (not the inbox's total, which the
// desk does not show and which would count every message).
func (b *Inbox) Latest(ctx context.Context, accountID string, n int) ([]*Stored, int, error) {
	rows, err := b.DB.QueryContext(ctx, `SELECT id, account_id, sender, category, subject, body, link, public, created_at, read_at,
		(SELECT COUNT(*) FROM area_messages WHERE account_id = $1 AND read_at IS NULL)
		FROM area_messages WHERE account_id = $1 ORDER BY created_at DESC, id LIMIT $2`, accountID, min(max(n, 1), MaxPage))
	if err != nil {
		return nil, 0, err
	}
	defer func() { _ = rows.Close() }()
	var out []*Stored
	unread := 0
	row := plus{rows, []any{&unread}}
	for rows.Next() {
		m, err := scanMessage(row)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, m)
	}
	return out, unread, rows.Err()
}

// Counts are how many messages accountID has, and how many are unread.
func (b *Inbox) Counts(ctx context.Context, accountID string) (total, unread int, err error) {
	err = b.DB.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(*) - COUNT(read_at) FROM area_messages WHERE account_id = $1`, accountID).Scan(&total, &unread)
	return total, unread, err
}

// Unread is how many of accountID's messages are unread.
// Kept UnreadTTL (see there).
func (b *Inbox) Unread(ctx context.Context, accountID string) (int, error) {
	count := func() (int, error) {
		var n int
		err := b.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM area_messages WHERE account_id = $1 AND read_at IS NULL`, accountID).Scan(&n)
		return n, err
	}
	if b.isHeld(accountID) {
		return count()
	}
	return b.unreadCounts().Load(accountID, count)
}

// MarkRead marks a message of accountID read (read true) or unread.
func (b *Inbox) MarkRead(ctx context.Context, accountID, id string, read bool) error {
	defer b.forget()
	if !validID(id) {
		return ErrNotFound
	}
	query, args := `UPDATE area_messages SET read_at = NULL WHERE id = $1 AND account_id = $2`, []any{id, accountID}
	if read {
		query, args = `UPDATE area_messages SET read_at = COALESCE(read_at, $3) WHERE id = $1 AND account_id = $2`, append(args, b.now())
	}
	res, err := b.DB.ExecContext(ctx, query, args...)
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

// MarkAllRead marks every message of accountID read.
func (b *Inbox) MarkAllRead(ctx context.Context, accountID string) error {
	defer b.forget()
	_, err := b.DB.ExecContext(ctx, `UPDATE area_messages SET read_at = $2 WHERE account_id = $1 AND read_at IS NULL`, accountID, b.now())
	return err
}

// All is every message of accountID, for the download of their data.
func (b *Inbox) All(ctx context.Context, accountID string) ([]*Stored, error) {
	rows, err := b.DB.QueryContext(ctx, selectMessage+` WHERE account_id = $1 ORDER BY created_at, id`, accountID)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []*Stored
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// MergeAccounts moves the messages of the account from to the account
// into, in tx, the transaction that links them (identity.Merger).
func (b *Inbox) MergeAccounts(ctx context.Context, tx *sql.Tx, from, into string) error {
	b.hold(from, into)
	_, err := tx.ExecContext(ctx, `UPDATE area_messages SET account_id = $1 WHERE account_id = $2`, into, from)
	return err
}

// Erase deletes every message of an account its owner closes, in tx, the
// closure's transaction (identity.Closer).
func (b *Inbox) Erase(ctx context.Context, tx *sql.Tx, accountID string) error {
	b.hold(accountID)
	_, err := tx.ExecContext(ctx, `DELETE FROM area_messages WHERE account_id = $1`, accountID)
	return err
}

// validID is the shape of the ids the token package makes.
var validID = tokens.ValidID
