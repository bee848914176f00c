package main

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/spid"
	"github.com/civico-pa/civico/internal/town"
)

// spidCmd manages the SPID Service Provider: its metadata, keys and the
// identity providers' registry.
func (c *cli) spidCmd(args []string) error {
	const expected = "expected `civico spid metadata`, `civico spid keys`, `civico spid rotate-keys [--overlap D]`, " +
		"`civico spid registry import PATH`, `civico spid registry list` or `civico spid registry remove ENTITYID`"
	if len(args) == 0 {
		return usagef(expected)
	}
	verb := args[0]
	rest := args[1:]
	if verb == "registry" {
		if len(rest) == 0 {
			return usagef(expected)
		}
		verb, rest = "registry "+rest[0], rest[1:]
	}
	cfg, err := loadConfig(c.env)
	if err != nil {
		return err
	}
	fs := c.flags("spid " + verb)
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory (CIVICO_DATA_DIR)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "database URL (CIVICO_DATABASE_URL)")
	fs.StringVar(&cfg.BaseURL, "base-url", cfg.BaseURL, "the portal's public address (CIVICO_BASE_URL): the SP's entityID is its "+spid.PathMetadata)
	overlap := fs.Duration("overlap", 7*24*time.Hour, "how long the new certificate is published before it signs (AgID and the providers must have it)")
	profile := fs.String("profile", spid.SPID.Name, "the SAML profile of the providers imported: spid, cie (CIE ID's SAML profile) or eidas (the Italian eIDAS node, FICEP)")
	signer := fs.String("signer", "", "a PEM file of the registry's signing certificate(s): each metadata file's signature must hold (AgID signs its registry)")
	switch verb {
	case "metadata", "keys", "rotate-keys", "registry import", "registry list", "registry remove":
	default:
		return usagef("unknown `civico spid %s`: %s", verb, expected)
	}
	var files []string
	for len(rest) > 0 {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return usagef("%v", err)
		}
		if fs.NArg() == 0 {
			break
		}
		files, rest = append(files, fs.Arg(0)), fs.Args()[1:]
	}
	want := 0
	if verb == "registry import" || verb == "registry remove" {
		want = 1
	}
	if len(files) != want {
		return usagef("civico spid %s takes %d argument(s)", verb, want)
	}
	ctx := context.Background()
	d, err := c.open(ctx, cfg, newLogger(cfg, c.stderr), true)
	if err != nil {
		return err
	}
	defer d.Close()
	reg := &spid.Registry{DB: d}
	switch verb {
	case "registry import":
		var signers []*x509.Certificate
		if *signer != "" {
			if signers, err = readCertificates(*signer); err != nil {
				return usagef("--signer: %v", err)
			}
		}
		return c.spidImport(ctx, d, reg, files[0], *profile, signers)
	case "registry list":
		idps, err := reg.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ENTITY ID\tNAME\tPROFILE\tCERTIFICATES UNTIL\tIMPORTED")
		for _, p := range idps {
			var until []string
			for _, c := range p.Certs {
				until = append(until, c.NotAfter.Format("2006-01-02"))
			}
			name := p.Name
			if p.Test {
				name += " (TEST)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.EntityID, name, p.Profile, strings.Join(until, ", "), p.ImportedAt.Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	case "registry remove":
		var ok bool
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			if ok, err = reg.Remove(ctx, tx, files[0]); err != nil || !ok {
				return err
			}
			return (&audit.Log{DB: d}).Write(ctx, tx, audit.Entry{Actor: "cli", Action: "spid.registry.removed", Subject: files[0]})
		})
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("no identity provider %s in the registry", files[0])
		}
		fmt.Fprintf(c.stdout, "removed %s\n", files[0])
		return nil
	}
	keys, err := c.spidKeys(cfg, d)
	if err != nil {
		return err
	}
	sp := &spid.SP{BaseURL: cfg.BaseURL, Keys: keys}
	profileTown, err := town.NewStore(d, 0).Get(ctx)
	if err != nil {
		return err
	}
	switch verb {
	case "metadata":
		// The first key, when there is none yet (a server not restarted
		// since the IPA code was set).
		if profileTown.IPACode != "" {
			if err := keys.Ensure(ctx, sp.Subject(profileTown)); err != nil {
				return err
			}
		}
		md, err := sp.Metadata(ctx, profileTown)
		if err != nil {
			return err
		}
		_, err = c.stdout.Write(append(md, '\n'))
		return err
	case "keys":
		list, err := keys.All(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY ID\tSIGNS FROM\tRETIRED\tCERTIFICATE UNTIL\tSUBJECT")
		for _, k := range list {
			ret := "—"
			if k.RetiredAt != nil {
				ret = k.RetiredAt.Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.SignsFrom.Format("2006-01-02 15:04"), ret, k.Cert.NotAfter.Format("2006-01-02"), k.Cert.Subject.CommonName)
		}
		return tw.Flush()
	default: // rotate-keys
		if profileTown.IPACode == "" {
			return spid.ErrNoIPACode
		}
		if *overlap < 0 {
			return usagef("--overlap must not be negative")
		}
		// The key in force must open with this secret.
		if err := keys.Ensure(ctx, sp.Subject(profileTown)); err != nil {
			return err
		}
		if _, err := keys.Signer(ctx); err != nil {
			return err
		}
		from := time.Now().Add(*overlap)
		kid, err := keys.Add(ctx, sp.Subject(profileTown), from, true)
		if err != nil {
			return err
		}
		if err := (&audit.Log{DB: d}).RecordNow(ctx, audit.Entry{Actor: "cli", Action: "spid.keys.rotated", Subject: kid,
			Details: map[string]string{"signs_from": from.UTC().Format(time.RFC3339)}}); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "new SPID key %s, published from now and signing from %s, when the others retire.\n"+
			"Send the new metadata to AgID now (civico spid metadata): it lists both certificates until then.\n", kid, from.UTC().Format("2006-01-02 15:04 MST"))
		return nil
	}
}

// spidKeys opens the SP's keys with the installation's secret.
func (c *cli) spidKeys(cfg config, d *db.DB) (*spid.Keys, error) {
	box, err := cliSealer(cfg, spid.KeyPurpose)
	if err != nil {
		return nil, err
	}
	return &spid.Keys{DB: d, Box: box}, nil
}

// readCertificates reads the certificates of a PEM file.
func readCertificates(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path) // #nosec G304 G703 -- the file the operator names on the command line
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return out, nil
}

// spidImport reads one metadata file, or every .xml file of a folder, and
// stores their providers, all or none. With signers, each file's
// signature must hold, and only what it signs is read; without, the
// import says (and the audit entry records) that it was not checked.
func (c *cli) spidImport(ctx context.Context, d *db.DB, reg *spid.Registry, path, profile string, signers []*x509.Certificate) error {
	info, err := os.Stat(path) // #nosec G703 -- the file or folder the operator names on the command line
	if err != nil {
		return usagef("%v", err)
	}
	files := []string{path}
	if info.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return err
		}
		files = nil
		for _, e := range entries {
			if !e.IsDir() && strings.EqualFold(filepath.Ext(e.Name()), ".xml") {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
		sort.Strings(files)
		if len(files) == 0 {
			return usagef("%s: no .xml file", path)
		}
	}
	var all []spid.IdP
	seen := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f) // #nosec G304 G703 -- the file the operator names on the command line
		if err != nil {
			return err
		}
		if signers != nil {
			if b, err = spid.VerifyMetadata(b, signers, time.Now()); err != nil {
				return fmt.Errorf("%s: %w (nothing imported)", f, err)
			}
		}
		idps, err := spid.ParseMetadata(b, profile)
		if err != nil {
			return fmt.Errorf("%s: %w (nothing imported)", f, err)
		}
		for _, p := range idps {
			if other, dup := seen[p.EntityID]; dup {
				return fmt.Errorf("%s: %s is also in %s (nothing imported)", f, p.EntityID, other)
			}
			seen[p.EntityID] = f
		}
		all = append(all, idps...)
	}
	signature := "not checked"
	if signers != nil {
		var subjects []string
		for _, c := range signers {
			sum := sha256.Sum256(c.Raw)
			subjects = append(subjects, c.Subject.CommonName+" sha256:"+hex.EncodeToString(sum[:]))
		}
		signature = "verified: " + strings.Join(subjects, ", ")
	}
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		if err := reg.Put(ctx, tx, all); err != nil {
			return err
		}
		names := make([]string, len(all))
		for i, p := range all {
			names[i] = p.EntityID
		}
		return (&audit.Log{DB: d}).Write(ctx, tx, audit.Entry{Actor: "cli", Action: "spid.registry.imported",
			Details: map[string]string{"providers": strings.Join(names, " "), "source": path, "signature": signature}})
	})
	if err != nil {
		return err
	}
	for _, p := range all {
		fmt.Fprintf(c.stdout, "%s\t%s\n", p.EntityID, p.Name)
	}
	fmt.Fprintf(c.stdout, "%d identity provider(s) imported; the metadata's signature: %s\n", len(all), signature)
	return nil
}
