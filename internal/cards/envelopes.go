package cards

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/sealed"
	"github.com/civico-pa/civico/internal/token"
)

// KeyPurpose names the key the age identities are sealed with, derived
// from the installation's secret.
const KeyPurpose = "card envelope keys"

// Keys keeps the town's age identities: the issuing service encrypts each
// PIN/PUK envelope for the current one's recipient; the private halves are
// sealed in the database (package sealed) and opened only to decrypt an
// envelope at its delivery.
type Keys struct {
	DB  *db.DB
	Box *sealed.Box
	Now func() time.Time
}

// Key is one of the town's age identities.
type Key struct {
	ID, Recipient string
	CreatedAt     time.Time
	Retired       bool
}

// Current returns the current key's recipient, making the first key
// when there is none (made is true then) or when rotate asks for a new
// one (the old one is retired: it decrypts the envelopes sent to it, and
// no new ones should be).
func (k *Keys) Current(ctx context.Context, rotate bool, a audit.Writer, actor string) (key *Key, made bool, err error) {
	err = k.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := k.DB.Hold(ctx, tx, db.LockCardKeys); err != nil {
			return err
		}
		key = &Key{}
		err := tx.QueryRowContext(ctx, `SELECT id, recipient, created_at FROM card_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1`).
			Scan(&key.ID, &key.Recipient, &key.CreatedAt)
		if err == nil && !rotate {
			return nil
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		if k.Now != nil {
			now = k.Now().UTC().Truncate(time.Microsecond)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE card_keys SET retired_at = $1 WHERE retired_at IS NULL`, now); err != nil {
			return err
		}
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return err
		}
		key = &Key{ID: token.ID(), Recipient: id.Recipient().String(), CreatedAt: now}
		if _, err := tx.ExecContext(ctx, `INSERT INTO card_keys (id, recipient, identity_enc, created_at) VALUES ($1, $2, $3, $4)`,
			key.ID, key.Recipient, k.Box.Seal([]byte(id.String()), key.ID), key.CreatedAt); err != nil {
			return err
		}
		made = true
		return a.Write(ctx, tx, audit.Entry{Actor: actor, Action: "cards.key.created", Subject: "card_key:" + key.ID,
			Details: map[string]string{"recipient": key.Recipient}})
	})
	return key, made, err
}

// identities opens every key, retired ones too (an envelope sent to a
// key before its rotation still opens), in tx.
func (k *Keys) identities(ctx context.Context, tx *sql.Tx) ([]age.Identity, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, identity_enc FROM card_keys ORDER BY created_at DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []age.Identity
	for rows.Next() {
		var id, enc string
		if err := rows.Scan(&id, &enc); err != nil {
			return nil, err
		}
		plain, err := k.Box.Open(enc, id)
		if err != nil {
			return nil, fmt.Errorf("cards: key %s: %w", id, err)
		}
		ident, err := age.ParseX25519Identity(string(plain))
		if err != nil {
			return nil, fmt.Errorf("cards: key %s: %w", id, err)
		}
		out = append(out, ident)
	}
	return out, rows.Err()
}

// EnvelopeHeader is the first line of an envelopes' file.
var EnvelopeHeader = []string{"seriale", "busta"}

// MaxEnvelope is the largest encrypted envelope accepted (an envelope is
// a few hundred bytes).
const MaxEnvelope = 4096

// envelopeFile is one accepted line of an envelopes' file.
type envelopeFile struct {
	Line       int
	Serial     string
	Ciphertext []byte
	SHA256     string
}

// ParseEnvelopes reads a file of envelopes (serial; base64 of the age
// file): each line must be an age file of a card the registry holds, sent
// once; any wrong line refuses the whole file. Nothing is decrypted.
func (s *Service) ParseEnvelopes(ctx context.Context, file string, data []byte) ([]envelopeFile, error) {
	var out []envelopeFile
	seen := map[string]int{}
	serials := map[string]bool{}
	_, err := readCSV(file, data, EnvelopeHeader, func(n int, rec []string) []LineError {
		bad := func(col, msg string) []LineError {
			return []LineError{{File: file, Line: n, Column: col, Message: msg}}
		}
		serial := strings.TrimSpace(rec[0])
		if !serialRE.MatchString(serial) {
			return bad("seriale", "cards.error.serial")
		}
		serial = Canonical(serial)
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rec[1]))
		if err != nil || len(raw) == 0 || len(raw) > MaxEnvelope {
			return bad("busta", "cards.error.envelope")
		}
		if _, err := age.ExtractHeader(bytes.NewReader(raw)); err != nil {
			return bad("busta", "cards.error.envelope")
		}
		sum := sha256.Sum256(raw)
		h := hex.EncodeToString(sum[:])
		if first, dup := seen[h]; dup {
			return []LineError{{File: file, Line: n, Column: "busta", Message: "cards.error.envelope_twice", First: first}}
		}
		seen[h] = n
		serials[serial] = true
		out = append(out, envelopeFile{Line: n, Serial: serial, Ciphertext: raw, SHA256: h})
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The cards must be in the registry, and an envelope already received
	// is a replay: both are read from the database in batches.
	known, err := s.present(ctx, `SELECT serial FROM cards WHERE serial IN `, out, func(e envelopeFile) string { return e.Serial })
	if err != nil {
		return nil, err
	}
	received, err := s.present(ctx, `SELECT sha256 FROM card_envelopes WHERE sha256 IN `, out, func(e envelopeFile) string { return e.SHA256 })
	if err != nil {
		return nil, err
	}
	var errs LineErrors
	for _, e := range out {
		switch {
		case !known[e.Serial]:
			errs = append(errs, LineError{File: file, Line: e.Line, Column: "seriale", Message: "cards.error.unknown_card"})
		case received[e.SHA256]:
			errs = append(errs, LineError{File: file, Line: e.Line, Column: "busta", Message: "cards.error.envelope_replayed"})
		}
		if len(errs) >= MaxLineErrors {
			break
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

// present reads which of the lines' keys a query finds, 500 at a time:
// query ends with "IN " and selects the key.
func (s *Service) present(ctx context.Context, query string, lines []envelopeFile, key func(envelopeFile) string) (map[string]bool, error) {
	found := map[string]bool{}
	for start := 0; start < len(lines); start += 500 {
		chunk := lines[start:min(start+500, len(lines))]
		args := make([]any, len(chunk))
		marks := make([]string, len(chunk))
		for i, e := range chunk {
			args[i], marks[i] = key(e), fmt.Sprintf("$%d", i+1)
		}
		rows, err := s.DB.QueryContext(ctx, query+"("+strings.Join(marks, ", ")+")", args...) // #nosec G202 -- placeholders only
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				return nil, errors.Join(err, rows.Close())
			}
			found[k] = true
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return found, nil
}

// ImportEnvelopes records an accepted envelopes' file in one transaction.
// A card's envelope still waiting when a new one arrives stays as it is:
// the newer is the one to deliver (Deliver refuses the older while it
// waits), and the older is destroyed only when the newer has been opened
// and delivered. An import therefore never destroys a PIN: a forged file
// can make an operator try an envelope that is then refused, never erase
// the genuine one (docs/CARDS.md).
func (s *Service) ImportEnvelopes(ctx context.Context, file string, data []byte, list []envelopeFile, actor string, progress func(int)) (*Import, error) {
	sum := sha256.Sum256(data)
	now := s.now()
	imp := &Import{ID: token.ID(), Kind: "envelopes", FileName: file, SHA256: hex.EncodeToString(sum[:]), Lines: len(list), Actor: actor, CreatedAt: now}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := insertImport(ctx, tx, imp); err != nil {
			return err
		}
		for i, e := range list {
			_, err := tx.ExecContext(ctx, `INSERT INTO card_envelopes (id, serial, sha256, ciphertext, status, import_id, imported_at)
				VALUES ($1, $2, $3, $4, 'pending', $5, $6)`, token.ID(), e.Serial, e.SHA256, base64.StdEncoding.EncodeToString(e.Ciphertext), imp.ID, now)
			if db.IsUniqueViolation(err) {
				return LineErrors{{File: file, Line: e.Line, Column: "busta", Message: "cards.error.envelope_replayed"}}
			}
			if err != nil {
				return err
			}
			if progress != nil && (i%100 == 99 || i == len(list)-1) {
				progress(i + 1)
			}
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: actor, Action: "cards.envelopes.imported", Subject: "card_import:" + imp.ID,
			Details: map[string]string{"file": file, "sha256": imp.SHA256, "envelopes": fmt.Sprint(len(list))}})
	})
	if err != nil {
		return nil, err
	}
	return imp, nil
}

// Secret is what an envelope holds, as the issuing service writes it
// (JSON, encrypted with age for the town's recipient).
type Secret struct {
	// Ref is the issuing service's number of the envelope: a PIN is
	// delivered once per number, whatever file brought it.
	Ref        string `json:"busta"`
	Serial     string `json:"seriale"`
	FiscalCode string `json:"codice_fiscale"`
	PIN        string `json:"pin"`
	PUK        string `json:"puk"`
}

var (
	pinRE = regexp.MustCompile(`^[0-9]{5,8}$`)
	pukRE = regexp.MustCompile(`^[0-9]{8,12}$`)
	refRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
)

// errEnvelope is an envelope that does not open for the town's keys, or
// whose content is not the card's: tampered, or sent for another card.
var errEnvelope = errors.New("cards: the envelope does not open, or is not this card's")

// open decrypts an envelope and checks it is the card's.
func open(ciphertext []byte, ids []age.Identity, card *Card) (*Secret, error) {
	r, err := age.Decrypt(bytes.NewReader(ciphertext), ids...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errEnvelope, err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, MaxEnvelope))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errEnvelope, err)
	}
	var sec Secret
	dec := json.NewDecoder(bytes.NewReader(plain))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sec); err != nil {
		return nil, fmt.Errorf("%w: %v", errEnvelope, err)
	}
	if Canonical(sec.Serial) != card.Serial || sec.FiscalCode != card.FiscalCode || !pinRE.MatchString(sec.PIN) || !pukRE.MatchString(sec.PUK) || !refRE.MatchString(sec.Ref) {
		return nil, fmt.Errorf("%w: its content is not this card's", errEnvelope)
	}
	return &sec, nil
}

// Seal encrypts a secret for recipient as the issuing service does: the
// demo and the tests make envelopes with it.
func Seal(sec Secret, recipient string) ([]byte, error) {
	rcpt, err := age.ParseX25519Recipient(recipient)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	w, err := age.Encrypt(&out, rcpt)
	if err != nil {
		return nil, err
	}
	if err := json.NewEncoder(w).Encode(sec); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// Envelope is an envelope as the URP sees it: never its content.
type Envelope struct {
	ID, Serial, Status string
	ImportedAt         time.Time
	ClosedAt           *time.Time
}

// Envelopes lists a card's envelopes, newest first (a card has a few).
func (s *Service) Envelopes(ctx context.Context, serial string) ([]*Envelope, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT id, serial, status, imported_at, closed_at FROM card_envelopes WHERE serial = $1
		ORDER BY imported_at DESC, id LIMIT 20`, serial)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Envelope
	for rows.Next() {
		e := &Envelope{}
		if err := rows.Scan(&e.ID, &e.Serial, &e.Status, &e.ImportedAt, &e.ClosedAt); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ErrNewerEnvelope is an envelope of a card for which a newer one waits:
// the newer is the re-issued PIN, to be delivered instead.
var ErrNewerEnvelope = problem.New(problem.Conflict, "cards.error.newer_envelope", errors.New("cards: a newer envelope waits for this card"))

// ErrNotPending is an envelope already delivered, superseded or refused.
var ErrNotPending = problem.New(problem.Conflict, "cards.error.not_pending", errors.New("cards: the envelope is no longer waiting"))
