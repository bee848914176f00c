package assurance

import "testing"

func TestLevelsAreOrdered(t *testing.T) {
	for _, c := range []struct {
		have, need Level
		ok         bool
	}{
		{Low, "", true}, {Low, Low, true}, {Low, Substantial, false}, {Low, High, false},
		{Substantial, Low, true}, {Substantial, Substantial, true}, {Substantial, High, false},
		{High, Low, true}, {High, Substantial, true}, {High, High, true},
		{"", "", false}, {"card", Low, false}, {High, "bogus", false},
	} {
		if got := c.have.Satisfies(c.need); got != c.ok {
			t.Errorf("%q.Satisfies(%q) = %v, want %v", c.have, c.need, got, c.ok)
		}
	}
	if Low.ProvesIdentity() || !Substantial.ProvesIdentity() || !High.ProvesIdentity() {
		t.Error("only substantial and high prove a fiscal code")
	}
}

func TestACR(t *testing.T) {
	for _, l := range Levels {
		got, ok := OfACR(l.ACR())
		if !ok || got != l {
			t.Errorf("OfACR(%q) = %q %v, want %q", l.ACR(), got, ok, l)
		}
	}
	for v, want := range map[string]Level{
		"https://www.spid.gov.it/SpidL2": Substantial, ACRHigh: High,
	} {
		if got, _ := OfACR(v); got != want {
			t.Errorf("OfACR(%q) = %q, want %q", v, got, want)
		}
	}
	for _, c := range []struct {
		values []string
		want   Level
	}{
		{nil, ""},
		{[]string{"urn:unknown"}, ""},
		{[]string{ACRHigh}, High},
		{[]string{ACRHigh, ACRSubstantial}, Substantial},
		{[]string{"urn:unknown", "https://www.spid.gov.it/SpidL3"}, High},
		{[]string{ACRHigh, ACRLow}, Low},
	} {
		if got := Minimum(c.values); got != c.want {
			t.Errorf("Minimum(%q) = %q, want %q", c.values, got, c.want)
		}
	}
}
