package partecipa

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	tokens "github.com/civico-pa/civico/internal/token"
)

// Breakdowns by sex, age band and district (docs/PARTECIPA.md,
// "Breakdowns"): counted apart per dimension, from the provider's proven
// claims, as aggregate counts the mix keeps; published only once the
// consultation closed, with every shown cell standing for at least
// MinCell answers and enough others hidden that no hidden one can be
// worked out from what is published.

// Dimensions of the breakdowns.
var Dimensions = []string{"sex", "age_band", "district"}

// breakdownKeep is the part of a ballot the breakdowns count: the choices
// of single, multiple choice and scale questions.
func breakdownKeep(c *Consultation, a Answers) Answers {
	out := Answers{}
	for _, q := range c.Questions {
		switch q.Kind {
		case Single, Multiple, Scale:
			if ans, ok := a[q.ID]; ok && len(ans.Choices) > 0 {
				out[q.ID] = Answer{Choices: ans.Choices}
			}
		}
	}
	return out
}

// groupsOf are v's groups, per dimension ("" where no proof says).
func groupsOf(v *Viewer) map[string]string {
	g := map[string]string{"sex": v.Sex, "age_band": v.AgeBand, "district": ""}
	if v.ResidentKnown && v.Resident {
		g["district"] = v.District
	}
	return g
}

// keepBreakdowns writes, in the casting transaction, a row per dimension
// for the mix to count: the group and the choices, under a random key,
// with nothing that ties the three rows together, to the ballot or to v.
// Only verified ballots of consultations that are not editable (an edit
// could not find these rows again, and must not be able to).
func keepBreakdowns(ctx context.Context, tx *sql.Tx, c *Consultation, v *Viewer, a Answers) error {
	if c.Editable || !v.Level.ProvesIdentity() {
		return nil
	}
	raw, err := json.Marshal(breakdownKeep(c, a))
	if err != nil {
		return err
	}
	groups := groupsOf(v)
	for _, d := range Dimensions {
		if _, err := tx.ExecContext(ctx, `INSERT INTO partecipa_breakdown_fresh (id, consultation_id, dimension, grp, answers) VALUES ($1, $2, $3, $4, $5)`,
			tokens.ID(), c.ID, d, groups[d], string(raw)); err != nil {
			return err
		}
	}
	return nil
}

// mixBreakdowns, in the mix's transaction, counts the consultation's fresh
// breakdown rows into partecipa_breakdowns, deletes them, and rewrites
// every count (none keeps the transaction of the last ballot).
func mixBreakdowns(ctx context.Context, tx *sql.Tx, cid string) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, dimension, grp, answers FROM partecipa_breakdown_fresh WHERE consultation_id = $1
		ORDER BY id LIMIT `+strconv.Itoa(3*mixChunk), cid) // #nosec G202 -- a constant
	if err != nil {
		return err
	}
	type key struct{ dim, grp, q, a string }
	delta := map[key]int64{}
	var ids []any
	for rows.Next() {
		var id, dim, grp, raw string
		if err := rows.Scan(&id, &dim, &grp, &raw); err != nil {
			_ = rows.Close()
			return err
		}
		var a Answers
		if err := json.Unmarshal([]byte(raw), &a); err != nil {
			_ = rows.Close()
			return err
		}
		for _, k := range tallyKeys(a) {
			delta[key{dim, grp, k.Question, k.Answer}]++
		}
		ids = append(ids, id)
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	marks := make([]string, len(ids))
	for i := range ids {
		marks[i] = "$" + strconv.Itoa(i+1)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM partecipa_breakdown_fresh WHERE id IN (`+strings.Join(marks, ", ")+`)`, ids...); err != nil { // #nosec G202 -- placeholders only
		return err
	}
	for k, n := range delta {
		if _, err := tx.ExecContext(ctx, `INSERT INTO partecipa_breakdowns (consultation_id, dimension, grp, question, answer, n) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (consultation_id, dimension, grp, question, answer) DO UPDATE SET n = partecipa_breakdowns.n + excluded.n`,
			cid, k.dim, k.grp, k.q, k.a, n); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `UPDATE partecipa_breakdowns SET n = n WHERE consultation_id = $1`, cid)
	return err
}

// Cell is a published count, or a hidden one.
type Cell struct {
	N      int64
	Hidden bool
}

// BreakdownTable is one question's answers by the groups of one
// dimension: a row per group (the last, "", those no proof placed), a
// column per choice and a last one for how many of the group answered
// the question. The column totals are the question's results.
type BreakdownTable struct {
	Question  Question
	Dimension string
	Groups    []string
	// Columns are the choices' keys and labels; Cells[group][column],
	// the last column the group's total.
	Keys, Labels []string
	Cells        [][]Cell
}

// Breakdowns reads a closed consultation's breakdowns, suppressed
// (Suppress); nil while it is open, not yet counted, or editable.
func (s *Store) Breakdowns(ctx context.Context, c *Consultation) ([]BreakdownTable, error) {
	if c.Editable || c.State != StateClosed {
		return nil, nil
	}
	var fresh int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_breakdown_fresh WHERE consultation_id = $1`, c.ID).Scan(&fresh); err != nil || fresh > 0 {
		return nil, err
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT dimension, grp, question, answer, n FROM partecipa_breakdowns WHERE consultation_id = $1`, c.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type key struct{ dim, grp, q, a string }
	counts := map[key]int64{}
	groups := map[string][]string{}
	for rows.Next() {
		var k key
		var n int64
		if err := rows.Scan(&k.dim, &k.grp, &k.q, &k.a, &n); err != nil {
			return nil, err
		}
		counts[k] = n
		if !slices.Contains(groups[k.dim], k.grp) {
			groups[k.dim] = append(groups[k.dim], k.grp)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []BreakdownTable
	for _, q := range c.Questions {
		if q.Kind != Single && q.Kind != Multiple && q.Kind != Scale {
			continue
		}
		for _, dim := range Dimensions {
			gs := slices.Clone(groups[dim])
			// Known groups in order, the unknown last.
			slices.SortFunc(gs, func(a, b string) int {
				switch {
				case a == b:
					return 0
				case a == "":
					return 1
				case b == "":
					return -1
				}
				return strings.Compare(a, b)
			})
			// One group alone would say that every answer is that
			// group's: only tables of two groups or more.
			if len(gs) < 2 {
				continue
			}
			t := BreakdownTable{Question: q, Dimension: dim, Groups: gs}
			for _, o := range q.Choices() {
				label := o.Label
				if q.Kind == Scale {
					label = strings.TrimSpace(o.Key + " " + o.Label)
				}
				t.Keys, t.Labels = append(t.Keys, o.Key), append(t.Labels, label)
			}
			n := make([][]int64, len(gs))
			for i, g := range gs {
				for _, k := range t.Keys {
					n[i] = append(n[i], counts[key{dim, g, q.ID, k}])
				}
				n[i] = append(n[i], counts[key{dim, g, q.ID, ""}])
			}
			t.Cells = Suppress(n, int64(s.minCell()))
			out = append(out, t)
		}
	}
	return out, nil
}

// Suppress hides the cells of a table that stand for fewer than min
// answers (primary suppression), then, while some row or column has
// exactly one hidden cell, hides another of its cells, the smallest shown
// (secondary suppression), so that no hidden cell is the difference
// between a published total and the shown cells of its row or column.
// Rows are groups (all of them, the unknown included, so that a column
// adds up to the published result) and the last column is each group's
// total, so the rows add up across it and the totals column adds up to
// the question's published number of answers: every row and every column
// is a published sum.
func Suppress(n [][]int64, min int64) [][]Cell {
	out := make([][]Cell, len(n))
	for i, row := range n {
		out[i] = make([]Cell, len(row))
		for j, v := range row {
			out[i][j] = Cell{N: v, Hidden: v < min}
		}
	}
	if len(n) == 0 {
		return out
	}
	cols := len(n[0])
	for changed := true; changed; {
		changed = false
		// Rows.
		for i := range out {
			hidden, best := 0, -1
			for j := range out[i] {
				if out[i][j].Hidden {
					hidden++
				} else if best < 0 || out[i][j].N < out[i][best].N {
					best = j
				}
			}
			if hidden == 1 && best >= 0 {
				out[i][best].Hidden, changed = true, true
			}
		}
		// Columns.
		for j := range cols {
			hidden, best := 0, -1
			for i := range out {
				if out[i][j].Hidden {
					hidden++
				} else if best < 0 || out[i][j].N < out[best][j].N {
					best = i
				}
			}
			if hidden == 1 && best >= 0 {
				out[best][j].Hidden, changed = true, true
			}
		}
	}
	protect(out)
	return out
}

// protect hides more cells until no hidden cell is fixed by the published
// sums. Rows and columns are the nodes of a graph whose edges are the
// hidden cells; the sums are one equation per node, and a hidden cell's
// value is determined by them, whatever the others are, exactly when its
// edge lies on no cycle (a bridge): the equations' solutions differ by
// the graph's cycles, signed alternately. A line with one hidden cell is
// the simplest bridge, but not the only one: two rows and two columns
// together can pin a cell no single line does (outside review M1). For
// each bridge, protect hides the smallest shown cell that joins the two
// sides the bridge separates, closing a cycle through it, or, when none
// does, the smallest shown cell of the bridge's row or column to grow a
// side. With two rows and two columns at least, a table all hidden has no
// bridge, so it ends; a table of one row or one column cannot be
// protected and its caller does not publish it.
func protect(out [][]Cell) {
	rows := len(out)
	if rows == 0 {
		return
	}
	cols := len(out[0])
	for {
		bi, bj, side := bridge(out, rows, cols)
		if bi < 0 {
			return
		}
		// Join the sides: a shown cell with its row on one side and its
		// column on the other.
		best := [2]int{-1, -1}
		consider := func(i, j int) {
			if !out[i][j].Hidden && (best[0] < 0 || out[i][j].N < out[best[0]][best[1]].N) {
				best = [2]int{i, j}
			}
		}
		for i := range rows {
			for j := range cols {
				if side[i] != side[rows+j] {
					consider(i, j)
				}
			}
		}
		if best[0] < 0 {
			for j := range cols {
				consider(bi, j)
			}
			for i := range rows {
				consider(i, bj)
			}
		}
		if best[0] < 0 {
			// Nothing joins the sides (one row or one column): hide all.
			for i := range out {
				for j := range out[i] {
					out[i][j].Hidden = true
				}
			}
			return
		}
		out[best[0]][best[1]].Hidden = true
	}
}

// bridge finds a hidden cell whose edge is a bridge of the graph of
// hidden cells, with, for each node (rows first, then columns), whether it
// is on the bridge's column's side once the bridge is taken away; -1 when
// there is none.
func bridge(out [][]Cell, rows, cols int) (int, int, []bool) {
	adj := make([][]int, rows+cols)
	for i := range rows {
		for j := range cols {
			if out[i][j].Hidden {
				adj[i] = append(adj[i], rows+j)
				adj[rows+j] = append(adj[rows+j], i)
			}
		}
	}
	for i := range rows {
		for j := range cols {
			if !out[i][j].Hidden {
				continue
			}
			// Reach from the column without the edge (i, j).
			seen := make([]bool, rows+cols)
			stack := []int{rows + j}
			seen[rows+j] = true
			for len(stack) > 0 {
				v := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				for _, w := range adj[v] {
					if (v == i && w == rows+j) || (v == rows+j && w == i) || seen[w] {
						continue
					}
					seen[w] = true
					stack = append(stack, w)
				}
			}
			if !seen[i] {
				return i, j, seen
			}
		}
	}
	return -1, -1, nil
}
