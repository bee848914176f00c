package certificates

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"sync"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/sealed"
)

// Keys keeps the town's seal keys in the database, the private halves
// sealed (package sealed, as the OpenID Connect keys are), so that every
// process seals with the same key. Rotate starts a new key; a retired key
// seals nothing new and verifies what it sealed, for ever: a birth
// certificate does not expire.
type Keys struct {
	DB  *db.DB
	Box *sealed.Box
	Now func() time.Time

	mu       sync.Mutex
	cached   *signer
	cachedAt time.Time
}

type signer struct {
	id  string
	key ed25519.PrivateKey
}

// keyCache is how long a process keeps sealing with the key it read:
// another process's rotation is followed within it.
const keyCache = 30 * time.Second

// ErrSecretMismatch means the keys in the database were sealed with
// another secret than the configured one.
var ErrSecretMismatch = errors.New("the certificates' seal key cannot be opened with CIVICO_SECRET_KEY: the secret key differs from the one the keys were created with")

func (k *Keys) now() time.Time {
	if k.Now != nil {
		return k.Now().UTC()
	}
	return time.Now().UTC()
}

// Rotate makes a new seal key and retires the others; it returns its id.
func (k *Keys) Rotate(ctx context.Context) (string, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	idb := make([]byte, 9)
	_, _ = rand.Read(idb)
	id := base64.RawURLEncoding.EncodeToString(idb)
	now := k.now()
	err = k.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE certificate_keys SET retired_at = $1 WHERE retired_at IS NULL`, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO certificate_keys (id, private_enc, public_key, created_at) VALUES ($1, $2, $3, $4)`,
			id, k.Box.Seal(priv.Seed(), id), base64.StdEncoding.EncodeToString(pub), now)
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

var errNoKey = errors.New("no seal key")

// signer is the newest key in force, made on first use.
func (k *Keys) signer(ctx context.Context) (*signer, error) {
	s, err := k.current(ctx)
	if !errors.Is(err, errNoKey) {
		return s, err
	}
	if _, err := k.Rotate(ctx); err != nil {
		return nil, err
	}
	return k.current(ctx)
}

func (k *Keys) current(ctx context.Context) (*signer, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cached != nil && k.now().Sub(k.cachedAt) < keyCache {
		return k.cached, nil
	}
	var id string
	err := k.DB.QueryRowContext(ctx, `SELECT id FROM certificate_keys WHERE retired_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 1`).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoKey
	}
	if err != nil {
		return nil, err
	}
	s, err := k.open(ctx, id)
	if err != nil {
		return nil, err
	}
	k.cached, k.cachedAt = s, k.now()
	return s, nil
}

// open reads and opens the private half of key id (a retired one too:
// a certificate's PDF is sealed again at each download with its own key).
func (k *Keys) open(ctx context.Context, id string) (*signer, error) {
	var enc string
	if err := k.DB.QueryRowContext(ctx, `SELECT private_enc FROM certificate_keys WHERE id = $1`, id).Scan(&enc); err != nil {
		return nil, err
	}
	seed, err := k.Box.Open(enc, id)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, ErrSecretMismatch
	}
	return &signer{id: id, key: ed25519.NewKeyFromSeed(seed)}, nil
}

// PublicKey is a seal key as anyone may read it.
type PublicKey struct {
	ID  string `json:"id"`
	Alg string `json:"alg"`
	// Key is the 32-byte Ed25519 public key, base64.
	Key       string     `json:"public_key"`
	CreatedAt time.Time  `json:"created_at"`
	RetiredAt *time.Time `json:"retired_at,omitempty"`
}

// Public lists every seal key's public half, newest first.
func (k *Keys) Public(ctx context.Context) ([]PublicKey, error) {
	rows, err := k.DB.QueryContext(ctx, `SELECT id, public_key, created_at, retired_at FROM certificate_keys ORDER BY created_at DESC, id DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PublicKey
	for rows.Next() {
		p := PublicKey{Alg: "Ed25519"}
		var ret sql.NullTime
		if err := rows.Scan(&p.ID, &p.Key, &p.CreatedAt, &ret); err != nil {
			return nil, err
		}
		if ret.Valid {
			t := ret.Time
			p.RetiredAt = &t
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// KeySet is a set of public keys by id, what verification needs.
type KeySet map[string]ed25519.PublicKey

// Set makes a KeySet of public keys; a malformed one is left out.
func Set(keys []PublicKey) KeySet {
	out := KeySet{}
	for _, p := range keys {
		b, err := base64.StdEncoding.DecodeString(p.Key)
		if err == nil && len(b) == ed25519.PublicKeySize && p.Alg == "Ed25519" {
			out[p.ID] = ed25519.PublicKey(b)
		}
	}
	return out
}

// InForce is the id of the key that seals now, opened to prove the
// configured secret opens it; "" when there is none yet.
func (k *Keys) InForce(ctx context.Context) (string, error) {
	s, err := k.current(ctx)
	if errors.Is(err, errNoKey) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return s.id, nil
}
