package partecipa

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"

	"github.com/civico-pa/civico/internal/db"
)

// MixFresh mixes the fresh ballots of every consultation that has some:
// see mixTx.
func (s *Store) MixFresh(ctx context.Context) error {
	rows, err := s.DB.QueryContext(ctx, `SELECT DISTINCT consultation_id FROM partecipa_ballots WHERE fresh`)
	if err != nil {
		return err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
			if err := s.DB.Hold(ctx, tx, db.LockPartecipaBallots); err != nil {
				return err
			}
			return s.mixTx(ctx, tx, id, false)
		}); err != nil {
			return err
		}
	}
	return nil
}

type mixedBallot struct {
	id, answers, counted string
	verified             bool
}

// mixTx, under the exclusive ballot lock, takes the consultation's fresh
// ballots (all of them when whole), deletes them and inserts them again in
// the order of their ids, which are random: each then carries the mix's
// transaction (PostgreSQL's xmin) and sits in an order unrelated to when
// it was cast. What changed since each ballot was last counted goes into
// the tallies, and every tally row is rewritten, so none keeps the
// transaction of the last ballot that changed it.
func (s *Store) mixTx(ctx context.Context, tx *sql.Tx, cid string, whole bool) error {
	q := `SELECT id, verified, answers, counted FROM partecipa_ballots WHERE consultation_id = $1`
	if !whole {
		q += ` AND fresh`
	}
	rows, err := tx.QueryContext(ctx, q, cid)
	if err != nil {
		return err
	}
	var batch []mixedBallot
	for rows.Next() {
		var b mixedBallot
		if err := rows.Scan(&b.id, &b.verified, &b.answers, &b.counted); err != nil {
			rows.Close()
			return err
		}
		batch = append(batch, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(batch) == 0 {
		return nil
	}
	type key struct {
		verified bool
		tallyKey
	}
	delta := map[key]int64{}
	add := func(raw string, verified bool, by int64) error {
		if raw == "" {
			return nil
		}
		var a Answers
		if err := json.Unmarshal([]byte(raw), &a); err != nil {
			return err
		}
		for _, k := range tallyKeys(a) {
			delta[key{verified, k}] += by
		}
		return nil
	}
	for _, b := range batch {
		if b.answers == b.counted {
			continue
		}
		if err := add(b.counted, b.verified, -1); err != nil {
			return err
		}
		if err := add(b.answers, b.verified, 1); err != nil {
			return err
		}
	}
	del := `DELETE FROM partecipa_ballots WHERE consultation_id = $1`
	if !whole {
		del += ` AND fresh`
	}
	if _, err := tx.ExecContext(ctx, del, cid); err != nil {
		return err
	}
	slices.SortFunc(batch, func(a, b mixedBallot) int { return strings.Compare(a.id, b.id) })
	const per = 200
	for start := 0; start < len(batch); start += per {
		part := batch[start:min(start+per, len(batch))]
		var sb strings.Builder
		sb.WriteString(`INSERT INTO partecipa_ballots (id, consultation_id, verified, answers, counted, fresh) VALUES `)
		args := make([]any, 0, 4*len(part)+1)
		args = append(args, cid)
		for i, b := range part {
			if i > 0 {
				sb.WriteString(", ")
			}
			n := len(args)
			sb.WriteString("($" + itoa(n+1) + ", $1, $" + itoa(n+2) + ", $" + itoa(n+3) + ", $" + itoa(n+3) + ", FALSE)")
			args = append(args, b.id, b.verified, b.answers)
		}
		if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
			return err
		}
	}
	keys := make([]key, 0, len(delta))
	for k, n := range delta {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		if _, err := tx.ExecContext(ctx, `INSERT INTO partecipa_tallies (consultation_id, verified, question, answer, n) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (consultation_id, verified, question, answer) DO UPDATE SET n = partecipa_tallies.n + excluded.n`,
			cid, k.verified, k.Question, k.Answer, delta[k]); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `UPDATE partecipa_tallies SET n = n WHERE consultation_id = $1`, cid)
	return err
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
