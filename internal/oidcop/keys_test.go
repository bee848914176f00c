package oidcop

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

func testSecret(t *testing.T, s string) Secret {
	t.Helper()
	sec, err := NewSecret([]byte(s + strings.Repeat("x", 32)))
	if err != nil {
		t.Fatal(err)
	}
	return sec
}

func TestSecretDerivation(t *testing.T) {
	if _, err := NewSecret([]byte("short")); err == nil {
		t.Fatal("a short secret was accepted")
	}
	a, b := testSecret(t, "a"), testSecret(t, "b")
	if string(a.Derive("x", 32)) == string(a.Derive("y", 32)) || string(a.Derive("x", 32)) == string(b.Derive("x", 32)) {
		t.Fatal("derived keys must differ by purpose and by secret")
	}
	if string(a.Derive("x", 32)) != string(testSecret(t, "a").Derive("x", 32)) {
		t.Fatal("derivation must be stable")
	}
}

func sign(t *testing.T, k *Keys) *jose.JSONWebSignature {
	t.Helper()
	key, err := k.SigningKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: key.SignatureAlgorithm(), Key: key.Key()}, (&jose.SignerOptions{}).WithHeader("kid", key.ID()))
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign([]byte(`{"sub":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	compact, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jose.ParseSignedCompact(compact, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	return parsed
}

// verify checks a signature against the published key set, as a relying
// party does with the JWKS.
func verify(t *testing.T, k *Keys, jws *jose.JSONWebSignature) error {
	t.Helper()
	set, err := k.KeySet(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	kid := jws.Signatures[0].Header.KeyID
	for _, pub := range set {
		if pub.ID() == kid {
			_, err := jws.Verify(pub.Key())
			return err
		}
	}
	return errors.New("kid " + kid + " not published")
}

func TestKeysRotationAcrossProcesses(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := time.Now().UTC()
		clock := func() time.Time { return now }
		secret := testSecret(t, "installation")
		// Two processes sharing the database.
		p1 := &Keys{DB: d, Secret: secret, Now: clock}
		p2 := &Keys{DB: d, Secret: secret, Now: clock}
		first := sign(t, p1) // creates the first key
		if err := verify(t, p2, first); err != nil {
			t.Fatalf("the other process does not publish the key: %v", err)
		}
		k2, _ := p2.SigningKey(ctx)
		if k2.ID() != first.Signatures[0].Header.KeyID {
			t.Fatal("two processes sign with different keys")
		}
		if _, ok := k2.Key().(*rsa.PrivateKey); !ok {
			t.Fatal("not an RSA key")
		}

		newID, err := p2.Rotate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Both processes publish both keys at once: tokens signed before the
		// rotation stay verifiable.
		if err := verify(t, p1, first); err != nil {
			t.Fatalf("old token after rotation: %v", err)
		}
		if k, _ := p2.SigningKey(ctx); k.ID() != newID {
			t.Fatal("the rotating process does not sign with the new key")
		}
		// p1 switches when its short cache expires.
		now = now.Add(signingCache + time.Second)
		second := sign(t, p1)
		if second.Signatures[0].Header.KeyID != newID {
			t.Fatal("the other process still signs with the retired key")
		}
		if err := verify(t, p1, second); err != nil {
			t.Fatal(err)
		}
		// After the grace period the retired key is no longer published and
		// is purged.
		now = now.Add(keyGrace + time.Minute)
		if err := verify(t, p1, first); err == nil {
			t.Fatal("a key retired beyond its grace is still published")
		}
		if err := p1.Purge(ctx); err != nil {
			t.Fatal(err)
		}
		list, err := p1.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].ID != newID || list[0].RetiredAt != nil {
			t.Fatalf("keys after purge: %+v", list)
		}

		// Another secret cannot open the keys: a clear error, not a panic.
		other := &Keys{DB: d, Secret: testSecret(t, "another")}
		if _, err := other.SigningKey(ctx); !errors.Is(err, ErrSecretMismatch) {
			t.Fatalf("wrong secret: %v", err)
		}
	})
}

func TestKeysAtRestAreSealed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {

		k := &Keys{DB: d, Secret: testSecret(t, "s")}
		sign(t, k)
		var enc, pub string
		if err := d.QueryRowContext(context.Background(), `SELECT private_enc, public_jwk FROM oidc_keys`).Scan(&enc, &pub); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(pub, `"d"`) || strings.Contains(pub, `"p"`) {
			t.Fatalf("the public JWK holds private parts: %s", pub)
		}
		// What is stored must not read as a key: not as DER, not as PEM.
		raw, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := x509.ParsePKCS8PrivateKey(raw); err == nil {
			t.Fatal("the private key is stored in clear (PKCS #8)")
		}
		if _, err := x509.ParsePKCS1PrivateKey(raw); err == nil {
			t.Fatal("the private key is stored in clear (PKCS #1)")
		}
		if strings.Contains(enc, "PRIVATE KEY") || bytes.Contains(raw, []byte("PRIVATE KEY")) {
			t.Fatal("the private key is stored in clear (PEM)")
		}
	})
}
