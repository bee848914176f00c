package payments

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"strconv"
	"strings"
)

// Rates are a town's tax rates and tariffs by year, as data: the council
// deliberates them yearly (IMU: L. 160/2019 art. 1 c.754-755; TARI: L.
// 147/2013 art. 1 c.683; TEFA: D.Lgs. 504/1992 art. 19).
type Rates struct {
	Town  string               `json:"town"`
	Note  string               `json:"note"`
	Years map[string]YearRates `json:"years"`
}

// YearRates are one year's.
type YearRates struct {
	IMU  IMURates  `json:"imu"`
	TARI TARIRates `json:"tari"`
}

// IMURates are the IMU rates in per mille.
type IMURates struct {
	Ordinary      float64 `json:"ordinary_permille"`
	MainLuxury    float64 `json:"main_luxury_permille"`
	MainDeduction int64   `json:"main_deduction_euro"`
	GroupD        float64 `json:"group_d_permille"`
	GroupDState   float64 `json:"group_d_state_permille"`
	Rural         float64 `json:"rural_permille"`
	Deliberation  string  `json:"deliberation"`
}

// TARIRates are the TARI settings: the province's TEFA and the due dates.
type TARIRates struct {
	TEFAPercent        float64  `json:"tefa_percent"`
	Province           string   `json:"province"`
	ProvinceFiscalCode string   `json:"province_fiscal_code"`
	DueDates           []string `json:"due_dates"`
}

//go:embed rates.json
var demoRates []byte

// DemoRates are the demo town's rates.
func DemoRates() (*Rates, error) { return ParseRates(demoRates) }

// LoadRates reads a rates file (CIVICO_TAX_RATES_FILE).
func LoadRates(path string) (*Rates, error) {
	b, err := os.ReadFile(path) // #nosec G304 -- the file the operator configured
	if err != nil {
		return nil, err
	}
	return ParseRates(b)
}

// ParseRates reads and checks rates: every rate within the law's range.
func ParseRates(b []byte) (*Rates, error) {
	var r Rates
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("tax rates: %w", err)
	}
	for y, yr := range r.Years {
		if n, err := strconv.Atoi(y); err != nil || n < 2020 || n > 2100 {
			return nil, fmt.Errorf("tax rates: %q is not a year", y)
		}
		i := yr.IMU
		// c.754: ordinary 0 to 10.6 per mille (11.4 with the former TASI
		// surcharge, c.755); c.748: main home A/1, A/8, A/9 0 to 6; c.753:
		// group D at least the State's 7.6; c.750: rural 0 to 1.
		if i.Ordinary < 0 || i.Ordinary > 11.4 || i.MainLuxury < 0 || i.MainLuxury > 6 || i.GroupD < i.GroupDState || i.GroupD > 11.4 ||
			i.GroupDState != 7.6 || i.Rural < 0 || i.Rural > 1 || i.MainDeduction < 0 {
			return nil, fmt.Errorf("tax rates %s: an IMU rate is outside the law's range (L. 160/2019 art. 1 c.748-755)", y)
		}
		t := yr.TARI
		if t.TEFAPercent < 1 || t.TEFAPercent > 5 || !validBodyCode(t.ProvinceFiscalCode) || len(t.DueDates) == 0 {
			return nil, fmt.Errorf("tax rates %s: TEFA must be 1-5%% with the province's fiscal code and at least one due date", y)
		}
		for _, d := range t.DueDates {
			if !validDate(d) {
				return nil, fmt.Errorf("tax rates %s: due date %q", y, d)
			}
		}
	}
	return &r, nil
}

// Year is one year's rates.
func (r *Rates) Year(y int) (YearRates, bool) {
	yr, ok := r.Years[strconv.Itoa(y)]
	return yr, ok
}

// Multiplier is the IMU multiplier of a cadastral category (c.745): 160
// group A but A/10, and C/2, C/6, C/7; 140 group B and C/3, C/4, C/5; 80
// A/10 and D/5; 65 group D but D/5; 55 C/1. 0 for an unknown category.
func Multiplier(cat string) int64 {
	cat = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(cat), " ", ""))
	group, num, ok := strings.Cut(cat, "/")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n < 1 {
		return 0
	}
	switch group {
	case "A":
		if n == 10 {
			return 80
		}
		if n <= 11 {
			return 160
		}
	case "B":
		if n <= 8 {
			return 140
		}
	case "C":
		switch n {
		case 1:
			return 55
		case 2, 6, 7:
			return 160
		case 3, 4, 5:
			return 140
		}
	case "D":
		if n == 5 {
			return 80
		}
		if n <= 10 {
			return 65
		}
	}
	return 0
}

// IMUInput is a building as the resident describes it.
type IMUInput struct {
	// Rendita is the cadastral income at 1 January, in cents.
	Rendita  int64
	Category string
	// SharePercent is the share of ownership, 1-100.
	SharePercent int
	// Months held in the year (c.761: a month counts if held more than
	// half its days), 1-12.
	Months int
	// MainHome: the owner and household live and reside there (c.740).
	MainHome bool
	// Halved: listed, or unfit and unused (c.747).
	Halved bool
	Year   int
}

// IMUResult is the tax and how it was found.
type IMUResult struct {
	Base       int64   // taxable base, cents
	Multiplier int64   // c.745
	Permille   float64 // the rate applied
	Deduction  int64   // cents, main home A/1, A/8, A/9
	Tax        int64   // due to the town, cents
	State      int64   // due to the State (group D, F24 code 3925), cents
	Exempt     bool
	June, Dec  int64 // the two instalments (c.762)
	Rule       string
}

// ErrIMU names the field of an IMU input that is wrong.
type ErrIMU struct{ Field string }

func (e *ErrIMU) Error() string { return "imu: " + e.Field }

// CalculateIMU computes a building's IMU for a year (L. 160/2019 art. 1):
// base = rendita × 1.05 × multiplier (c.745), halved where c.747 applies;
// tax = base × rate × share × months / 12; a main home is exempt (c.740)
// but for A/1, A/8 and A/9, taxed at the main-home rate less the
// deduction, pro rata (c.748-749); group D pays the State's 7.6 per mille
// apart (c.753). Cents are rounded half up.
func (r *Rates) CalculateIMU(in IMUInput) (IMUResult, error) {
	yr, ok := r.Year(in.Year)
	switch {
	case !ok:
		return IMUResult{}, &ErrIMU{"year"}
	case in.Rendita <= 0 || in.Rendita > 1_000_000_00:
		return IMUResult{}, &ErrIMU{"rendita"}
	case Multiplier(in.Category) == 0:
		return IMUResult{}, &ErrIMU{"category"}
	case in.SharePercent < 1 || in.SharePercent > 100:
		return IMUResult{}, &ErrIMU{"share"}
	case in.Months < 1 || in.Months > 12:
		return IMUResult{}, &ErrIMU{"months"}
	}
	cat := strings.ToUpper(strings.ReplaceAll(in.Category, " ", ""))
	res := IMUResult{Multiplier: Multiplier(cat)}
	base := new(big.Rat).SetInt64(in.Rendita)
	base.Mul(base, big.NewRat(105*res.Multiplier, 100))
	if in.Halved {
		base.Mul(base, big.NewRat(1, 2))
	}
	res.Base = round(base)
	luxury := cat == "A/1" || cat == "A/8" || cat == "A/9"
	groupD := strings.HasPrefix(cat, "D/")
	pertinence := cat == "C/2" || cat == "C/6" || cat == "C/7"
	switch {
	case in.MainHome && !luxury && (strings.HasPrefix(cat, "A/") && cat != "A/10" || pertinence):
		res.Exempt, res.Rule = true, "c.740"
		return res, nil
	case in.MainHome && luxury:
		res.Permille, res.Rule = yr.IMU.MainLuxury, "c.748-749"
	case groupD:
		res.Permille, res.Rule = yr.IMU.GroupD, "c.753"
	default:
		res.Permille, res.Rule = yr.IMU.Ordinary, "c.754"
	}
	share := big.NewRat(int64(in.SharePercent)*int64(in.Months), 100*12)
	tax := new(big.Rat).Mul(base, permille(res.Permille))
	tax.Mul(tax, share)
	if in.MainHome && luxury {
		ded := new(big.Rat).SetInt64(yr.IMU.MainDeduction * 100)
		ded.Mul(ded, big.NewRat(int64(in.Months), 12))
		res.Deduction = round(ded)
		tax.Sub(tax, ded)
		if tax.Sign() < 0 {
			tax.SetInt64(0)
		}
	}
	total := round(tax)
	if groupD {
		st := new(big.Rat).Mul(base, permille(yr.IMU.GroupDState))
		st.Mul(st, share)
		res.State = min(round(st), total)
	}
	res.Tax = total - res.State
	res.June = res.Tax / 2
	res.Dec = res.Tax - res.June
	return res, nil
}

func permille(p float64) *big.Rat {
	r := new(big.Rat)
	r.SetFloat64(p)
	return r.Mul(r, big.NewRat(1, 1000))
}

// round rounds a amount of cents half up.
func round(r *big.Rat) int64 {
	n := new(big.Int).Mul(r.Num(), big.NewInt(2))
	n.Add(n, r.Denom())
	d := new(big.Int).Mul(r.Denom(), big.NewInt(2))
	return new(big.Int).Div(n, d).Int64()
}

// IMUPosition is the payable position of a result: the June and December
// instalments (c.762), or all of it by 16 June.
func IMUPosition(debtorCF string, in IMUInput, res IMUResult) NewPosition {
	y := in.Year
	p := NewPosition{DebtorCF: debtorCF, Category: IMU, Year: y, Amount: res.Tax, DueDate: fmt.Sprintf("%d-06-16", y), Source: "imu",
		Reason:     fmt.Sprintf("IMU %d — %s, rendita %s, quota %d%%, %d mesi", y, strings.ToUpper(in.Category), Euro(in.Rendita), in.SharePercent, in.Months),
		ExternalID: fmt.Sprintf("imu:%s:%d:%s:%d:%d:%d:%t:%t", debtorCF, y, strings.ToUpper(in.Category), in.Rendita, in.SharePercent, in.Months, in.MainHome, in.Halved)}
	if res.June > 0 && res.Dec > 0 {
		p.Single = true
		p.Instalments = []Instalment{{Amount: res.June, DueDate: fmt.Sprintf("%d-06-16", y)}, {Amount: res.Dec, DueDate: fmt.Sprintf("%d-12-16", y)}}
	}
	return p
}

// TARIPosition is a property's TARI for a year with the province's TEFA
// as a second transfer of each notice (DM MEF 21/10/2020): the TEFA is
// tefa_percent of the TARI, rounded half up to the cent, and each
// instalment carries its share of both. The metadata key follows
// pagoPA's dictionary (TARI-TEFA: cadastral code|year|tax code).
func (r *Rates) TARIPosition(debtorCF, debtorName, property, cadastralCode, townCF string, year int, tari int64, externalID string) (NewPosition, error) {
	yr, ok := r.Year(year)
	if !ok {
		return NewPosition{}, &ErrIMU{"year"}
	}
	t := yr.TARI
	tefa := round(new(big.Rat).Mul(new(big.Rat).SetInt64(tari), permilleOfPercent(t.TEFAPercent)))
	n := int64(len(t.DueDates))
	p := NewPosition{DebtorCF: debtorCF, DebtorName: debtorName, Category: TARI, Year: year, Amount: tari + tefa, DueDate: t.DueDates[0],
		Reason: fmt.Sprintf("TARI %d — %s", year, property), ExternalID: externalID, Source: "tari",
		Detail: fmt.Sprintf("TARI %s + TEFA %s (%g%%, %s)", EuroDot(tari), EuroDot(tefa), t.TEFAPercent, t.Province)}
	split := func(tariPart, tefaPart int64) []Transfer {
		ts := []Transfer{{CreditorCF: townCF, Amount: tariPart, Remittance: "TARI " + strconv.Itoa(year), Metadata: fmt.Sprintf("TARI-TEFA-1=%s|%d|TARI", cadastralCode, year)}}
		if tefaPart > 0 {
			ts = append(ts, Transfer{CreditorCF: t.ProvinceFiscalCode, Amount: tefaPart, Remittance: "TEFA " + strconv.Itoa(year), Metadata: fmt.Sprintf("TARI-TEFA-2=%s|%d|TEFA", cadastralCode, year)})
		}
		return ts
	}
	p.Transfers = split(tari, tefa)
	if n > 1 {
		p.Single = true
		var tariLeft, tefaLeft = tari, tefa
		for i, d := range t.DueDates {
			a, b := tari/n, tefa/n
			if int64(i) == n-1 {
				a, b = tariLeft, tefaLeft
			}
			tariLeft -= a
			tefaLeft -= b
			p.Instalments = append(p.Instalments, Instalment{Amount: a + b, DueDate: d, Transfers: split(a, b)})
		}
	}
	return p, nil
}

func permilleOfPercent(p float64) *big.Rat {
	r := new(big.Rat)
	r.SetFloat64(p)
	return r.Mul(r, big.NewRat(1, 100))
}
