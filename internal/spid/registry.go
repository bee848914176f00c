package spid

import (
	"bytes"
	"context"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/civico-pa/civico/internal/db"
)

// IdP is an identity provider civico accepts, as its metadata describes it.
type IdP struct {
	EntityID, Name string
	// Profile is the SAML profile its answers are checked by ("spid").
	Profile string
	// SSOURL and SSOBinding are its SingleSignOnService (HTTP-Redirect
	// preferred, else HTTP-POST); SLOURL and SLOBinding its
	// SingleLogoutService (Redirect preferred).
	SSOURL, SSOBinding, SLOURL, SLOBinding string
	// Certs are its signing certificates.
	Certs []*x509.Certificate
	// Test marks the demo's test provider.
	Test bool
	// Metadata is the metadata as read.
	Metadata   string
	ImportedAt time.Time
}

// MaxMetadataSize bounds one metadata file.
const MaxMetadataSize = 4 << 20

// ParseMetadata reads the identity providers of a SAML metadata document:
// one EntityDescriptor, or an EntitiesDescriptor of several (as AgID's
// registry publishes them). Each needs an IDPSSODescriptor with a
// SingleSignOnService of the HTTP-Redirect (preferred) or HTTP-POST binding at an https address (or
// http on a loopback address, for tests), and at least one signing
// certificate. Entities without an IDPSSODescriptor are skipped; an
// entity that has one but is incomplete is an error naming it.
func ParseMetadata(data []byte, profile string) ([]IdP, error) {
	if len(data) > MaxMetadataSize {
		return nil, fmt.Errorf("metadata larger than %d bytes", MaxMetadataSize)
	}
	if _, ok := profiles[profile]; !ok {
		return nil, fmt.Errorf("unknown profile %q", profile)
	}
	if bytes.Contains(data, []byte("<!DOCTYPE")) || bytes.Contains(data, []byte("<!ENTITY")) {
		return nil, errors.New("metadata with a DOCTYPE is refused")
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("not XML: %w", err)
	}
	root := doc.Root()
	if root == nil || root.NamespaceURI() != nsMetadata {
		return nil, errors.New("not SAML metadata (EntityDescriptor or EntitiesDescriptor)")
	}
	var entities []*etree.Element
	switch root.Tag {
	case "EntityDescriptor":
		entities = []*etree.Element{root}
	case "EntitiesDescriptor":
		for _, el := range root.FindElements(".//EntityDescriptor") {
			if el.NamespaceURI() == nsMetadata {
				entities = append(entities, el)
			}
		}
	default:
		return nil, errors.New("not SAML metadata (EntityDescriptor or EntitiesDescriptor)")
	}
	var out []IdP
	for _, e := range entities {
		idp, ok, err := parseEntity(e, profile)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, idp)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no identity provider (IDPSSODescriptor) in the metadata")
	}
	return out, nil
}

// VerifyMetadata checks the signature of a registry's metadata (AgID
// signs the file of the SPID providers) against the registry's
// certificates, and returns the signed element alone, as a document, for
// ParseMetadata: anything around it is dropped. The root itself must be
// signed (an enveloped signature referencing its ID, by the rules of
// verify), and a validUntil on it must not have passed.
func VerifyMetadata(data []byte, signers []*x509.Certificate, now time.Time) ([]byte, error) {
	if len(signers) == 0 {
		return nil, errors.New("no certificate to check the metadata's signature with")
	}
	if len(data) > MaxMetadataSize {
		return nil, fmt.Errorf("metadata larger than %d bytes", MaxMetadataSize)
	}
	if bytes.Contains(data, []byte("<!DOCTYPE")) || bytes.Contains(data, []byte("<!ENTITY")) {
		return nil, errors.New("metadata with a DOCTYPE is refused")
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("not XML: %w", err)
	}
	root := doc.Root()
	if root == nil || root.NamespaceURI() != nsMetadata || (root.Tag != "EntityDescriptor" && root.Tag != "EntitiesDescriptor") {
		return nil, errors.New("not SAML metadata (EntityDescriptor or EntitiesDescriptor)")
	}
	if child(root, nsDSig, "Signature") == nil {
		return nil, errors.New("the metadata is not signed (no Signature in its root)")
	}
	v, err := verify(root, signers, now)
	if err != nil {
		return nil, fmt.Errorf("the metadata's signature does not hold: %w", err)
	}
	if until := v.SelectAttrValue("validUntil", ""); until != "" {
		t, err := time.Parse(time.RFC3339, until)
		if err != nil {
			return nil, fmt.Errorf("the metadata's validUntil %q is not an instant", until)
		}
		if !now.Before(t) {
			return nil, fmt.Errorf("the metadata expired (validUntil %s)", until)
		}
	}
	out := etree.NewDocument()
	out.SetRoot(v)
	return out.WriteToBytes()
}

func child(el *etree.Element, ns, tag string) *etree.Element {
	if el == nil {
		return nil
	}
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == ns {
			return c
		}
	}
	return nil
}

func children(el *etree.Element, ns, tag string) []*etree.Element {
	var out []*etree.Element
	if el == nil {
		return nil
	}
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == ns {
			out = append(out, c)
		}
	}
	return out
}

func parseEntity(e *etree.Element, profile string) (IdP, bool, error) {
	id := strings.TrimSpace(e.SelectAttrValue("entityID", ""))
	sso := child(e, nsMetadata, "IDPSSODescriptor")
	if sso == nil {
		return IdP{}, false, nil
	}
	if id == "" {
		return IdP{}, false, errors.New("an EntityDescriptor without entityID")
	}
	idp := IdP{EntityID: id, Name: id, Profile: profile}
	if org := child(e, nsMetadata, "Organization"); org != nil {
		if n := localized(children(org, nsMetadata, "OrganizationDisplayName")); n != "" {
			idp.Name = n
		} else if n := localized(children(org, nsMetadata, "OrganizationName")); n != "" {
			idp.Name = n
		}
	}
	for _, s := range children(sso, nsMetadata, "SingleSignOnService") {
		b := s.SelectAttrValue("Binding", "")
		if (b == BindingRedirect && idp.SSOBinding != BindingRedirect) || (b == BindingPOST && idp.SSOURL == "") {
			idp.SSOURL, idp.SSOBinding = strings.TrimSpace(s.SelectAttrValue("Location", "")), b
		}
	}
	if idp.SSOURL == "" {
		return IdP{}, false, fmt.Errorf("%s: no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding", id)
	}
	if err := checkEndpoint(idp.SSOURL); err != nil {
		return IdP{}, false, fmt.Errorf("%s: SingleSignOnService: %w", id, err)
	}
	for _, s := range children(sso, nsMetadata, "SingleLogoutService") {
		b := s.SelectAttrValue("Binding", "")
		if (b == BindingRedirect && idp.SLOBinding != BindingRedirect) || (b == BindingPOST && idp.SLOURL == "") {
			idp.SLOURL, idp.SLOBinding = strings.TrimSpace(s.SelectAttrValue("Location", "")), b
		}
	}
	if idp.SLOURL != "" {
		if err := checkEndpoint(idp.SLOURL); err != nil {
			return IdP{}, false, fmt.Errorf("%s: SingleLogoutService: %w", id, err)
		}
	}
	for _, kd := range children(sso, nsMetadata, "KeyDescriptor") {
		if use := kd.SelectAttrValue("use", ""); use != "" && use != "signing" {
			continue
		}
		for _, c := range kd.FindElements(".//X509Certificate") {
			der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(c.Text()), ""))
			if err != nil {
				return IdP{}, false, fmt.Errorf("%s: a certificate that is not base64", id)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				return IdP{}, false, fmt.Errorf("%s: a certificate that does not parse: %w", id, err)
			}
			idp.Certs = append(idp.Certs, cert)
		}
	}
	if len(idp.Certs) == 0 {
		return IdP{}, false, fmt.Errorf("%s: no signing certificate", id)
	}
	doc := etree.NewDocument()
	doc.SetRoot(e.Copy())
	md, err := doc.WriteToString()
	if err != nil {
		return IdP{}, false, err
	}
	idp.Metadata = md
	return idp, true, nil
}

// localized picks the Italian text of localized elements, else the first.
func localized(els []*etree.Element) string {
	first := ""
	for _, el := range els {
		t := strings.TrimSpace(el.Text())
		if t == "" {
			continue
		}
		if el.SelectAttrValue("xml:lang", "") == "it" {
			return t
		}
		if first == "" {
			first = t
		}
	}
	return first
}

// checkEndpoint accepts https addresses, and http ones on loopback (tests).
// hostRE is a DNS name or an IPv4 address, or an IPv6 one (url.Hostname
// strips its brackets).
var hostRE = regexp.MustCompile(`^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|[0-9A-Fa-f:.]+)$`)

func checkEndpoint(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return errors.New("not an absolute address")
	}
	// A host name or an address, nothing a policy could read as a
	// wildcard (the SSO address is opened in form-action).
	if !hostRE.MatchString(u.Hostname()) || u.User != nil {
		return errors.New("not a host name")
	}
	if u.Scheme == "https" {
		return nil
	}
	h := u.Hostname()
	if u.Scheme == "http" && (h == "127.0.0.1" || h == "localhost" || h == "::1") {
		return nil
	}
	return errors.New("not an https address")
}

// Registry is the identity providers' list in the database.
type Registry struct {
	DB  *db.DB
	Now func() time.Time
}

func (r *Registry) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

// Put adds or replaces providers, in tx.
func (r *Registry) Put(ctx context.Context, tx *sql.Tx, idps []IdP) error {
	now := r.now()
	for _, p := range idps {
		var certs strings.Builder
		for _, c := range p.Certs {
			_ = pem.Encode(&certs, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		}
		binding := p.SSOBinding
		if binding == "" {
			binding = BindingRedirect
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO spid_idps (entity_id, name, profile, sso_url, sso_binding, slo_url, slo_binding, certs_pem, metadata, test, imported_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (entity_id) DO UPDATE SET name = excluded.name, profile = excluded.profile, sso_url = excluded.sso_url,
			sso_binding = excluded.sso_binding, slo_url = excluded.slo_url, slo_binding = excluded.slo_binding, certs_pem = excluded.certs_pem,
			metadata = excluded.metadata, test = excluded.test, imported_at = excluded.imported_at`,
			p.EntityID, p.Name, p.Profile, p.SSOURL, binding, p.SLOURL, p.SLOBinding, certs.String(), p.Metadata, p.Test, now)
		if err != nil {
			return err
		}
	}
	return nil
}

// Remove takes a provider off the list.
func (r *Registry) Remove(ctx context.Context, tx *sql.Tx, entityID string) (bool, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM spid_idps WHERE entity_id = $1`, entityID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

const idpColumns = `entity_id, name, profile, sso_url, sso_binding, slo_url, slo_binding, certs_pem, test, imported_at`

func scanIdP(s interface{ Scan(...any) error }) (*IdP, error) {
	var p IdP
	var certs string
	if err := s.Scan(&p.EntityID, &p.Name, &p.Profile, &p.SSOURL, &p.SSOBinding, &p.SLOURL, &p.SLOBinding, &certs, &p.Test, &p.ImportedAt); err != nil {
		return nil, err
	}
	rest := []byte(certs)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		p.Certs = append(p.Certs, c)
	}
	return &p, nil
}

// List is every provider, by name.
func (r *Registry) List(ctx context.Context) ([]IdP, error) {
	rows, err := r.DB.QueryContext(ctx, `SELECT `+idpColumns+` FROM spid_idps ORDER BY name, entity_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []IdP
	for rows.Next() {
		p, err := scanIdP(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	return out, rows.Err()
}

// ErrUnknownIdP: no provider of that entityID is registered.
var ErrUnknownIdP = errors.New("unknown identity provider")

// Get is one provider.
func (r *Registry) Get(ctx context.Context, entityID string) (*IdP, error) {
	p, err := scanIdP(r.DB.QueryRowContext(ctx, `SELECT `+idpColumns+` FROM spid_idps WHERE entity_id = $1`, entityID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrUnknownIdP
	}
	return p, err
}
