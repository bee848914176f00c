package partecipa

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
)

// pendingLogin is a login in flight, between "Accedi" and the provider's
// answer: it lives in a cookie of the browser that started it, sealed
// (AES-256-GCM under a key derived from the client secret), so that an
// anonymous visit to /accedi writes nothing to the database and the state
// is bound to that browser.
type pendingLogin struct {
	State    string          `json:"s"`
	Nonce    string          `json:"n"`
	Verifier string          `json:"v"`
	Next     string          `json:"p"`
	Need     assurance.Level `json:"l,omitempty"`
	Expires  int64           `json:"e"`
}

var errBadLogin = errors.New("no login in flight, or not this one")

func (a *Auth) aead() (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, []byte(a.ClientSecret), nil, "partecipa login cookie", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// seal turns a pending login into the cookie's value.
func (a *Auth) seal(pl pendingLogin) (string, error) {
	g, err := a.aead()
	if err != nil {
		return "", err
	}
	plain, err := json.Marshal(pl)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, g.NonceSize())
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(g.Seal(nonce, nonce, plain, []byte(loginCookie))), nil
}

// open reads the cookie's pending login and checks it is for state and
// still in time.
func (a *Auth) open(value, state string, now time.Time) (*pendingLogin, error) {
	if value == "" || len(value) > 2048 || state == "" {
		return nil, errBadLogin
	}
	g, err := a.aead()
	if err != nil {
		return nil, err
	}
	b, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(b) < g.NonceSize() {
		return nil, errBadLogin
	}
	plain, err := g.Open(nil, b[:g.NonceSize()], b[g.NonceSize():], []byte(loginCookie))
	if err != nil {
		return nil, errBadLogin
	}
	var pl pendingLogin
	if err := json.Unmarshal(plain, &pl); err != nil || pl.State != state || now.Unix() > pl.Expires {
		return nil, errBadLogin
	}
	return &pl, nil
}

// accessTokenAAD binds a sealed access token to its purpose.
const accessTokenAAD = "partecipa counter access token" // #nosec G101 -- a purpose label (AEAD additional data), not a credential

// sealToken seals an operator's access token for their session's row: a
// copy of the database alone does not let anyone call the provider.
func (a *Auth) sealToken(tok string) (string, error) {
	g, err := a.aead()
	if err != nil {
		return "", err
	}
	nonce := make([]byte, g.NonceSize())
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(g.Seal(nonce, nonce, []byte(tok), []byte(accessTokenAAD))), nil
}

// openToken reads a sealed access token ("" for none or a bad one).
func (a *Auth) openToken(sealed string) string {
	g, err := a.aead()
	if sealed == "" || err != nil {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(b) < g.NonceSize() {
		return ""
	}
	plain, err := g.Open(nil, b[:g.NonceSize()], b[g.NonceSize():], []byte(accessTokenAAD))
	if err != nil {
		return ""
	}
	return string(plain)
}
