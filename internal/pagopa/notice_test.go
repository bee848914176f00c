package pagopa

import (
	"errors"
	"testing"
)

// Notice numbers printed on real notices, read from the QR payloads in
// public pagoPA integrations' code and test data (GovPay's receipt tests
// for the Comune di Torino, 00514490010; a municipal connector's notice for
// 00050800523; the IO app's QR decoder for 81005750021; a GovPay stamp
// test for 80002270074). Their check digits are pagoPA's, not ours.
var published = []struct {
	number, creditor string
	seg              string
}{
	{"301730000000007517", "00514490010", "01"},
	{"302722280174467480", "00050800523", "02"},
	{"322201151398574181", "81005750021", "22"},
	{"301185850000001130", "80002270074", "01"},
}

func TestPublishedNoticeNumbersCheck(t *testing.T) {
	for _, p := range published {
		n, err := Parse(p.number)
		if err != nil {
			t.Errorf("Parse(%s): %v", p.number, err)
			continue
		}
		if n.Aux != 3 || n.Code != p.seg || n.IUV != p.number[1:] || n.Check != p.number[16:] {
			t.Errorf("Parse(%s) = %+v", p.number, n)
		}
		// And New rebuilds the same number from its parts.
		var base int64
		for _, c := range p.number[3:16] {
			base = base*10 + int64(c-'0')
		}
		if got, err := New(p.seg, base); err != nil || got != p.number {
			t.Errorf("New(%s, %d) = %s, %v; want %s", p.seg, base, got, err, p.number)
		}
	}
}

func TestParseRefusesWithAReason(t *testing.T) {
	tests := []struct {
		in   string
		want Reason
	}{
		{"", ReasonEmpty},
		{"   ", ReasonEmpty},
		{"30173000000000751", ReasonLength},
		{"3017300000000075170", ReasonLength},
		{"30173000000000751A", ReasonDigits},
		{"3017 3000 0000 0075 1x", ReasonDigits},
		{"401730000000007517", ReasonAux},
		{"901730000000007517", ReasonAux},
		// Placeholders seen in test data whose check digits are wrong.
		{"399000012345678900", ReasonCheck},
		{"302051234567890111", ReasonCheck},
		// One digit changed, or two swapped: the check catches it.
		{"301730000000007518", ReasonCheck},
		{"301730000000070517", ReasonCheck},
		{"002000000000000100", ReasonCheck},
		{"200000000000000100", ReasonCheck},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		var pe *Error
		if !errors.As(err, &pe) || pe.Reason != tt.want || !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) = %v, want reason %s", tt.in, err, tt.want)
		}
	}
}

func TestParseEveryAuxDigit(t *testing.T) {
	// aux 0: 0 + application code 44 + base 0123456789012 + check.
	head0 := "0440123456789012"
	n0 := head0 + CheckDigits(head0)
	// aux 2: 2 + base (15) + check.
	head2 := "2012345678901234"
	n2 := head2 + CheckDigits(head2)
	tests := []struct {
		in        string
		aux       int
		code, iuv string
	}{
		{n0, 0, "44", n0[3:]},
		{"144012345678901200", 1, "", "44012345678901200"}, // no check digits at all
		{n2, 2, "", n2[1:]},
		{"3017 3000 0000 0075 17", 3, "01", "01730000000007517"},
		{" 3017.3000.0000.0075.17 ", 3, "01", "01730000000007517"},
	}
	for _, tt := range tests {
		n, err := Parse(tt.in)
		if err != nil || n.Aux != tt.aux || n.Code != tt.code || n.IUV != tt.iuv {
			t.Errorf("Parse(%q) = %+v, %v", tt.in, n, err)
		}
	}
}

func TestNewIsParsedBack(t *testing.T) {
	for _, base := range []int64{0, 1, 92, 93, 4242, BaseMax} {
		s, err := New("47", base)
		if err != nil {
			t.Fatal(err)
		}
		n, err := Parse(s)
		if err != nil || n.Aux != 3 || n.Code != "47" || len(s) != NoticeLen {
			t.Errorf("New(47, %d) = %s: Parse %+v, %v", base, s, n, err)
		}
	}
	if _, err := New("47", BaseMax+1); err == nil {
		t.Error("a base past 13 digits was accepted")
	}
	if _, err := New("4", 1); err == nil {
		t.Error("a one-digit segregation code was accepted")
	}
}

func TestGroupedAndQR(t *testing.T) {
	if got := Grouped("301730000000007517"); got != "3017 3000 0000 0075 17" {
		t.Errorf("Grouped = %q", got)
	}
	p := QRPayload("301730000000007517", "00514490010", 7800)
	if p != "PAGOPA|002|301730000000007517|00514490010|7800" {
		t.Errorf("QRPayload = %q", p)
	}
	n, cf, cents, err := ParseQR(p)
	if err != nil || n.Number != "301730000000007517" || cf != "00514490010" || cents != 7800 {
		t.Errorf("ParseQR = %+v %s %d %v", n, cf, cents, err)
	}
	for _, bad := range []string{"PAGOPA|001|301730000000007517|00514490010|7800", "PAGOPA|002|301730000000007518|00514490010|7800",
		"PAGOPA|002|301730000000007517|0051449001|7800", "PAGOPA|002|301730000000007517|00514490010|-1", "PAGOPA|002|301730000000007517|00514490010|0"} {
		if _, _, _, err := ParseQR(bad); err == nil {
			t.Errorf("ParseQR(%q) accepted", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range published {
		f.Add(p.number)
	}
	f.Add("3017 3000 0000 0075 17")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q): %v is not ErrInvalid", s, err)
			}
			return
		}
		if len(n.Number) != NoticeLen {
			t.Fatalf("Parse(%q) accepted %q", s, n.Number)
		}
		if again, err := Parse(Grouped(n.Number)); err != nil || again != n {
			t.Fatalf("the grouped form of %q parses as %+v, %v", n.Number, again, err)
		}
	})
}
