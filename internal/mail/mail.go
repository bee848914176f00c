// Package mail sends civico's outgoing mail (address verification,
// notifications) through an outbox: a feature writes the message in the
// same transaction as the action it reports, with Outbox.Enqueue, so the
// message leaves if and only if the action commits; a Worker, in every
// civico process, later claims due messages, hands them to a Sender (SMTP in
// production) and records the outcome, retrying with a backoff.
//
// Delivery is at least once: a message whose worker dies after the SMTP
// server accepted it but before the outcome was stored is sent again once
// its lease expires. Every attempt carries the same Message-ID, so the
// receiving side can tell the copies apart.
package mail

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/token"
)

// Message is a mail to one recipient. Text is required; when HTML is set,
// the mail carries both as multipart/alternative. Attachments follow the
// body in a multipart/mixed mail.
type Message struct {
	To          string
	Subject     string
	Text        string
	HTML        string
	Attachments []Attachment
}

// Attachment is a file a mail carries: its name (plain ASCII, as the
// recipient's client offers to save it), its media type, its content.
type Attachment struct {
	Name      string `json:"name"`
	MediaType string `json:"media_type"`
	Content   []byte `json:"content"`
}

// MaxAttachments is the most files a mail carries.
const MaxAttachments = 5

// Limits on what Enqueue accepts.
const (
	MaxSubject = 250     // characters
	MaxBody    = 1 << 20 // bytes, Text and HTML each
	maxAddress = 254     // bytes (RFC 5321)
)

// ErrInvalid is matched (errors.Is) by every *InvalidError.
var ErrInvalid = errors.New("invalid message")

// InvalidError says which field of a Message cannot be sent, and why.
type InvalidError struct {
	Field  string // "To", "Subject", "Text" or "HTML"
	Reason string
}

func (e *InvalidError) Error() string { return "mail: invalid " + e.Field + ": " + e.Reason }

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

func invalid(field, reason string) error { return &InvalidError{Field: field, Reason: reason} }

// Validate checks that m can be sent as it is: To is one plain ASCII
// address (no display name, no list), the subject is one line, and nothing
// holds a line break where a header is built from it.
func (m Message) Validate() error {
	if err := ValidateAddress(m.To); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(m.Subject) == "":
		return invalid("Subject", "empty")
	case !utf8.ValidString(m.Subject):
		return invalid("Subject", "not valid UTF-8")
	case strings.ContainsFunc(m.Subject, unicode.IsControl):
		return invalid("Subject", "holds a line break or another control character")
	case utf8.RuneCountInString(m.Subject) > MaxSubject:
		return invalid("Subject", fmt.Sprintf("longer than %d characters", MaxSubject))
	}
	for _, b := range []struct{ field, body string }{{"Text", m.Text}, {"HTML", m.HTML}} {
		switch {
		case b.field == "Text" && strings.TrimSpace(b.body) == "":
			return invalid("Text", "empty: every mail needs a plain-text body")
		case !utf8.ValidString(b.body):
			return invalid(b.field, "not valid UTF-8")
		case strings.ContainsRune(b.body, 0):
			return invalid(b.field, "holds a NUL character")
		case len(b.body) > MaxBody:
			return invalid(b.field, fmt.Sprintf("longer than %d bytes", MaxBody))
		}
	}
	if len(m.Attachments) > MaxAttachments {
		return invalid("Attachments", fmt.Sprintf("more than %d files", MaxAttachments))
	}
	size := 0
	for _, a := range m.Attachments {
		size += len(a.Content)
		if a.Name == "" || len(a.Name) > 100 || strings.ContainsFunc(a.Name, func(r rune) bool {
			return r > unicode.MaxASCII || r < ' ' || r == 0x7f || strings.ContainsRune(`"\\/`, r)
		}) {
			return invalid("Attachments", "a file's name must be plain ASCII without quotes, slashes or control characters")
		}
		if _, _, err := mime.ParseMediaType(a.MediaType); err != nil || strings.ContainsFunc(a.MediaType, unicode.IsControl) {
			return invalid("Attachments", "a file's media type is not valid")
		}
	}
	if size > MaxBody {
		return invalid("Attachments", fmt.Sprintf("longer than %d bytes together", MaxBody))
	}
	return nil
}

// encodeAttachments is how the outbox keeps a message's files.
func encodeAttachments(list []Attachment) (string, error) {
	if len(list) == 0 {
		return "", nil
	}
	b, err := json.Marshal(list)
	return string(b), err
}

func decodeAttachments(s string) ([]Attachment, error) {
	if s == "" {
		return nil, nil
	}
	var out []Attachment
	return out, json.Unmarshal([]byte(s), &out)
}

// ValidateAddress checks that addr is a single plain address such as
// mario.rossi@example.it: ASCII, without display name, comment, brackets,
// spaces or line breaks.
func ValidateAddress(addr string) error {
	switch {
	case addr == "":
		return invalid("To", "empty")
	case len(addr) > maxAddress:
		return invalid("To", "too long")
	case strings.ContainsFunc(addr, func(r rune) bool { return r > unicode.MaxASCII || r <= ' ' || r == 0x7f }):
		return invalid("To", "holds spaces, line breaks or characters outside ASCII")
	}
	a, err := mail.ParseAddress(addr)
	if err != nil {
		return invalid("To", "not an e-mail address")
	}
	if a.Name != "" || a.Address != addr {
		return invalid("To", "must be a plain address, such as nome@example.it")
	}
	local, domain, _ := strings.Cut(addr, "@")
	if local == "" || domain == "" || strings.HasPrefix(domain, "[") {
		return invalid("To", "not an e-mail address")
	}
	return nil
}

// Outbox stores messages until a Worker delivers them.
type Outbox struct{ DB *db.DB }

// Enqueue stores m in tx, the caller's write transaction, so that it is
// sent only if the transaction commits. It returns the message's id, or an
// *InvalidError when m cannot be sent.
func (o *Outbox) Enqueue(ctx context.Context, tx *sql.Tx, m Message) (int64, error) {
	if err := m.Validate(); err != nil {
		return 0, err
	}
	files, err := encodeAttachments(m.Attachments)
	if err != nil {
		return 0, err
	}
	// The unique left part of the Message-ID: 128 random bits.
	messageID := token.ID()
	now := time.Now().UTC()
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO mail_outbox
		(created_at, to_addr, subject, body_text, body_html, status, attempts, next_attempt_at, last_error, message_id, attachments)
		VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, '', $7, $8) RETURNING id`,
		now, m.To, m.Subject, m.Text, m.HTML, now, messageID, files).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("mail: enqueue: %w", err)
	}
	return id, nil
}

// MessageID returns the Message-ID header value of a stored message: its
// token at the domain of the sender's address.
func MessageID(token, from string) string {
	domain := "civico.invalid"
	if a, err := mail.ParseAddress(from); err == nil {
		if _, d, ok := strings.Cut(a.Address, "@"); ok && d != "" && !strings.ContainsAny(d, "[]<> ") {
			domain = d
		}
	}
	return "<" + token + "@" + domain + ">"
}

// Status is where a stored message is in its delivery.
type Status string

const (
	Pending Status = "pending"
	Sending Status = "sending"
	Sent    Status = "sent"
	Failed  Status = "failed"
)

// Stored is a message in the outbox with its delivery state.
type Stored struct {
	Message
	ID            int64
	CreatedAt     time.Time
	Status        Status
	Attempts      int
	NextAttemptAt time.Time
	LeaseUntil    time.Time // zero unless Sending
	LastError     string
	SentAt        time.Time // zero unless Sent
	// MessageID is the token of the Message-ID (see MessageID).
	MessageID string
}

// ErrNotFound is returned by Get for an unknown id.
var ErrNotFound = errors.New("mail: no such message")

// Get returns a stored message.
func (o *Outbox) Get(ctx context.Context, id int64) (Stored, error) {
	var s Stored
	var status string
	var lease, sent sql.NullTime
	err := o.DB.QueryRowContext(ctx, `SELECT id, created_at, to_addr, subject, body_text, body_html, status, attempts,
		next_attempt_at, lease_until, last_error, sent_at, message_id FROM mail_outbox WHERE id = $1`, id).Scan(
		&s.ID, &s.CreatedAt, &s.To, &s.Subject, &s.Text, &s.HTML, &status, &s.Attempts,
		&s.NextAttemptAt, &lease, &s.LastError, &sent, &s.MessageID)
	if errors.Is(err, sql.ErrNoRows) {
		return Stored{}, ErrNotFound
	}
	if err != nil {
		return Stored{}, fmt.Errorf("mail: read message %d: %w", id, err)
	}
	s.Status = Status(status)
	s.CreatedAt, s.NextAttemptAt = s.CreatedAt.UTC(), s.NextAttemptAt.UTC()
	if lease.Valid {
		s.LeaseUntil = lease.Time.UTC()
	}
	if sent.Valid {
		s.SentAt = sent.Time.UTC()
	}
	return s, nil
}

// Purge deletes the sent and failed messages created before the given
// time, so that addresses and links do not stay in the database longer
// than needed. It returns how many it deleted.
func (o *Outbox) Purge(ctx context.Context, before time.Time) (int64, error) {
	res, err := o.DB.ExecContext(ctx, `DELETE FROM mail_outbox WHERE status IN ('sent', 'failed') AND created_at < $1`, before.UTC())
	if err != nil {
		return 0, fmt.Errorf("mail: purge: %w", err)
	}
	return res.RowsAffected()
}
