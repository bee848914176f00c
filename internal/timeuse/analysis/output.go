package analysis

import (
	"encoding/csv"
	"io"
	"math"
	"strconv"
)

var (
	indicatorColumns = []string{"group", "day_type", "activity", "respondents", "dpr_min", "participation", "dpp_min", "se_dpr", "cv_dpr", "suppressed"}
	tempogramColumns = []string{"group", "day_type", "slot", "activity", "share"}
)

// The output files of `civico timeuse analyze`.
const (
	IndicatorsFile = "indicators.csv"
	TempogramsFile = "tempograms.csv"
)

func num(f float64, prec int) string {
	if math.IsNaN(f) {
		return ""
	}
	return strconv.FormatFloat(f, 'f', prec, 64)
}

// WriteIndicators writes indicators.csv: one row per group, day type and
// 1- or 2-digit activity; minutes with two decimals, participation and CV
// as fractions with four; empty where suppressed or undefined.
func (r *Results) WriteIndicators(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(indicatorColumns)
	rec := make([]string, len(indicatorColumns))
	for i := range r.Indicators {
		ind := &r.Indicators[i]
		rec[0] = r.Groups[ind.Group]
		rec[1] = ResultDays[ind.Day]
		rec[2] = ind.Activity
		rec[3] = strconv.Itoa(ind.Respondents)
		rec[4] = num(ind.DPR, 2)
		rec[5] = num(ind.Participation, 4)
		rec[6] = num(ind.DPP, 2)
		rec[7] = num(ind.SE, 2)
		rec[8] = num(ind.CV, 4)
		rec[9] = ind.Status.String()
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteTempograms writes tempograms.csv: for each published group and day
// type, 144 slots (0 is 04:00-04:10) × the ten 1-digit activities, the
// share with six decimals.
func (r *Results) WriteTempograms(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(tempogramColumns)
	rec := make([]string, len(tempogramColumns))
	var slot [Slots]string
	for s := range slot {
		slot[s] = strconv.Itoa(s)
	}
	for g, name := range r.Groups {
		for day, dt := range ResultDays {
			shares, ok := r.Tempogram(g, day)
			if !ok {
				continue
			}
			rec[0], rec[1] = name, dt
			for s := range Slots {
				rec[2] = slot[s]
				for k := range nAct {
					rec[3] = strconv.Itoa(k)
					rec[4] = num(shares[s*nAct+k], 6)
					if err := cw.Write(rec); err != nil {
						return err
					}
				}
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
