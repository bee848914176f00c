package main

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/civico-pa/civico/internal/cardca"
	"github.com/civico-pa/civico/internal/crs"
)

// runCA calls the ca command directly (it is wired into run elsewhere).
func runCA(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := (&cli{stdout: &out, stderr: &errOut, env: func(k string) string { return env[k] }}).ca(args)
	return out.String(), errOut.String(), err
}

func isUsage(err error) bool {
	var ue *usageError
	return errors.As(err, &ue)
}

func TestCACommands(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"CIVICO_DATA_DIR": data}
	dir := filepath.Join(data, "ca")

	out, _, err := runCA(t, env, "init")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"CIVICO_TLS_CERT_FILE=" + filepath.Join(dir, "server.pem"),
		"CIVICO_TLS_KEY_FILE=" + filepath.Join(dir, "server.key"),
		"CIVICO_CRS_CA_FILE=" + filepath.Join(dir, "ca.pem"),
		"CIVICO_CRS_CRL_FILE=" + filepath.Join(dir, "crl.pem"),
		"never trust it in production",
		"civico ca card --cf",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("init output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "--dir") {
		t.Errorf("the default directory is repeated as --dir:\n%s", out)
	}

	// A second init is refused and the authority is left as it was.
	caBefore := mustRead(t, filepath.Join(dir, "ca.pem"))
	if _, _, err := runCA(t, env, "init"); !errors.Is(err, cardca.ErrExists) || isUsage(err) {
		t.Errorf("second init: %v, want ErrExists (exit 1)", err)
	}
	if !bytes.Equal(caBefore, mustRead(t, filepath.Join(dir, "ca.pem"))) {
		t.Error("the second init changed the CA")
	}

	out, _, err = runCA(t, env, "card", "--cf", "msrntn77h15c351x", "--given-name", "Antonio", "--family-name", "Masseroni", "--password", "segreta", "--days", "30")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`serial ([0-9a-f]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no serial in:\n%s", out)
	}
	serial := m[1]
	base := filepath.Join(dir, "cards", "MSRNTN77H15C351X-"+serial)
	curl := "curl --cacert " + filepath.Join(dir, "ca.pem") + " --cert " + base + ".pem --key " + base + ".key https://127.0.0.1:8443/login/crs"
	for _, want := range []string{"Antonio Masseroni (MSRNTN77H15C351X)", base + ".p12 (password: segreta)", curl, "civico ca revoke " + serial + "\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("card output lacks %q:\n%s", want, out)
		}
	}
	key, cert, chain, err := pkcs12.DecodeChain(mustRead(t, base+".p12"), "segreta")
	if err != nil || key == nil || len(chain) != 1 {
		t.Fatalf("p12: %v", err)
	}
	if d := time.Until(cert.NotAfter); d < 29*24*time.Hour || d > 31*24*time.Hour {
		t.Errorf("--days 30 gave a card valid for %v", d)
	}
	block, _ := pem.Decode(mustRead(t, base+".pem"))
	if block == nil || !bytes.Equal(block.Bytes, cert.Raw) {
		t.Error("the .pem is not the card in the .p12")
	}
	if info, err := os.Stat(base + ".key"); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf(".key: %v", err)
	}

	// The card is accepted by a verifier configured as init said.
	v, err := crs.NewVerifier(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "crl.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := v.Verify([]*x509.Certificate{cert}, time.Now())
	if err != nil || id.FiscalCode != "MSRNTN77H15C351X" || id.GivenName != "Antonio" || id.FamilyName != "Masseroni" || id.Serial != serial {
		t.Fatalf("%+v %v", id, err)
	}

	out, _, err = runCA(t, env, "revoke", serial)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Card "+serial+" revoked") {
		t.Errorf("revoke output:\n%s", out)
	}
	v, err = crs.NewVerifier(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "crl.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify([]*x509.Certificate{cert}, time.Now()); crs.ReasonOf(err) != crs.Revoked {
		t.Errorf("after revoke: %v", err)
	}
	if _, _, err := runCA(t, env, "revoke", serial); !errors.Is(err, cardca.ErrAlreadyRevoked) {
		t.Errorf("second revoke: %v", err)
	}

	// Another card, in another directory, revoked by its decimal serial
	// with the flag after the serial.
	out, _, err = runCA(t, env, "card", "--cf", "RSSMRA80A01F205X", "--given-name", "Mario", "--family-name", "Rossi", "--out", filepath.Join(data, "elsewhere"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, filepath.Join(data, "elsewhere", "RSSMRA80A01F205X-")) || !strings.Contains(out, "(password: civico)") {
		t.Errorf("card --out:\n%s", out)
	}
	pemFile := regexp.MustCompile(`certificate +(\S+\.pem)`).FindStringSubmatch(out)
	if pemFile == nil {
		t.Fatalf("no certificate path in:\n%s", out)
	}
	block, _ = pem.Decode(mustRead(t, pemFile[1]))
	second, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCA(t, env, "revoke", second.SerialNumber.String(), "--dir", dir); err != nil {
		t.Errorf("revoke by decimal serial: %v", err)
	}
}

func TestCACommandErrors(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"CIVICO_DATA_DIR": data}
	if _, _, err := runCA(t, env, "card", "--cf", "RSSMRA80A01F205X", "--given-name", "Mario", "--family-name", "Rossi"); err == nil || !strings.Contains(err.Error(), "civico ca init") {
		t.Errorf("card before init: %v", err)
	}
	other := filepath.Join(data, "other ca")
	out, _, err := runCA(t, env, "init", "--dir", other)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "CIVICO_CRS_CA_FILE='"+filepath.Join(other, "ca.pem")+"'") || !strings.Contains(out, "civico ca card --dir '"+other+"'") {
		t.Errorf("a directory with a space is not quoted, or --dir not repeated:\n%s", out)
	}

	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", nil, "civico ca init"},
		{"unknown subcommand", []string{"mint"}, `"mint"`},
		{"unknown flag", []string{"init", "--bogus"}, "bogus"},
		{"stray argument", []string{"init", "x"}, "unexpected argument"},
		{"card without flags", []string{"card", "--dir", other}, "--cf, --given-name and --family-name are required"},
		{"bad fiscal code", []string{"card", "--dir", other, "--cf", "MSRNTN77H15C351Y", "--given-name", "A", "--family-name", "B"}, "--cf"},
		{"short fiscal code", []string{"card", "--dir", other, "--cf", "MSRNTN77H15C351", "--given-name", "A", "--family-name", "B"}, "--cf"},
		{"bad days", []string{"card", "--dir", other, "--cf", "RSSMRA80A01F205X", "--given-name", "A", "--family-name", "B", "--days", "0"}, "--days"},
		{"empty password", []string{"card", "--dir", other, "--cf", "RSSMRA80A01F205X", "--given-name", "A", "--family-name", "B", "--password", ""}, "--password"},
		{"revoke without serial", []string{"revoke", "--dir", other}, "SERIAL"},
		{"revoke unknown serial", []string{"revoke", "--dir", other, "abc123"}, "abc123"},
		{"revoke not a serial", []string{"revoke", "--dir", other, "xyz"}, "xyz"},
		{"revoke two serials", []string{"revoke", "--dir", other, "1", "2"}, "unexpected argument"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runCA(t, env, tt.args...)
			if !isUsage(err) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%v, want a usage error mentioning %q", err, tt.want)
			}
		})
	}
}
