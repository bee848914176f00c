package spid

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/sealed"
	"github.com/civico-pa/civico/internal/town"
)

// The metadata's signature verifies with the certificate it publishes, over
// the document as served (the signed element is the root, by its ID).
func TestMetadataSignatureVerifies(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		box, err := sealed.New(make([]byte, 32))
		if err != nil {
			t.Fatal(err)
		}
		sp := &SP{BaseURL: "https://servizi.comune.example", Keys: &Keys{DB: d, Box: box}}
		if err := sp.Keys.Ensure(context.Background(), sp.Subject(town.Demo())); err != nil {
			t.Fatal(err)
		}
		md, err := sp.Metadata(context.Background(), town.Demo())
		if err != nil {
			t.Fatal(err)
		}
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(md); err != nil {
			t.Fatal(err)
		}
		key, err := sp.Keys.Signer(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := verify(doc.Root(), []*x509.Certificate{key.Cert}, time.Now()); err != nil {
			t.Fatalf("metadata signature: %v", err)
		}
		// An edit breaks it.
		doc.Root().FindElement("./ContactPerson/Extensions/IPACode").SetText("c_x000")
		if _, err := verify(doc.Root(), []*x509.Certificate{key.Cert}, time.Now()); err == nil {
			t.Fatal("an edited metadata verifies")
		}
	})
}
