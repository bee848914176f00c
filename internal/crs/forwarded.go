package crs

import (
	"crypto/x509"
	"encoding/base64"
	"net/url"
	"strings"
	"unicode"
)

// Limits on what a proxy's header may hold: a card certificate is about
// 2 KB, and a chain has a few.
const (
	maxForwardedBytes = 64 << 10
	maxForwardedCerts = 8
)

const (
	pemBegin = "-----BEGIN CERTIFICATE-----"
	pemEnd   = "-----END CERTIFICATE-----"
)

// ParseForwarded reads the client certificates a TLS-terminating proxy
// forwards in a header, in the forms common proxies send:
//
//   - a URL-escaped PEM (nginx's $ssl_client_escaped_cert, AWS load
//     balancers);
//   - a PEM whose newlines became spaces (Apache's %{SSL_CLIENT_CERT}s,
//     which cannot put a newline in a header), or a PEM with newlines;
//   - base64 DER (HAProxy's ssl_c_der,base64), or several separated by
//     commas, possibly URL-escaped (Traefik's X-Forwarded-Tls-Client-Cert).
//
// Several certificates are returned in the header's order: the card
// first, then intermediates, as Verify takes them. An empty header, or
// Apache's "(null)", means the client sent no certificate: nil and no
// error, which Verify refuses as NoCertificate. A header that cannot be
// read is a *Refusal with reason Malformed.
//
// Only call it for requests from a trusted proxy (web.Proxies, CIVICO_TRUSTED_PROXIES):
// anyone else can put any certificate in the header.
func ParseForwarded(header string) ([]*x509.Certificate, error) {
	h := strings.TrimSpace(header)
	if h == "" || h == "(null)" {
		return nil, nil
	}
	if len(h) > maxForwardedBytes {
		return nil, refuse(Malformed, "the forwarded certificate header is %d bytes, more than %d", len(h), maxForwardedBytes)
	}
	// Neither PEM nor base64 ever holds a %, so one means URL escaping.
	// PathUnescape, unlike QueryUnescape, leaves a + (a base64 digit) alone.
	if strings.Contains(h, "%") {
		u, err := url.PathUnescape(h)
		if err != nil {
			return nil, refuse(Malformed, "the forwarded certificate header is not properly URL-escaped: %v", err)
		}
		h = strings.TrimSpace(u)
	}
	var ders [][]byte
	var err error
	if strings.Contains(h, "-----BEGIN") {
		ders, err = pemBodies(h)
	} else {
		ders, err = base64List(h)
	}
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for i, der := range ders {
		cs, err := x509.ParseCertificates(der)
		if err != nil {
			return nil, refuse(Malformed, "forwarded certificate %d: %v", i+1, err)
		}
		certs = append(certs, cs...)
		if len(certs) > maxForwardedCerts {
			return nil, refuse(Malformed, "more than %d forwarded certificates", maxForwardedCerts)
		}
	}
	if len(certs) == 0 {
		return nil, refuse(Malformed, "the forwarded certificate header holds no certificate")
	}
	return certs, nil
}

// pemBodies decodes one or more PEM certificates, whatever white space
// (newlines, spaces, tabs) or commas separate their lines and blocks.
func pemBodies(h string) ([][]byte, error) {
	var ders [][]byte
	rest := h
	for {
		rest = strings.TrimLeftFunc(rest, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
		if rest == "" {
			return ders, nil
		}
		body, ok := strings.CutPrefix(rest, pemBegin)
		if !ok {
			return nil, refuse(Malformed, "the forwarded PEM does not start with %s", pemBegin)
		}
		i := strings.Index(body, pemEnd)
		if i < 0 {
			return nil, refuse(Malformed, "the forwarded PEM lacks %s", pemEnd)
		}
		der, err := base64.StdEncoding.DecodeString(stripSpace(body[:i]))
		if err != nil {
			return nil, refuse(Malformed, "the forwarded PEM certificate %d: %v", len(ders)+1, err)
		}
		ders = append(ders, der)
		if len(ders) > maxForwardedCerts {
			return nil, refuse(Malformed, "more than %d forwarded certificates", maxForwardedCerts)
		}
		rest = body[i+len(pemEnd):]
	}
}

// base64List decodes comma-separated base64 DER certificates.
func base64List(h string) ([][]byte, error) {
	var ders [][]byte
	for part := range strings.SplitSeq(h, ",") {
		s := stripSpace(part)
		if s == "" {
			continue
		}
		der, err := decodeBase64(s)
		if err != nil {
			return nil, refuse(Malformed, "forwarded certificate %d is neither PEM nor base64 DER: %v", len(ders)+1, err)
		}
		ders = append(ders, der)
		if len(ders) > maxForwardedCerts {
			return nil, refuse(Malformed, "more than %d forwarded certificates", maxForwardedCerts)
		}
	}
	return ders, nil
}

// decodeBase64 accepts standard base64, with or without padding, and its
// URL-safe variant.
func decodeBase64(s string) ([]byte, error) {
	var first error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err == nil {
			return b, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}
