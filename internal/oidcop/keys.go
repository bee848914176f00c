package oidcop

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/sealed"
)

// Secret is the installation's master secret (CIVICO_SECRET_KEY): every key
// the provider needs is derived from it, none is stored in clear.
type Secret struct{ master []byte }

// MinSecretLen is the shortest master secret accepted, in bytes.
const MinSecretLen = 32

// NewSecret checks and wraps a master secret.
func NewSecret(master []byte) (Secret, error) {
	if len(master) < MinSecretLen {
		return Secret{}, fmt.Errorf("the secret key must be at least %d bytes (e.g. openssl rand -base64 32)", MinSecretLen)
	}
	return Secret{master: append([]byte(nil), master...)}, nil
}

// Derive returns n bytes for one purpose; different purposes get
// independent keys (HKDF-SHA256).
func (s Secret) Derive(purpose string, n int) []byte {
	k, err := hkdf.Key(sha256.New, s.master, []byte("civico"), purpose, n)
	if err != nil {
		panic(err) // only for n beyond 255*32 bytes
	}
	return k
}

// Key lifetimes: a retired key stays published this long, longer than any
// token it signed can live.
const (
	keyGrace     = 2 * time.Hour
	signingCache = 30 * time.Second
)

// Keys keeps the signing keys in the database, the private halves sealed
// with a key derived from the secret, so that every process signs with the
// same keys and publishes the same set.
type Keys struct {
	DB     *db.DB
	Secret Secret
	Now    func() time.Time

	mu       sync.Mutex
	cached   *signingKey
	cachedAt time.Time
}

func (k *Keys) now() time.Time {
	if k.Now != nil {
		return k.Now().UTC()
	}
	return time.Now().UTC()
}

type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (s *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (s *signingKey) Key() any                                    { return s.key }
func (s *signingKey) ID() string                                  { return s.id }

type publicKey struct {
	jwk jose.JSONWebKey
}

func (p *publicKey) ID() string { return p.jwk.KeyID }
func (p *publicKey) Algorithm() jose.SignatureAlgorithm {
	return jose.SignatureAlgorithm(p.jwk.Algorithm)
}
func (p *publicKey) Use() string { return "sig" }
func (p *publicKey) Key() any    { return p.jwk.Key }

func (k *Keys) box() (*sealed.Box, error) {
	return sealed.New(k.Secret.Derive("oidc signing keys", 32))
}

// Ensure creates a signing key when there is none (first start). Two
// processes starting together may both create one: the newest signs, and
// both are published, so nothing breaks.
func (k *Keys) Ensure(ctx context.Context) error {
	var n int
	if err := k.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM oidc_keys WHERE retired_at IS NULL`).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	_, err := k.Rotate(ctx)
	return err
}

// Rotate creates a new signing key and retires the others; retired keys stay
// published for keyGrace so tokens they signed remain verifiable. It returns
// the new key's id.
func (k *Keys) Rotate(ctx context.Context) (string, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", err
	}
	box, err := k.box()
	if err != nil {
		return "", err
	}
	idb := make([]byte, 12)
	_, _ = rand.Read(idb)
	id := base64.RawURLEncoding.EncodeToString(idb)
	enc := box.Seal(der, id)
	pub, err := json.Marshal(jose.JSONWebKey{Key: &priv.PublicKey, KeyID: id, Algorithm: string(jose.RS256), Use: "sig"})
	if err != nil {
		return "", err
	}
	now := k.now()
	err = k.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE oidc_keys SET retired_at = $1 WHERE retired_at IS NULL`, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO oidc_keys (id, alg, private_enc, public_jwk, created_at) VALUES ($1, $2, $3, $4, $5)`,
			id, string(jose.RS256), enc, string(pub), now)
		return err
	})
	if err != nil {
		return "", err
	}
	k.mu.Lock()
	k.cached = nil
	k.mu.Unlock()
	return id, nil
}

// ErrSecretMismatch means the keys in the database were sealed with another
// secret key than the configured one.
var ErrSecretMismatch = errors.New("the OpenID Connect signing key cannot be opened with CIVICO_SECRET_KEY: the secret key differs from the one the keys were created with")

var errNoKey = errors.New("no OpenID Connect signing key")

// SigningKey returns the newest key in force, cached for a short while; the
// first key is made when there is none.
func (k *Keys) SigningKey(ctx context.Context) (op.SigningKey, error) {
	key, err := k.signingKey(ctx)
	if !errors.Is(err, errNoKey) {
		return key, err
	}
	if err := k.Ensure(ctx); err != nil {
		return nil, err
	}
	return k.signingKey(ctx)
}

func (k *Keys) signingKey(ctx context.Context) (*signingKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cached != nil && k.now().Sub(k.cachedAt) < signingCache {
		return k.cached, nil
	}
	var id, enc string
	err := k.DB.QueryRowContext(ctx, `SELECT id, private_enc FROM oidc_keys WHERE retired_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 1`).Scan(&id, &enc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoKey
	}
	if err != nil {
		return nil, err
	}
	box, err := k.box()
	if err != nil {
		return nil, err
	}
	der, err := box.Open(enc, id)
	if err != nil {
		return nil, ErrSecretMismatch
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	priv, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("signing key is not RSA")
	}
	k.cached, k.cachedAt = &signingKey{id: id, key: priv}, k.now()
	return k.cached, nil
}

// KeySet returns the published public keys: those in force and those retired
// less than keyGrace ago. Read at every request, so a rotation by any
// process is published by all at once.
func (k *Keys) KeySet(ctx context.Context) ([]op.Key, error) {
	rows, err := k.DB.QueryContext(ctx, `SELECT public_jwk FROM oidc_keys WHERE retired_at IS NULL OR retired_at > $1 ORDER BY created_at DESC, id DESC`,
		k.now().Add(-keyGrace))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []op.Key
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		var jwk jose.JSONWebKey
		if err := json.Unmarshal([]byte(s), &jwk); err != nil {
			return nil, err
		}
		out = append(out, &publicKey{jwk: jwk})
	}
	return out, rows.Err()
}

// KeyInfo describes a key for `civico oidc keys`.
type KeyInfo struct {
	ID        string
	CreatedAt time.Time
	RetiredAt *time.Time
}

// List returns every stored key, newest first.
func (k *Keys) List(ctx context.Context) ([]KeyInfo, error) {
	rows, err := k.DB.QueryContext(ctx, `SELECT id, created_at, retired_at FROM oidc_keys ORDER BY created_at DESC, id DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []KeyInfo
	for rows.Next() {
		var ki KeyInfo
		var ret sql.NullTime
		if err := rows.Scan(&ki.ID, &ki.CreatedAt, &ret); err != nil {
			return nil, err
		}
		if ret.Valid {
			t := ret.Time
			ki.RetiredAt = &t
		}
		out = append(out, ki)
	}
	return out, rows.Err()
}

// Purge deletes keys retired longer than keyGrace ago.
func (k *Keys) Purge(ctx context.Context) error {
	_, err := k.DB.ExecContext(ctx, `DELETE FROM oidc_keys WHERE retired_at IS NOT NULL AND retired_at < $1`, k.now().Add(-keyGrace))
	return err
}
