package cie

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/sealed"
)

// KeyPurpose is the purpose the relying party's sealing key is derived
// for from the installation's secret.
const KeyPurpose = "cie oidc rp keys"

// KeyBits is the size of the relying party's RSA keys (the federation's
// rules: RSA of at least 2048 bits).
const KeyBits = 2048

// The uses of the relying party's keys.
const (
	UseFederation = "federation"
	UseSig        = "sig"
	UseEnc        = "enc"
)

// Uses are the three key uses, in the order they are made.
var Uses = []string{UseFederation, UseSig, UseEnc}

// ErrSecretMismatch means the keys were sealed with another secret.
var ErrSecretMismatch = errors.New("the CIE key cannot be opened with CIVICO_SECRET_KEY: the secret key differs from the one the keys were created with")

// ErrNoKey means the relying party has no key in use yet.
var ErrNoKey = errors.New("cie: no relying party key in use yet (civico serve makes them at start)")

// Key is one of the relying party's keys.
type Key struct {
	ID, Use              string
	CreatedAt, SignsFrom time.Time
	RetiredAt            *time.Time
	priv                 *rsa.PrivateKey
}

// Public is the key's public JWK.
func (k *Key) Public() jose.JSONWebKey {
	alg := string(jose.RS256)
	if k.Use == UseEnc {
		alg = string(jose.RSA_OAEP)
	}
	use := UseSig
	if k.Use == UseEnc {
		use = UseEnc
	}
	return jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: k.ID, Algorithm: alg, Use: use}
}

// Keys keeps the relying party's keys in the database, sealed.
type Keys struct {
	DB  *db.DB
	Box *sealed.Box
	Now func() time.Time

	mu       sync.Mutex
	cached   []*Key
	cachedAt time.Time
}

func (k *Keys) now() time.Time {
	if k.Now != nil {
		return k.Now().UTC()
	}
	return time.Now().UTC()
}

// thumbprint is a key's id: its RFC 7638 thumbprint, base64url.
func thumbprint(pub *rsa.PublicKey) (string, error) {
	t, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(t), nil
}

// Add makes a new key for use that is used from signsFrom; with
// retireOthers, the other keys of that use in force retire then (the
// overlap of a rotation: the new key is published at once, the old one
// until the new one takes over). It returns the new key's id.
func (k *Keys) Add(ctx context.Context, use string, signsFrom time.Time, retireOthers bool) (string, error) {
	if use != UseFederation && use != UseSig && use != UseEnc {
		return "", fmt.Errorf("cie: no key use %q", use)
	}
	priv, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return "", err
	}
	id, err := thumbprint(&priv.PublicKey)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", err
	}
	now := k.now()
	err = k.DB.Tx(ctx, func(tx *sql.Tx) error {
		if retireOthers {
			if _, err := tx.ExecContext(ctx, `UPDATE cie_keys SET retired_at = $1 WHERE use = $2 AND (retired_at IS NULL OR retired_at > $1)`, signsFrom.UTC(), use); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO cie_keys (id, use, private_enc, created_at, signs_from) VALUES ($1, $2, $3, $4, $5)`,
			id, use, k.Box.Seal(der, id), now, signsFrom.UTC())
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

// Ensure makes a key of each use that has none in force.
func (k *Keys) Ensure(ctx context.Context) error {
	for _, use := range Uses {
		var n int
		if err := k.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM cie_keys WHERE use = $1 AND (retired_at IS NULL OR retired_at > $2)`, use, k.now()).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		if _, err := k.Add(ctx, use, k.now(), false); err != nil {
			return err
		}
	}
	_, err := k.published(ctx)
	return err
}

// Rotate adds a key of each use given (every use when none), used from
// now+overlap, when the old ones retire.
func (k *Keys) Rotate(ctx context.Context, overlap time.Duration, uses ...string) ([]string, error) {
	if len(uses) == 0 {
		uses = Uses
	}
	var ids []string
	for _, use := range uses {
		id, err := k.Add(ctx, use, k.now().Add(overlap), true)
		if err != nil {
			return ids, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// All lists every key, retired ones too, without their private halves.
func (k *Keys) All(ctx context.Context) ([]Key, error) {
	rows, err := k.DB.QueryContext(ctx, `SELECT id, use, created_at, signs_from, retired_at FROM cie_keys ORDER BY use, signs_from, created_at, id`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []Key
	for rows.Next() {
		var key Key
		var retired sql.NullTime
		if err := rows.Scan(&key.ID, &key.Use, &key.CreatedAt, &key.SignsFrom, &retired); err != nil {
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

// published are the keys in force (not retired), opened; cached for 30
// seconds.
func (k *Keys) published(ctx context.Context) ([]*Key, error) {
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cached != nil && now.Sub(k.cachedAt) < 30*time.Second {
		return k.cached, nil
	}
	rows, err := k.DB.QueryContext(ctx, `SELECT id, use, private_enc, created_at, signs_from FROM cie_keys
		WHERE retired_at IS NULL OR retired_at > $1 ORDER BY signs_from DESC, created_at DESC, id DESC`, now)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []*Key
	for rows.Next() {
		var key Key
		var enc string
		if err := rows.Scan(&key.ID, &key.Use, &enc, &key.CreatedAt, &key.SignsFrom); err != nil {
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
			return nil, errors.New("cie: the key is not RSA")
		}
		key.priv = priv
		out = append(out, &key)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	k.cached, k.cachedAt = out, now
	return out, nil
}

// Current is the key of use in use now: the newest whose time has come.
func (k *Keys) Current(ctx context.Context, use string) (*Key, error) {
	keys, err := k.published(ctx)
	if err != nil {
		return nil, err
	}
	now := k.now()
	for _, key := range keys {
		if key.Use == use && !key.SignsFrom.After(now) {
			return key, nil
		}
	}
	return nil, ErrNoKey
}

// JWKS is the public keys of the uses given that are in force.
func (k *Keys) JWKS(ctx context.Context, uses ...string) (jose.JSONWebKeySet, error) {
	keys, err := k.published(ctx)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	var set jose.JSONWebKeySet
	for _, key := range keys {
		for _, u := range uses {
			if key.Use == u {
				set.Keys = append(set.Keys, key.Public())
			}
		}
	}
	return set, nil
}

// decrypter is the encryption key kid names, in force.
func (k *Keys) decrypter(ctx context.Context, kid string) (*rsa.PrivateKey, error) {
	keys, err := k.published(ctx)
	if err != nil {
		return nil, err
	}
	for _, key := range keys {
		if key.Use == UseEnc && key.ID == kid {
			return key.priv, nil
		}
	}
	return nil, fmt.Errorf("cie: no encryption key %q in force", kid)
}
