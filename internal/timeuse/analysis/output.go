package analysis

import (
	"bufio"
	"io"
	"math"
	"strconv"
	"strings"
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

// appendNum appends f with prec decimals, nothing when f is NaN.
func appendNum(b []byte, f float64, prec int) []byte {
	if math.IsNaN(f) {
		return b
	}
	return strconv.AppendFloat(b, f, 'f', prec, 64)
}

// The fields written are group names, day types, codes and numbers: none
// holds a comma, a quote or a line break, so rows are written as they are,
// without encoding/csv's per-field work (the files stay RFC 4180 CSV).

// WriteIndicators writes indicators.csv: one row per group, day type and
// 1- or 2-digit activity; minutes with two decimals, participation and CV
// as fractions with four; empty where suppressed or undefined.
func (r *Results) WriteIndicators(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	b := append([]byte(nil), strings.Join(indicatorColumns, ",")+"\n"...)
	for i := range r.Indicators {
		ind := &r.Indicators[i]
		b = append(b, r.Groups[ind.Group]...)
		b = append(b, ',')
		b = append(b, ResultDays[ind.Day]...)
		b = append(b, ',')
		b = append(b, ind.Activity...)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(ind.Respondents), 10)
		b = append(b, ',')
		b = appendNum(b, ind.DPR, 2)
		b = append(b, ',')
		b = appendNum(b, ind.Participation, 4)
		b = append(b, ',')
		b = appendNum(b, ind.DPP, 2)
		b = append(b, ',')
		b = appendNum(b, ind.SE, 2)
		b = append(b, ',')
		b = appendNum(b, ind.CV, 4)
		b = append(b, ',')
		b = append(b, ind.Status.String()...)
		b = append(b, '\n')
		if len(b) > 1<<15 {
			if _, err := bw.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	if _, err := bw.Write(b); err != nil {
		return err
	}
	return bw.Flush()
}

// WriteTempograms writes tempograms.csv: for each published group and day
// type, 144 slots (0 is 04:00-04:10) × the ten 1-digit activities, the
// share with four decimals; a row whose share is zero at that precision is
// left out (the file is long otherwise: 3,240 groups × 4 day types ×
// 1,440 rows), so a missing row means 0.
func (r *Results) WriteTempograms(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	b := append([]byte(nil), strings.Join(tempogramColumns, ",")+"\n"...)
	for g, name := range r.Groups {
		for day, dt := range ResultDays {
			shares, ok := r.Tempogram(g, day)
			if !ok {
				continue
			}
			for s := range Slots {
				for k := range nAct {
					sh := shares[s*nAct+k]
					if sh < 0.00005 {
						continue
					}
					b = append(b, name...)
					b = append(b, ',')
					b = append(b, dt...)
					b = append(b, ',')
					b = strconv.AppendInt(b, int64(s), 10)
					b = append(b, ',', byte('0'+k), ',')
					b = strconv.AppendFloat(b, sh, 'f', 4, 64)
					b = append(b, '\n')
				}
				if len(b) > 1<<15 {
					if _, err := bw.Write(b); err != nil {
						return err
					}
					b = b[:0]
				}
			}
		}
	}
	if _, err := bw.Write(b); err != nil {
		return err
	}
	return bw.Flush()
}
