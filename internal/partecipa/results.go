package partecipa

import (
	"context"
	"strconv"
	"strings"
)

// Channels of a result: the open survey (logins at low) and the verified
// answers (a proven identity), always apart; the verified answers given
// at a counter, apart from the online ones only when there are enough
// of them (Split).
const (
	Survey   = 0
	Verified = 1
	Counter  = 2
)

// DefaultMinCell is the fewest answers a published count of a group may
// stand for: a channel or a breakdown's cell with fewer is not shown.
const DefaultMinCell = 10

// nch is the number of channels.
const nch = 3

// Results are a consultation's counts as of the last mix.
type Results struct {
	// Ballots by channel (Survey, Verified, Counter).
	Ballots [nch]int64
	// Channels are the channels shown: Verified, and Survey for an open
	// survey, and Counter when Split.
	Channels []int
	// Split: the counter's answers are shown apart, and Verified counts
	// the online ones only. Without it (fewer counter ballots than the
	// smallest cell), the counter's answers are in Verified, and nothing
	// published tells them apart: not even their number.
	Split     bool
	Questions []QuestionResult
}

// QuestionResult is one question's counts.
type QuestionResult struct {
	Question Question
	Answered [nch]int64
	// Rows: a count per choice (single, multiple, scale), per option with
	// its mean position (ranking), per row and column (matrix).
	Rows []ResultRow
}

// ResultRow is one line of a question's table.
type ResultRow struct {
	Label string
	N     [nch]int64
	// Cells are a matrix row's counts per column; Mean a ranking
	// option's mean position (0 if nobody ranked it).
	Cells [][nch]int64
	Mean  [nch]float64
	// Pct is N as a share of those who answered the question.
	Pct [nch]string
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
	counts := map[tallyKey]*[nch]int64{}
	for rows.Next() {
		var verified bool
		var k tallyKey
		var n int64
		if err := rows.Scan(&verified, &k.Question, &k.Answer, &n); err != nil {
			return nil, err
		}
		if counts[k] == nil {
			counts[k] = &[nch]int64{}
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
	if err := s.counterCounts(ctx, c.ID, counts); err != nil {
		return nil, err
	}
	get := func(q, a string) [nch]int64 {
		if p := counts[tallyKey{q, a}]; p != nil {
			return *p
		}
		return [nch]int64{}
	}
	r := &Results{Ballots: get("", ""), Channels: []int{Verified}}
	// The counter's column is shown apart only once the consultation is
	// closed, and with at least MinCell answers: while it is open the
	// results change at each mix, and a counter answer's time is known to
	// whoever stands in the office, so the column's change from one mix to
	// the next would be one resident's answers (outside review M2).
	r.Split = c.State == StateClosed && r.Ballots[Counter] >= int64(s.minCell())
	for _, p := range counts {
		if r.Split {
			p[Verified] -= p[Counter]
		} else {
			p[Counter] = 0
		}
	}
	r.Ballots = get("", "")
	if r.Split {
		r.Channels = append(r.Channels, Counter)
	}
	if c.Survey() {
		r.Channels = append([]int{Survey}, r.Channels...)
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
				var sum [nch]int64
				for p := 1; p <= len(q.Options); p++ {
					n := get(q.ID, o.Key+"#"+strconv.Itoa(p))
					row.Cells = append(row.Cells, n)
					for ch := range nch {
						row.N[ch] += n[ch]
						sum[ch] += n[ch] * int64(p)
					}
				}
				for ch := range nch {
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
			for ch := range nch {
				qr.Rows[i].Pct[ch] = Pct(qr.Rows[i].N[ch], qr.Answered[ch])
			}
		}
		r.Questions = append(r.Questions, qr)
	}
	return r, nil
}

// counterCounts adds the counter's share of the verified tallies to counts.
func (s *Store) counterCounts(ctx context.Context, cid string, counts map[tallyKey]*[nch]int64) error {
	rows, err := s.DB.QueryContext(ctx, `SELECT question, answer, n FROM partecipa_counter_tallies WHERE consultation_id = $1`, cid)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k tallyKey
		var n int64
		if err := rows.Scan(&k.Question, &k.Answer, &n); err != nil {
			return err
		}
		if counts[k] == nil {
			counts[k] = &[nch]int64{}
		}
		counts[k][Counter] = n
	}
	return rows.Err()
}

func (s *Store) minCell() int {
	if s.MinCell > 0 {
		return s.MinCell
	}
	return DefaultMinCell
}
