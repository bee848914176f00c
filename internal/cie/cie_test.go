package cie_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/cie"
	"github.com/civico-pa/civico/internal/cie/cietest"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/sealed"
	"github.com/civico-pa/civico/internal/town"
)

func box(t testing.TB) *sealed.Box {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	b, err := sealed.New(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKeysRotate: the first start makes one key of each use; a rotation
// publishes the new keys at once and uses them after the overlap, when
// the old ones retire; another secret opens none.
func TestKeysRotate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := time.Now().UTC()
		k := &cie.Keys{DB: d, Box: box(t), Now: func() time.Time { return now }}
		if err := k.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
		if err := k.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
		all, _ := k.All(ctx)
		if len(all) != 3 {
			t.Fatalf("%d keys after two starts", len(all))
		}
		old, _ := k.Current(ctx, cie.UseSig)
		ids, err := k.Rotate(ctx, time.Hour)
		if err != nil || len(ids) != 3 {
			t.Fatal(ids, err)
		}
		set, _ := k.JWKS(ctx, cie.UseSig, cie.UseEnc)
		if len(set.Keys) != 4 {
			t.Fatalf("during the overlap %d keys published, want 4", len(set.Keys))
		}
		if cur, _ := k.Current(ctx, cie.UseSig); cur.ID != old.ID {
			t.Fatal("the new key is used before the overlap ends")
		}
		now = now.Add(2 * time.Hour)
		k2 := &cie.Keys{DB: d, Box: k.Box, Now: func() time.Time { return now }}
		if cur, _ := k2.Current(ctx, cie.UseSig); cur == nil || cur.ID == old.ID {
			t.Fatal("the new key is not used after the overlap")
		}
		if set, _ := k2.JWKS(ctx, cie.UseFederation); len(set.Keys) != 1 {
			t.Fatalf("after the overlap %d federation keys", len(set.Keys))
		}
		other := &cie.Keys{DB: d, Box: box(t)}
		if _, err := other.Current(ctx, cie.UseSig); err != cie.ErrSecretMismatch {
			t.Fatalf("another secret: %v", err)
		}
	})
}

// TestConfigCheck refuses what would make the chain unverifiable.
func TestConfigCheck(t *testing.T) {
	f := cietest.New()
	defer f.Close()
	good := f.Config()
	good.Insecure = false
	good.TrustAnchor, good.Provider, good.AuthorityHints = "https://ta.example", "https://op.example", []string{"https://ta.example"}
	if err := good.Check(); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(c *cie.Config){
		"http anchor":    func(c *cie.Config) { c.TrustAnchor = "http://ta.example" },
		"no anchor keys": func(c *cie.Config) { c.TrustAnchorJWKS.Keys = nil },
		"no hints":       func(c *cie.Config) { c.AuthorityHints = nil },
		"provider query": func(c *cie.Config) { c.Provider = "https://op.example?x=1" },
	} {
		c := *good
		edit(&c)
		if err := c.Check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	priv := f.Config()
	priv.Insecure = false
	priv.TrustAnchorJWKS.Keys[0].Key = nil
	if err := priv.Check(); err == nil || !strings.Contains(err.Error(), "trust_anchor_jwks") {
		t.Errorf("a keyless anchor key accepted: %v", err)
	}
}

// BenchmarkChain is what resolving the provider's trust chain costs: six
// statements fetched over loopback and verified (the relying party does
// it at most once an hour).
func BenchmarkChain(b *testing.B) {
	f := cietest.New()
	defer f.Close()
	r := &cie.Resolver{Config: f.Config(), HTTP: f.Client}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Provider(context.Background(), time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEntityConfiguration is the CPU of serving the relying party's
// entity configuration (one RS256 signature; the keys cached).
func BenchmarkEntityConfiguration(b *testing.B) {
	d := dbtest.SQLite(b)
	f := cietest.New()
	defer f.Close()
	k := &cie.Keys{DB: d, Box: box(b)}
	if err := k.Ensure(context.Background()); err != nil {
		b.Fatal(err)
	}
	rp := &cie.RP{Config: f.Config(), Keys: k, BaseURL: "https://servizi.comune.example"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rp.EntityConfiguration(context.Background(), town.Demo()); err != nil {
			b.Fatal(err)
		}
	}
}
