// Package sealed keeps secrets at rest in the database: a private key is
// stored sealed (AES-256-GCM) with a key derived from the installation's
// secret, bound to the id of the row it lives in, so that a copy of the
// database without CIVICO_SECRET_KEY holds nothing usable and a sealed
// value moved to another row does not open. The OpenID Connect provider's
// signing keys and the certificates' seal keys are kept this way.
package sealed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
)

// ErrOpen means a sealed value does not open with this key and id: the
// installation's secret differs from the one it was sealed with, or the
// value was altered or moved.
var ErrOpen = errors.New("sealed: the value does not open with this key")

// Box seals and opens values with one 32-byte key.
type Box struct{ aead cipher.AEAD }

// New makes a Box of a 32-byte key (a purpose's key derived from the
// installation's secret).
func New(key []byte) (*Box, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(b)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal returns plain sealed for the row id: base64 of a random nonce
// followed by the ciphertext, with id as additional data.
func (b *Box) Seal(plain []byte, id string) string {
	nonce := make([]byte, b.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return base64.StdEncoding.EncodeToString(b.aead.Seal(nonce, nonce, plain, []byte(id)))
}

// Open returns what Seal sealed for id, or ErrOpen.
func (b *Box) Open(enc, id string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(raw) < b.aead.NonceSize() {
		return nil, ErrOpen
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], []byte(id))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}
