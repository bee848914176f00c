package spid

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/sealed"
	tokens "github.com/civico-pa/civico/internal/token"
)

// KeyPurpose is the purpose the SP keys' sealing key is derived for from
// the installation's secret.
const KeyPurpose = "spid sp keys"

// KeyBits is the size of the SP's RSA keys (AgID: at least 2048).
const KeyBits = 3072

// certYears is how long an SP certificate is valid.
const certYears = 3

// Key is one of the SP's keys: its certificate, published in the metadata
// while it is not retired, and its private half, which signs from
// SignsFrom.
type Key struct {
	ID                   string
	Cert                 *x509.Certificate
	CreatedAt, SignsFrom time.Time
	RetiredAt            *time.Time
	priv                 *rsa.PrivateKey
}

// Subject is what the SP certificate says of the town (Avviso SPID 29,
// public SPs): its name, IPA code, locality and the SP's entityID.
type Subject struct {
	CommonName, Organization, IPACode, Locality, EntityID string
}

// Keys keeps the SP's keys in the database, sealed.
type Keys struct {
	DB  *db.DB
	Box *sealed.Box
	Now func() time.Time

	mu       sync.Mutex
	cached   *Key
	cachedAt time.Time
}

func (k *Keys) now() time.Time {
	if k.Now != nil {
		return k.Now().UTC()
	}
	return time.Now().UTC()
}

// ErrSecretMismatch means the keys were sealed with another secret.
var ErrSecretMismatch = errors.New("the SPID key cannot be opened with CIVICO_SECRET_KEY: the secret key differs from the one the keys were created with")

// OIDs of the SPID certificate profile.
var (
	oidOrganizationIdentifier = asn1.ObjectIdentifier{2, 5, 4, 97}
	oidURI                    = asn1.ObjectIdentifier{2, 5, 4, 83}
	oidAgIDCert               = asn1.ObjectIdentifier{1, 3, 76, 16, 6}
	oidSPIDPublicSP           = asn1.ObjectIdentifier{1, 3, 76, 16, 4, 2, 1}
)

// newCertificate makes a self-signed certificate for key (allowed for
// public SPs), with the subject AgID's profile asks for.
func newCertificate(key *rsa.PrivateKey, s Subject, now time.Time) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	name := pkix.Name{CommonName: s.CommonName, Organization: []string{s.Organization}, Country: []string{"IT"},
		ExtraNames: []pkix.AttributeTypeAndValue{{Type: oidOrganizationIdentifier, Value: "PA:IT-" + s.IPACode}, {Type: oidURI, Value: s.EntityID}}}
	if s.Locality != "" {
		name.Locality = []string{s.Locality}
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: name, Issuer: name,
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(certYears, 0, 0),
		KeyUsage:           x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		PolicyIdentifiers:  []asn1.ObjectIdentifier{oidAgIDCert, oidSPIDPublicSP},
		SignatureAlgorithm: x509.SHA256WithRSA}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// Add makes a new key that signs from signsFrom; with retireOthers, every
// other key in force retires then (a rotation's overlap ends when the new
// key starts signing and the metadata drops the old certificate). It
// returns the new key's id.
func (k *Keys) Add(ctx context.Context, s Subject, signsFrom time.Time, retireOthers bool) (string, error) {
	priv, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return "", err
	}
	now := k.now()
	cert, err := newCertificate(priv, s, now)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", err
	}
	id := tokens.ID()
	enc := k.Box.Seal(der, id)
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
	err = k.DB.Tx(ctx, func(tx *sql.Tx) error {
		if retireOthers {
			if _, err := tx.ExecContext(ctx, `UPDATE spid_keys SET retired_at = $1 WHERE retired_at IS NULL OR retired_at > $1`, signsFrom.UTC()); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO spid_keys (id, private_enc, cert_pem, created_at, signs_from) VALUES ($1, $2, $3, $4, $5)`,
			id, enc, certPEM, now, signsFrom.UTC())
		return err
	})
	if err != nil {
		return "", err
	}
	k.forget()
	return id, nil
}

func (k *Keys) forget() {
	k.mu.Lock()
	k.cached = nil
	k.mu.Unlock()
}

// Ensure makes the first key when there is none in force.
func (k *Keys) Ensure(ctx context.Context, s Subject) error {
	var n int
	if err := k.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM spid_keys WHERE retired_at IS NULL OR retired_at > $1`, k.now()).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	_, err := k.Add(ctx, s, k.now(), false)
	return err
}

// Published are the keys the metadata lists: every key not retired yet,
// the one signing first.
func (k *Keys) Published(ctx context.Context) ([]Key, error) {
	return k.list(ctx, `WHERE retired_at IS NULL OR retired_at > $1`, k.now())
}

// All lists every key, retired ones too (civico spid keys).
func (k *Keys) All(ctx context.Context) ([]Key, error) {
	return k.list(ctx, ``)
}

// list reads the keys the condition where (with its arguments) selects,
// in the order they sign.
func (k *Keys) list(ctx context.Context, where string, args ...any) ([]Key, error) {
	// #nosec G202 -- where is one of the two constant conditions above.
	rows, err := k.DB.QueryContext(ctx, `SELECT id, cert_pem, created_at, signs_from, retired_at FROM spid_keys `+
		where+` ORDER BY signs_from, created_at, id`, args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []Key
	for rows.Next() {
		var key Key
		var certPEM string
		var retired sql.NullTime
		if err := rows.Scan(&key.ID, &certPEM, &key.CreatedAt, &key.SignsFrom, &retired); err != nil {
			return nil, err
		}
		if key.Cert, err = parseCertPEM(certPEM); err != nil {
			return nil, err
		}
		if retired.Valid {
			t := retired.Time
			key.RetiredAt = &t
		}
		out = append(out, key)
	}
	return out, rows.Err()
}

// errNoKey: no key signs yet.
var errNoKey = errors.New("no SPID key signs yet")

// Signer is the key that signs now: the newest whose time has come, not
// retired; cached for 30 seconds.
func (k *Keys) Signer(ctx context.Context) (*Key, error) {
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cached != nil && now.Sub(k.cachedAt) < 30*time.Second {
		return k.cached, nil
	}
	var key Key
	var enc, certPEM string
	err := k.DB.QueryRowContext(ctx, `SELECT id, private_enc, cert_pem, created_at, signs_from FROM spid_keys
		WHERE signs_from <= $1 AND (retired_at IS NULL OR retired_at > $1) ORDER BY signs_from DESC, created_at DESC, id DESC LIMIT 1`, now).
		Scan(&key.ID, &enc, &certPEM, &key.CreatedAt, &key.SignsFrom)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoKey
	}
	if err != nil {
		return nil, err
	}
	der, err := k.Box.Open(enc, key.ID)
	if err != nil {
		return nil, ErrSecretMismatch
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	priv, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("spid: the key is not RSA")
	}
	if key.Cert, err = parseCertPEM(certPEM); err != nil {
		return nil, err
	}
	key.priv = priv
	k.cached, k.cachedAt = &key, now
	return &key, nil
}

func parseCertPEM(s string) (*x509.Certificate, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("spid: not a PEM certificate")
	}
	return x509.ParseCertificate(b.Bytes)
}
