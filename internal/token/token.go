// Package token makes the random values civico hands out and keeps: ids
// for rows in URLs, and secrets for cookies and links, of which only a hash
// is stored.
package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// ID is a random, unguessable identifier of 128 bits in hex (32
// characters): for rows that appear in URLs.
func ID() string { return hex.EncodeToString(Bytes(16)) }

// UUID is a random (version 4) UUID.
func UUID() string {
	b := Bytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Secret is a random value of n bytes, base64url without padding: for a
// cookie, a link, a code.
func Secret(n int) string { return base64.RawURLEncoding.EncodeToString(Bytes(n)) }

// New is a 256-bit secret for a cookie or a link, and the hash the database
// keeps of it.
func New() (secret, hash string) {
	secret = Secret(32)
	return secret, Hash(secret)
}

// Hash is what is stored of a secret: its SHA-256 in hex. A secret is long
// and random, so its hash finds it and reveals nothing.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Bytes is n random bytes. crypto/rand.Read never fails on the systems Go
// supports (it panics instead of returning short).
func Bytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// ValidID reports whether s has the shape of the ids ID makes (32
// lower-case hex characters): anything else is refused before it reaches
// a query.
func ValidID(s string) bool {
	return len(s) == 32 && strings.Trim(s, "0123456789abcdef") == ""
}
