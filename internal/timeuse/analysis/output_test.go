package analysis

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"strings"
	"testing"
)

func TestWriters(t *testing.T) {
	res, err := Compute(handDataset(), Options{MinCell: 1, CVFlag: 0.5, CVSuppress: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := res.WriteIndicators(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != "group,day_type,activity,respondents,dpr_min,participation,dpp_min,se_dpr,cv_dpr,suppressed" {
		t.Errorf("header %v", rows[0])
	}
	if len(rows) != len(res.Indicators)+1 {
		t.Errorf("%d rows for %d indicators", len(rows)-1, len(res.Indicators))
	}
	want := map[string][]string{
		// group,day,activity: respondents, dpr, p, dpp, se, cv, suppressed
		"all,weekday,82":  {"3", "448.75", "0.7500", "598.33", "217.47", "0.4846", "no"},
		"all,weekday,1":   {"3", "361.25", "0.5000", "722.50", "289.80", "0.8022", "flag"},
		"all,sunday,1":    {"1", "0.00", "0.0000", "", "", "", "no"},
		"sex=F,weekday,1": {"2", "722.50", "1.0000", "722.50", "237.50", "0.3287", "no"},
	}
	for _, r := range rows[1:] {
		w, ok := want[strings.Join(r[:3], ",")]
		if !ok {
			continue
		}
		for i, v := range w {
			if r[3+i] != v {
				t.Errorf("%v: column %s = %q, want %q", r[:3], rows[0][3+i], r[3+i], v)
			}
		}
		delete(want, strings.Join(r[:3], ","))
	}
	if len(want) > 0 {
		t.Errorf("rows missing: %v", want)
	}
	buf.Reset()
	if err := res.WriteTempograms(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err = csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != "group,day_type,slot,activity,share" {
		t.Errorf("header %v", rows[0])
	}
	sums := map[string]float64{}
	for _, r := range rows[1:] {
		f, err := strconv.ParseFloat(r[4], 64)
		if err != nil {
			t.Fatal(r, err)
		}
		sums[r[0]+","+r[1]+","+r[2]] += f
	}
	for k, s := range sums {
		if s < 1-1e-3 || s > 1+1e-3 { // ten shares rounded to 4 decimals
			t.Errorf("%s: shares sum to %v", k, s)
		}
	}
	// Zero shares are left out: at 04:00 everyone sleeps, the next row is
	// slot 1.
	if got := rows[2]; strings.Join(got, ",") != "all,weekday,1,0,1.0000" {
		t.Errorf("second row %v", got)
	}
	if got := rows[1]; strings.Join(got, ",") != "all,weekday,0,0,1.0000" {
		t.Errorf("first row %v", got)
	}
}
