package upstream

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"errors"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/sealed"
	tokens "github.com/civico-pa/civico/internal/token"
)

// KeyPurpose is the purpose the client key's sealing key is derived for.
const KeyPurpose = "upstream oidc client key"

// ClientAssertionType is private_key_jwt's assertion type.
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// ErrNoKey: private_key_jwt is configured but civico has no client key
// (Ensure makes it at start).
var ErrNoKey = errors.New("upstream: no client key; civico makes it at start")

// Keys is the client key of private_key_jwt, sealed in the database.
type Keys struct {
	DB  *db.DB
	Box *sealed.Box

	mu     sync.Mutex
	key    *rsa.PrivateKey
	keyID  string
	public jose.JSONWebKeySet
}

// Ensure makes the key when there is none and checks that it opens with
// the secret.
func (k *Keys) Ensure(ctx context.Context) error {
	var n int
	if err := k.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM upstream_keys`).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return err
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return err
		}
		tp, err := (&jose.JSONWebKey{Key: &priv.PublicKey}).Thumbprint(crypto.SHA256)
		if err != nil {
			return err
		}
		id := base64.RawURLEncoding.EncodeToString(tp)
		if err := k.DB.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO upstream_keys (id, private_enc, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
				id, k.Box.Seal(der, id), time.Now().UTC())
			return err
		}); err != nil {
			return err
		}
	}
	_, _, err := k.current(ctx)
	return err
}

// current is the newest key, opened once.
func (k *Keys) current(ctx context.Context) (*rsa.PrivateKey, string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.key != nil {
		return k.key, k.keyID, nil
	}
	var id, enc string
	err := k.DB.QueryRowContext(ctx, `SELECT id, private_enc FROM upstream_keys ORDER BY created_at DESC, id LIMIT 1`).Scan(&id, &enc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", ErrNoKey
	}
	if err != nil {
		return nil, "", err
	}
	der, err := k.Box.Open(enc, id)
	if err != nil {
		return nil, "", err
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, "", err
	}
	priv, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, "", errors.New("upstream: the client key is not RSA")
	}
	k.key, k.keyID = priv, id
	k.public = jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &priv.PublicKey, KeyID: id, Algorithm: string(jose.RS256), Use: "sig"}}}
	return priv, id, nil
}

// JWKS is the client key's public half, for the provider.
func (k *Keys) JWKS(ctx context.Context) (jose.JSONWebKeySet, error) {
	if _, _, err := k.current(ctx); err != nil {
		return jose.JSONWebKeySet{}, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.public, nil
}

// Assertion is a client assertion for the token endpoint aud, valid two
// minutes.
func (k *Keys) Assertion(ctx context.Context, clientID, aud string, now time.Time) (string, error) {
	priv, kid, err := k.current(ctx)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: priv}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(map[string]any{"iss": clientID, "sub": clientID, "aud": aud, "iat": now.Unix(),
		"exp": now.Add(2 * time.Minute).Unix(), "jti": tokens.ID()}).Serialize()
}
