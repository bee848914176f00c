package spid

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/civico-pa/civico/internal/spid/spidtest"
)

// (Outside review.) verify() checked the algorithms of the root's first *direct-child*
// Signature, but goxmldsig's Validate verifies the first Signature in
// depth-first document order that references the root (URI "#ID" or "").
// A Signature nested in an earlier child (md:Extensions) is the one
// checked cryptographically, and its algorithms are never looked at:
// an RSA-SHA1/SHA1 signature of the registry's key passes, with a
// direct-child decoy carrying the allowed algorithm names.
func TestVerifyRefusesASecondSignatureOfTheElement(t *testing.T) {
	now := time.Now()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	cert, err := spidtest.SelfSigned(key, "Registro SPID")
	if err != nil {
		t.Fatal(err)
	}
	good := signedRegistry(t, key, cert, now.Add(48*time.Hour))
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(good); err != nil {
		t.Fatal(err)
	}
	root := doc.Root()
	decoy := child(root, nsDSig, "Signature")
	if decoy == nil {
		t.Fatal("no signature")
	}
	ext := etree.NewElement("md:Extensions")
	root.InsertChildAt(decoy.Index(), ext)
	ctx, err := dsig.NewSigningContext(key, [][]byte{cert.Raw})
	if err != nil {
		t.Fatal(err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	ctx.IdAttribute = "ID"
	ctx.Prefix = "ds"
	ctx.Hash = crypto.SHA1
	if err := ctx.SetSignatureMethod(dsig.RSASHA1SignatureMethod); err != nil {
		t.Fatal(err)
	}
	sha1Sig, err := ctx.ConstructSignature(root, true)
	if err != nil {
		t.Fatal(err)
	}
	ext.AddChild(sha1Sig)
	data, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyMetadata(data, []*x509.Certificate{cert}, now); err == nil {
		t.Error("a registry signed with RSA-SHA1/SHA1 (a nested Signature) is accepted: the algorithm rules were checked on the decoy")
	} else {
		t.Logf("refused: %v", err)
	}
}
