package main

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/cards"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/oidcop"
	"github.com/civico-pa/civico/internal/sealed"
)

// ensureDemoCards puts the demo people's cards in the card registry, makes
// the town's age key, and leaves a PIN/PUK envelope waiting at the URP for
// each card holder who is not an operator (Luca Ferrari), once: a
// delivered envelope is not made again. The PINs are random.
func ensureDemoCards(ctx context.Context, cfg *config, d *db.DB, cardDir string) (string, error) {
	log := &audit.Log{DB: d}
	secret, err := oidcop.NewSecret([]byte(cfg.SecretKey))
	if err != nil {
		return "", err
	}
	box, err := sealed.New(secret.Derive(cards.KeyPurpose, 32))
	if err != nil {
		return "", err
	}
	svc := &cards.Service{DB: d, Registry: &cards.Registry{DB: d, Audit: log}, Keys: &cards.Keys{DB: d, Box: box}, Audit: log}
	key, _, err := svc.Keys.Current(ctx, false, log, "demo")
	if err != nil {
		return "", err
	}
	type holder struct {
		serial, code string
		operator     bool
	}
	var holders []holder
	var reg strings.Builder
	reg.WriteString(strings.Join(cards.RegistryHeader, ";") + "\n")
	missing := 0
	for _, p := range demoPeople {
		if !p.card {
			continue
		}
		code, _ := cf.Complete(p.first15)
		raw, err := os.ReadFile(filepath.Join(cardDir, strings.ToLower(p.given+"-"+p.family)+".pem")) // #nosec G304 -- the demo's own card files
		if err != nil {
			return "", err
		}
		blk, _ := pem.Decode(raw)
		if blk == nil {
			return "", fmt.Errorf("demo card of %s %s: no PEM", p.given, p.family)
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return "", err
		}
		_, rest, _ := strings.Cut(cert.Subject.CommonName, "/")
		serial, _, _ := strings.Cut(rest, ".")
		holders = append(holders, holder{serial: serial, code: string(code), operator: len(p.operator) > 0})
		if _, err := svc.Registry.Card(ctx, serial); err == nil {
			continue
		}
		missing++
		fmt.Fprintf(&reg, "%s;%s;%s;%s;ATTIVA\n", serial, code, cert.NotBefore.Format(time.DateOnly), cert.NotAfter.Format(time.DateOnly))
	}
	if missing > 0 {
		data := []byte(reg.String())
		list, err := cards.ParseRegistry("demo.csv", data, time.Now().AddDate(0, 0, 1))
		if err != nil {
			return "", err
		}
		if _, err := svc.Registry.Import(ctx, "demo.csv", data, list, "demo", nil); err != nil {
			return "", err
		}
	}
	var env strings.Builder
	env.WriteString("seriale;busta\n")
	made := 0
	for _, h := range holders {
		if h.operator {
			continue
		}
		list, err := svc.Envelopes(ctx, h.serial)
		if err != nil {
			return "", err
		}
		if len(list) > 0 {
			continue
		}
		pin, puk := randomDigits(5), randomDigits(8)
		c, err := cards.Seal(cards.Secret{Ref: "DEMO-" + h.serial, Serial: h.serial, FiscalCode: h.code, PIN: pin, PUK: puk}, key.Recipient)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&env, "%s;%s\n", h.serial, base64.StdEncoding.EncodeToString(c))
		made++
	}
	if made > 0 {
		data := []byte(env.String())
		list, err := svc.ParseEnvelopes(ctx, "demo-buste.csv", data)
		if err != nil {
			return "", err
		}
		if _, err := svc.ImportEnvelopes(ctx, "demo-buste.csv", data, list, "demo", nil); err != nil {
			return "", err
		}
	}
	return "  PIN/PUK envelopes wait at the URP (" + cards.BOPath + "): log in as Paola Esposito with her card to hand one out.\n", nil
}

// randomDigits is n random decimal digits.
func randomDigits(n int) string {
	var b strings.Builder
	for range n {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		b.WriteString(d.String())
	}
	return b.String()
}
