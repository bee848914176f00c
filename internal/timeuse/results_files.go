package timeuse

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/timeuse/analysis"
)

// The downloads of the results (ResultFiles): the figures of the pages in
// the files `civico timeuse analyze` writes (same columns), the
// reachability and the proposals, everything as JSON, and a README of the
// columns and the licence. Suppressed figures are empty (null in JSON).

func csvNum(x Num, prec int) string {
	if !x.Valid() {
		return ""
	}
	return strconv.FormatFloat(float64(x), 'f', prec, 64)
}

// respondentsText is a cell's count, empty when too small to publish.
func respondentsText(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func writeIndicatorsCSV(w io.Writer, sum *Summary) {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"group", "day_type", "activity", "respondents", "dpr_min", "participation", "dpp_min", "se_dpr", "cv_dpr", "suppressed"})
	for _, g := range sum.Groups {
		for day, d := range g.Days {
			if d == nil {
				continue
			}
			for a, ind := range d.Indicators {
				_ = cw.Write([]string{g.Name, analysis.ResultDays[day], sum.Activities[a], respondentsText(d.Respondents), csvNum(ind.DPR, 2), csvNum(ind.P, 4),
					csvNum(ind.DPP, 2), csvNum(ind.SE, 2), csvNum(ind.CV, 4), ind.Status})
			}
		}
	}
	cw.Flush()
}

func writeTempogramsCSV(w io.Writer, sum *Summary) {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"group", "day_type", "slot", "activity", "share"})
	for _, g := range sum.Groups {
		for day, d := range g.Days {
			if d == nil || d.Tempogram == nil {
				continue
			}
			for i, v := range d.Tempogram {
				if v == 0 {
					continue
				}
				_ = cw.Write([]string{g.Name, analysis.ResultDays[day], strconv.Itoa(i / 10), strconv.Itoa(i % 10), strconv.FormatFloat(float64(v)/10000, 'f', 4, 64)})
			}
		}
	}
	cw.Flush()
}

func writeReachCSV(w io.Writer, sum *Summary) {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"group", "office_id", "office", "respondents", "share"})
	for _, g := range sum.Groups {
		if g.Reach == nil {
			continue
		}
		n := respondentsText(g.Reach.Respondents)
		if !g.Reach.Eligible {
			n = ""
		}
		_ = cw.Write([]string{g.Name, "", "any", n, csvNum(g.Reach.Share, 4)})
		for o, of := range sum.Offices {
			share := Num(math.NaN())
			if o < len(g.Reach.PerOffice) {
				share = g.Reach.PerOffice[o]
			}
			_ = cw.Write([]string{g.Name, of.ID, of.Name, n, csvNum(share, 4)})
		}
	}
	cw.Flush()
}

func writeProposalsCSV(w io.Writer, sum *Summary) {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"office_id", "office", "weekday", "from", "to", "least_served", "least_served_before", "least_served_after", "all_before", "all_after", "best"})
	for _, o := range sum.Offices {
		p := o.Proposal
		if p == nil {
			continue
		}
		best := "no"
		if sum.Best != nil && sum.Best.Office == p.Office {
			best = "yes"
		}
		_ = cw.Write([]string{p.Office, p.Name, strings.ToLower(p.Weekday.String()), p.FromText, p.ToText, p.LeastServed,
			csvNum(p.MinBefore, 4), csvNum(p.MinAfter, 4), csvNum(p.AllBefore, 4), csvNum(p.AllAfter, 4), best})
	}
	cw.Flush()
}

func writeJSON(w io.Writer, sum *Summary) error {
	enc := json.NewEncoder(w)
	return enc.Encode(sum)
}

// writeReadme writes README.txt: what the files hold, their columns and
// their licence, in Italian then English.
func writeReadme(w io.Writer, sum *Summary) {
	kind := "risposte reali"
	kindEN := "real answers"
	if sum.Synthetic {
		kind = "RISPOSTE SINTETICHE (dimostrazione: non descrivono la popolazione)"
		kindEN = "SYNTHETIC ANSWERS (a demonstration: they describe nobody)"
	}
	r := strings.NewReplacer(
		"{computed}", sum.Computed.UTC().Format(time.RFC3339),
		"{kind}", kind, "{kindEN}", kindEN,
		"{n}", strconv.Itoa(sum.Respondents),
		"{mincell}", strconv.Itoa(sum.MinCell),
		"{flag}", strconv.FormatFloat(100*sum.CVFlag, 'f', 1, 64),
		"{supp}", strconv.FormatFloat(100*sum.CVSuppress, 'f', 1, 64),
		"{travel}", strconv.Itoa(sum.Travel),
	)
	_, _ = io.WriteString(w, r.Replace(readme))
}

const readme = `Indagine sull'uso del tempo: risultati
=======================================

Calcolati il {computed} su {n} rispondenti ({kind}).
Gruppi: tutti ("all") e i gruppi di una chiave (sex, age_band, employment,
commuter, children); i gruppi di più chiavi si ottengono con
"civico timeuse analyze" sui dati anonimi.

File (UTF-8, CSV con virgole e riga d'intestazione):

indicators.csv  group, day_type, activity, respondents, dpr_min,
                participation, dpp_min, se_dpr, cv_dpr, suppressed
  group        "all" o chiave=valore (es. "sex=F", "age_band=25-34")
  day_type     weekday (feriale), saturday, sunday, week (settimana media:
               5/7 feriale, 1/7 sabato, 1/7 domenica)
  activity     codice HETUS a 1 o 2 cifre (es. "0" cura della persona,
               "01" sonno; lo zero iniziale fa parte del codice)
  respondents  rispondenti della cella; vuoto se meno di {mincell}
  dpr_min      minuti medi al giorno per rispondente
  participation quota (0-1) di chi svolge l'attività nel giorno
  dpp_min      minuti medi al giorno per chi la svolge (dpr = dpp × participation)
  se_dpr       errore standard di dpr (linearizzazione, rispondenti come grappoli)
  cv_dpr       coefficiente di variazione di dpr (se_dpr / dpr)
  suppressed   no (pubblicato); flag (CV oltre {flag}%: usare con cautela);
               cv (CV oltre {supp}%: non pubblicato); size (meno di {mincell}
               rispondenti); secondary (nascosto perché una cella soppressa
               non si ricavi dai totali). Le stime non pubblicate sono vuote.
tempograms.csv  group, day_type, slot, activity, share
  slot         intervallo di 10 minuti dalle 04:00 (0 = 04:00-04:10, 143 = 03:50-04:00)
  activity     codice HETUS a 1 cifra
  share        quota (0-1) del gruppo in quell'attività; le righe mancanti valgono 0;
               solo per le celle pubblicate
reachability.csv  group, office_id, office, respondents, share
  share        quota (0-1) dei giorni feriali del gruppo con almeno 30 minuti
               liberi consecutivi mentre l'ufficio è aperto, più {travel} minuti
               di viaggio all'andata e al ritorno (office "any": almeno un ufficio);
               vuota per i gruppi con meno di {mincell} rispondenti
proposals.csv  office_id, office, weekday, from, to, least_served,
               least_served_before, least_served_after, all_before, all_after, best
  per ogni ufficio, l'apertura settimanale in più di due ore che alza di più la
  raggiungibilità dei gruppi meno serviti (criterio leximin); best = yes per la
  migliore fra tutti gli uffici
results.json   tutto quanto sopra in un file (null dove una stima non è pubblicata)

Licenza: CC-BY 4.0 (https://creativecommons.org/licenses/by/4.0/deed.it),
come le note legali del sito; citare il Comune come fonte.

---

Time-use survey: results
========================

Computed at {computed} on {n} respondents ({kindEN}).
Groups: everyone ("all") and the groups of one key (sex, age_band,
employment, commuter, children); groups of several keys come from
"civico timeuse analyze" on the anonymous dataset.

The files are UTF-8 CSV with commas and a header row; the columns are as
described above in Italian: indicators.csv (dpr_min minutes per
respondent, participation the share doing the activity, dpp_min minutes
per participant, se_dpr and cv_dpr the standard error and coefficient of
variation of dpr; suppressed is no, flag (CV above {flag}%: use with
caution), cv (CV above {supp}%: withheld), size (fewer than {mincell}
respondents) or secondary (hidden so that a suppressed cell cannot be
recovered from totals)); tempograms.csv (the share of the group in each
1-digit activity per 10-minute slot from 04:00; missing rows are 0);
reachability.csv (the share of the group's weekdays with 30 free minutes
in a row while the office is open, plus {travel} minutes' travel each way);
proposals.csv (each office's extra two-hour weekly opening that raises
the least-served groups' reachability most); results.json (all of it).

Licence: CC-BY 4.0 (https://creativecommons.org/licenses/by/4.0/), as the
site's legal notes state; credit the town as the source.
`
