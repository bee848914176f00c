package sportello

import (
	"errors"
	"strings"
)

// Errors of ParseIBAN, each its own message for the resident.
var (
	// ErrIBANCountry: the first two letters are no country that issues IBANs.
	ErrIBANCountry = errors.New("iban: unknown country")
	// ErrIBANLength: not the length the country's IBANs have (27 in Italy).
	ErrIBANLength = errors.New("iban: wrong length")
	// ErrIBANFormat: a character an IBAN cannot hold where it stands.
	ErrIBANFormat = errors.New("iban: wrong character")
	// ErrIBANCheck: the check digits do not match (ISO 13616, mod 97).
	ErrIBANCheck = errors.New("iban: wrong check digits")
)

// ibanLength is the length of the IBANs of each country of the SEPA area
// (the ones a town pays a refund or a contribution into), from the SWIFT
// IBAN registry.
var ibanLength = map[string]int{
	"AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20,
	"ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26,
	"IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28,
	"PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "VA": 22,
}

// ParseIBAN normalises an IBAN as people type it (spaces, hyphens, lower
// case) and checks it: a known country, its length, the characters, the
// Italian (and San Marino) structure — CIN a letter, ABI and CAB five
// digits each — and the ISO 13616 check digits (mod 97 = 1).
func ParseIBAN(s string) (string, error) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == ' ' || r == '-' || r == '\t':
		case 'a' <= r && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		default:
			b.WriteRune(r)
		}
	}
	n := b.String()
	if n == "" {
		return "", ErrIBANLength
	}
	if len(n) < 2 || !isUpper(n[0]) || !isUpper(n[1]) {
		return "", ErrIBANCountry
	}
	want, ok := ibanLength[n[:2]]
	if !ok {
		return "", ErrIBANCountry
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !isUpper(c) && !isDigit(c) || i >= 2 && i < 4 && !isDigit(c) {
			return "", ErrIBANFormat
		}
	}
	if len(n) != want {
		return "", ErrIBANLength
	}
	if n[:2] == "IT" || n[:2] == "SM" {
		// CIN, ABI (5 digits), CAB (5 digits), account (12 characters).
		if !isUpper(n[4]) || strings.Trim(n[5:15], "0123456789") != "" {
			return "", ErrIBANFormat
		}
	}
	if cd := n[2:4]; cd == "00" || cd == "01" || cd == "99" || mod97(n[4:]+n[:4]) != 1 {
		return "", ErrIBANCheck
	}
	return n, nil
}

// mod97 is the remainder of the number the IBAN's characters spell, each
// letter as two digits (A = 10 ... Z = 35), divided by 97.
func mod97(s string) int {
	r := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isDigit(c) {
			r = (r*10 + int(c-'0')) % 97
		} else {
			r = (r*100 + int(c-'A') + 10) % 97
		}
	}
	return r
}

// FormatIBAN writes an IBAN in groups of four, as printed on paper.
func FormatIBAN(n string) string {
	var b strings.Builder
	for i := 0; i < len(n); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(n[i:min(i+4, len(n))])
	}
	return b.String()
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }
