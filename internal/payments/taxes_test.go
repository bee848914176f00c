package payments

import (
	"errors"
	"testing"
)

func TestMultiplier(t *testing.T) {
	for cat, want := range map[string]int64{"A/2": 160, "a/3": 160, "A/10": 80, "B/1": 140, "C/1": 55, "C/2": 160, "C/3": 140, "C/6": 160,
		"D/1": 65, "D/5": 80, "A/12": 0, "E/1": 0, "X": 0, "": 0} {
		if got := Multiplier(cat); got != want {
			t.Errorf("Multiplier(%q) = %d, want %d", cat, got, want)
		}
	}
}

// Worked examples, computed by hand from L. 160/2019 art. 1 with the demo
// rates (10.6 per mille ordinary, 6 main home A/1-A/9 less €200, group D
// 10.6 of which 7.6 to the State).
func TestCalculateIMU(t *testing.T) {
	r, err := DemoRates()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   IMUInput
		want IMUResult
	}{
		// A second home A/2, rendita €750: base 750 × 1.05 × 160 = 126,000;
		// tax 126,000 × 10.6‰ = €1,335.60.
		{"second home", IMUInput{Rendita: 75000, Category: "A/2", SharePercent: 100, Months: 12, Year: 2026},
			IMUResult{Base: 12600000, Multiplier: 160, Permille: 10.6, Tax: 133560, June: 66780, Dec: 66780, Rule: "c.754"}},
		// Half of it for 6 months: 1,335.60 × 0.5 × 6/12 = €333.90.
		{"half share, six months", IMUInput{Rendita: 75000, Category: "A/2", SharePercent: 50, Months: 6, Year: 2026},
			IMUResult{Base: 12600000, Multiplier: 160, Permille: 10.6, Tax: 33390, June: 16695, Dec: 16695, Rule: "c.754"}},
		{"main home", IMUInput{Rendita: 75000, Category: "A/2", SharePercent: 100, Months: 12, MainHome: true, Year: 2026},
			IMUResult{Base: 12600000, Multiplier: 160, Exempt: true, Rule: "c.740"}},
		{"pertinence of the main home", IMUInput{Rendita: 9000, Category: "C/6", SharePercent: 100, Months: 12, MainHome: true, Year: 2026},
			IMUResult{Base: 1512000, Multiplier: 160, Exempt: true, Rule: "c.740"}},
		// A/8 main home, rendita €2,000: base 336,000; × 6‰ = 2,016; less
		// 200 = €1,816.
		{"luxury main home", IMUInput{Rendita: 200000, Category: "A/8", SharePercent: 100, Months: 12, MainHome: true, Year: 2026},
			IMUResult{Base: 33600000, Multiplier: 160, Permille: 6, Deduction: 20000, Tax: 181600, June: 90800, Dec: 90800, Rule: "c.748-749"}},
		// A shop C/1, rendita €1,000.01, halved: base 1,000.01 × 1.05 × 55 / 2
		// = 28,875.29 (rounded); tax × 10.6‰ = 306.08.
		{"listed shop", IMUInput{Rendita: 100001, Category: "C/1", SharePercent: 100, Months: 12, Halved: true, Year: 2026},
			IMUResult{Base: 2887529, Multiplier: 55, Permille: 10.6, Tax: 30608, June: 15304, Dec: 15304, Rule: "c.754"}},
		// A warehouse D/1, rendita €10,000: base 682,500; 10.6‰ = 7,234.50,
		// of which 7.6‰ = 5,187 to the State and 2,047.50 to the town.
		{"group D", IMUInput{Rendita: 1000000, Category: "D/1", SharePercent: 100, Months: 12, Year: 2026},
			IMUResult{Base: 68250000, Multiplier: 65, Permille: 10.6, Tax: 204750, State: 518700, June: 102375, Dec: 102375, Rule: "c.753"}},
	}
	for _, tt := range tests {
		got, err := r.CalculateIMU(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("%s: %+v, %v\nwant %+v", tt.name, got, err, tt.want)
		}
	}
	for field, in := range map[string]IMUInput{
		"year":     {Rendita: 1, Category: "A/2", SharePercent: 100, Months: 12, Year: 1999},
		"rendita":  {Rendita: 0, Category: "A/2", SharePercent: 100, Months: 12, Year: 2026},
		"category": {Rendita: 1, Category: "Z/9", SharePercent: 100, Months: 12, Year: 2026},
		"share":    {Rendita: 1, Category: "A/2", SharePercent: 0, Months: 12, Year: 2026},
		"months":   {Rendita: 1, Category: "A/2", SharePercent: 100, Months: 13, Year: 2026},
	} {
		var ie *ErrIMU
		if _, err := r.CalculateIMU(in); !errors.As(err, &ie) || ie.Field != field {
			t.Errorf("bad %s: %v", field, err)
		}
	}
	p := IMUPosition(mario, tests[0].in, tests[0].want)
	if fe := p.Validate(); fe != nil || p.Amount != 133560 || len(p.Instalments) != 2 || !p.Single || p.Instalments[1].DueDate != "2026-12-16" {
		t.Errorf("IMU position %+v: %v", p, fe)
	}
}

func TestTARIWithTEFA(t *testing.T) {
	r, err := DemoRates()
	if err != nil {
		t.Fatal(err)
	}
	// TARI €301.00, TEFA 5% = €15.05, in three instalments.
	p, err := r.TARIPosition(mario, "Mario Rossi", "Via Roma 1", "C707", "01971350150", 2026, 30100, "TARI-1")
	if err != nil {
		t.Fatal(err)
	}
	if fe := p.Validate(); fe != nil {
		t.Fatal(fe)
	}
	if p.Amount != 31605 || len(p.Transfers) != 2 || p.Transfers[1].Amount != 1505 || p.Transfers[1].CreditorCF != "08911820960" {
		t.Fatalf("single payment %+v", p)
	}
	var tari, tefa int64
	for _, in := range p.Instalments {
		if len(in.Transfers) != 2 {
			t.Fatalf("instalment %+v", in)
		}
		tari += in.Transfers[0].Amount
		tefa += in.Transfers[1].Amount
	}
	if len(p.Instalments) != 3 || tari != 30100 || tefa != 1505 {
		t.Fatalf("instalments add up to %d + %d", tari, tefa)
	}
	if p.Transfers[1].Metadata != "TARI-TEFA-2=C707|2026|TEFA" {
		t.Errorf("metadata %q", p.Transfers[1].Metadata)
	}
}

func TestRatesRefuseWhatTheLawDoesNot(t *testing.T) {
	for _, bad := range []string{
		`{"years":{"2026":{"imu":{"ordinary_permille":12,"main_luxury_permille":6,"group_d_permille":10.6,"group_d_state_permille":7.6},"tari":{"tefa_percent":5,"province_fiscal_code":"08911820960","due_dates":["2026-05-31"]}}}}`,
		`{"years":{"2026":{"imu":{"ordinary_permille":10,"main_luxury_permille":6,"group_d_permille":10.6,"group_d_state_permille":7.6},"tari":{"tefa_percent":7,"province_fiscal_code":"08911820960","due_dates":["2026-05-31"]}}}}`,
		`{"years":{"2026":{"imu":{"ordinary_permille":10,"main_luxury_permille":6,"group_d_permille":10.6,"group_d_state_permille":7.6},"tari":{"tefa_percent":5,"province_fiscal_code":"08911820961","due_dates":["2026-05-31"]}}}}`,
		`{"years":{"2026":{"imu":{"ordinary_permille":10,"main_luxury_permille":6,"group_d_permille":10.6,"group_d_state_permille":7.6},"tari":{"tefa_percent":5,"province_fiscal_code":"08911820960","due_dates":["2026-05-31"]}}}, "extra": 1}`,
	} {
		if _, err := ParseRates([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestParseCents(t *testing.T) {
	for in, want := range map[string]int64{"12": 1200, "12,5": 1250, "12,50": 1250, "12.50": 1250, "1.234,56": 123456, "1,234.56": 123456, "€ 3": 300, "0,01": 1} {
		if got, ok := ParseCents(in); !ok || got != want {
			t.Errorf("ParseCents(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "abc", "12,345", "1e3", "-5", "12,5,0"} {
		if v, ok := ParseCents(bad); ok {
			t.Errorf("ParseCents(%q) = %d", bad, v)
		}
	}
	for cents, want := range map[int64]string{123456: "1.234,56", 5: "0,05", 0: "0,00", 100: "1,00", 99999: "999,99", 100000: "1.000,00",
		123456789: "1.234.567,89", -5: "-0,05", -123456: "-1.234,56"} {
		if got := Euro(cents); got != want {
			t.Errorf("Euro(%d) = %q, want %q", cents, got, want)
		}
	}
	if EuroDot(123456) != "1234.56" {
		t.Error("EuroDot")
	}
}
