package sportello

import (
	"errors"
	"testing"
)

func TestIBAN(t *testing.T) {
	for _, c := range []struct {
		in, want string
		err      error
	}{
		// Banca d'Italia's own example, and the same typed as people do.
		{"IT60X0542811101000000123456", "IT60X0542811101000000123456", nil},
		{"it60 x054 2811 1010 0000 0123 456", "IT60X0542811101000000123456", nil},
		{" IT60-X054-2811-1010-0000-0123-456 ", "IT60X0542811101000000123456", nil},
		// Other SEPA countries, with their own lengths.
		{"DE89370400440532013000", "DE89370400440532013000", nil},
		{"FR1420041010050500013M02606", "FR1420041010050500013M02606", nil},
		{"SM86U0322509800000000270100", "SM86U0322509800000000270100", nil},
		{"GB82WEST12345698765432", "GB82WEST12345698765432", nil},
		{"", "", ErrIBANLength},
		// One digit changed: the check digits catch it.
		{"IT60X0542811101000000123457", "", ErrIBANCheck},
		// Two digits swapped.
		{"IT60X0542811101000000124356", "", ErrIBANCheck},
		// An Italian IBAN is 27 characters.
		{"IT60X054281110100000012345", "", ErrIBANLength},
		{"IT60X05428111010000001234567", "", ErrIBANLength},
		// The Italian BBAN: CIN a letter, ABI and CAB digits.
		{"IT6010542811101000000123456", "", ErrIBANFormat},
		{"IT60XA542811101000000123456", "", ErrIBANFormat},
		// A country without IBAN, or none at all.
		{"US64SVBKUS6S3300958879", "", ErrIBANCountry},
		{"1234567890123456789012", "", ErrIBANCountry},
		// Characters an IBAN never has.
		{"IT60X0542811101000000123Ä56", "", ErrIBANFormat},
		{"IT60X05428111010000001234.6", "", ErrIBANFormat},
		// Check digits 00, 01 and 99 are never issued.
		{"DE00370400440532013000", "", ErrIBANCheck},
	} {
		got, err := ParseIBAN(c.in)
		if !errors.Is(err, c.err) || got != c.want {
			t.Errorf("ParseIBAN(%q) = %q, %v; want %q, %v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestIBANGroups(t *testing.T) {
	if got := FormatIBAN("IT60X0542811101000000123456"); got != "IT60 X054 2811 1010 0000 0123 456" {
		t.Errorf("FormatIBAN: %q", got)
	}
}
