package partecipa

import (
	"context"
	"strconv"
	"strings"
)

// Channels of a result: the open survey (logins at low) and the verified
// answers (a proven identity), always apart.
const (
	Survey   = 0
	Verified = 1
)

// Results are a consultation's counts as of the last mix.
type Results struct {
	// Ballots by channel (Survey, Verified).
	Ballots [2]int64
	// Channels are the channels shown: Verified, and Survey for an open
	// survey.
	Channels  []int
	Questions []QuestionResult
}

// QuestionResult is one question's counts.
type QuestionResult struct {
	Question Question
	Answered [2]int64
	// Rows: a count per choice (single, multiple, scale), per option with
	// its mean position (ranking), per row and column (matrix).
	Rows []ResultRow
}

// ResultRow is one line of a question's table.
type ResultRow struct {
	Label string
	N     [2]int64
	// Cells are a matrix row's counts per column; Mean a ranking
	// option's mean position (0 if nobody ranked it).
	Cells [][2]int64
	Mean  [2]float64
	// Pct is N as a share of those who answered the question.
	Pct [2]string
}

// Pct is n out of of, in percent with one decimal, as text.
func Pct(n, of int64) string {
	if of == 0 {
		return "0"
	}
	return strconv.FormatFloat(float64(n)*100/float64(of), 'f', 1, 64)
}

// Results reads a consultation's tallies: a few rows per question, the
// same work for a hundred ballots or a hundred thousand.
func (s *Store) Results(ctx context.Context, c *Consultation) (*Results, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT verified, question, answer, n FROM partecipa_tallies WHERE consultation_id = $1`, c.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	counts := map[tallyKey]*[2]int64{}
	for rows.Next() {
		var verified bool
		var k tallyKey
		var n int64
		if err := rows.Scan(&verified, &k.Question, &k.Answer, &n); err != nil {
			return nil, err
		}
		if counts[k] == nil {
			counts[k] = &[2]int64{}
		}
		ch := Survey
		if verified {
			ch = Verified
		}
		counts[k][ch] = n
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	get := func(q, a string) [2]int64 {
		if p := counts[tallyKey{q, a}]; p != nil {
			return *p
		}
		return [2]int64{}
	}
	r := &Results{Ballots: get("", ""), Channels: []int{Verified}}
	if c.Survey() {
		r.Channels = []int{Survey, Verified}
	}
	for _, q := range c.Questions {
		qr := QuestionResult{Question: q, Answered: get(q.ID, "")}
		switch q.Kind {
		case Single, Multiple, Scale:
			for _, o := range q.Choices() {
				label := o.Label
				if q.Kind == Scale {
					label = strings.TrimSpace(o.Key + " " + o.Label)
				}
				qr.Rows = append(qr.Rows, ResultRow{Label: label, N: get(q.ID, o.Key)})
			}
		case Ranking:
			for _, o := range q.Options {
				row := ResultRow{Label: o.Label}
				var sum [2]int64
				for p := 1; p <= len(q.Options); p++ {
					n := get(q.ID, o.Key+"#"+strconv.Itoa(p))
					row.Cells = append(row.Cells, n)
					for ch := range 2 {
						row.N[ch] += n[ch]
						sum[ch] += n[ch] * int64(p)
					}
				}
				for ch := range 2 {
					if row.N[ch] > 0 {
						row.Mean[ch] = float64(sum[ch]) / float64(row.N[ch])
					}
				}
				qr.Rows = append(qr.Rows, row)
			}
		case Matrix:
			for _, o := range q.Options {
				row := ResultRow{Label: o.Label}
				for _, col := range q.Columns {
					row.Cells = append(row.Cells, get(q.ID, o.Key+"="+col.Key))
				}
				qr.Rows = append(qr.Rows, row)
			}
		}
		for i := range qr.Rows {
			for ch := range 2 {
				qr.Rows[i].Pct[ch] = Pct(qr.Rows[i].N[ch], qr.Answered[ch])
			}
		}
		r.Questions = append(r.Questions, qr)
	}
	return r, nil
}
