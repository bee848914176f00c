package spid

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// signingContext signs with key as SPID asks: RSA-SHA256, SHA-256
// digests, exclusive canonicalization, the certificate in KeyInfo.
func signingContext(key *Key) (*dsig.SigningContext, error) {
	ctx, err := dsig.NewSigningContext(key.priv, [][]byte{key.Cert.Raw})
	if err != nil {
		return nil, err
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	ctx.Hash = crypto.SHA256
	ctx.IdAttribute = "ID"
	ctx.Prefix = "ds"
	return ctx, ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod)
}

// signEnveloped puts an enveloped signature of el by key as el's child at
// index at (after the Issuer, as SAML's schema wants it).
func signEnveloped(el *etree.Element, key *Key, at int) error {
	ctx, err := signingContext(key)
	if err != nil {
		return err
	}
	sig, err := ctx.ConstructSignature(el, true)
	if err != nil {
		return err
	}
	el.InsertChildAt(at, sig)
	return nil
}

// signQuery is the HTTP-Redirect binding's signature of the query (the
// SAMLRequest or SAMLResponse, RelayState and SigAlg parameters, encoded
// and in this order), base64.
func signQuery(key *Key, signed string) (string, error) {
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key.priv, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// samlTime is SAML's form of an instant: UTC, to the millisecond at most.
func samlTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
