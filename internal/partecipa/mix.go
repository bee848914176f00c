package partecipa

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// MixFresh mixes the fresh ballots of every consultation that has some:
// see mixTx.
func (s *Store) MixFresh(ctx context.Context) error {
	rows, err := s.DB.QueryContext(ctx, `SELECT id FROM partecipa_consultations c
		WHERE EXISTS (SELECT 1 FROM partecipa_ballots b WHERE b.consultation_id = c.id AND b.fresh = TRUE)`)
	if err != nil {
		return err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			_ = rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.mixConsultation(ctx, id, 0); err != nil {
			return err
		}
	}
	return nil
}

// mixConsultation mixes a consultation's fresh ballots a chunk at a time,
// so that casting in it waits for a short transaction only; at most
// chunks chunks when chunks > 0 (the office's click waits for those; the
// minute's job does the rest).
func (s *Store) mixConsultation(ctx context.Context, id string, chunks int) error {
	for i, more := 0, true; more && (chunks <= 0 || i < chunks); i++ {
		err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := getTx(ctx, tx, id, s.DB.ForUpdate()); err != nil {
				return err
			}
			n, err := s.mixTx(ctx, tx, id)
			more = n == mixChunk
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

type mixedBallot struct {
	id, answers, counted, channel string
	verified                      bool
}

// mixChunk is how many fresh ballots one transaction mixes. Chunks are
// drawn by random id from all the fresh ballots, so their size bounds only
// how long casting in the consultation waits, not how many ballots each
// could be told apart among (all those fresh at the mix).
const mixChunk = 500

// mixTx, holding the consultation's row (its ballot lock) exclusively,
// takes the consultation's fresh ballots (at most mixChunk, in the order
// of their random ids), deletes them and inserts them again in
// the order of their ids, which are random: each then carries the mix's
// transaction (PostgreSQL's xmin) and sits in an order unrelated to when
// it was cast. What changed since each ballot was last counted goes into
// the tallies, and every tally row is rewritten, so none keeps the
// transaction of the last ballot that changed it.
func (s *Store) mixTx(ctx context.Context, tx *sql.Tx, cid string) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, verified, answers, counted, channel FROM partecipa_ballots WHERE consultation_id = $1 AND fresh = TRUE
		ORDER BY id LIMIT `+strconv.Itoa(mixChunk), cid) // #nosec G202 -- a constant
	if err != nil {
		return 0, err
	}
	var batch []mixedBallot
	for rows.Next() {
		var b mixedBallot
		if err := rows.Scan(&b.id, &b.verified, &b.answers, &b.counted, &b.channel); err != nil {
			_ = rows.Close()
			return 0, err
		}
		batch = append(batch, b)
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(batch) == 0 {
		return 0, nil
	}
	type key struct {
		verified bool
		tallyKey
	}
	delta := map[key]int64{}
	// counter is the counter ballots' share of the verified tallies.
	counter := map[tallyKey]int64{}
	add := func(raw string, verified, atCounter bool, by int64) error {
		if raw == "" {
			return nil
		}
		var a Answers
		if err := json.Unmarshal([]byte(raw), &a); err != nil {
			return err
		}
		for _, k := range tallyKeys(a) {
			delta[key{verified, k}] += by
			if atCounter {
				counter[k] += by
			}
		}
		return nil
	}
	for _, b := range batch {
		if b.answers == b.counted {
			continue
		}
		if err := add(b.counted, b.verified, b.channel == ChannelCounter, -1); err != nil {
			return 0, err
		}
		if err := add(b.answers, b.verified, b.channel == ChannelCounter, 1); err != nil {
			return 0, err
		}
	}
	for start := 0; start < len(batch); start += 500 {
		part := batch[start:min(start+500, len(batch))]
		args := make([]any, len(part))
		marks := make([]string, len(part))
		for i, b := range part {
			args[i], marks[i] = b.id, "$"+strconv.Itoa(i+1)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM partecipa_ballots WHERE id IN (`+strings.Join(marks, ", ")+`)`, args...); err != nil { // #nosec G202 -- placeholders only
			return 0, err
		}
	}
	slices.SortFunc(batch, func(a, b mixedBallot) int { return strings.Compare(a.id, b.id) })
	const per = 1000
	for start := 0; start < len(batch); start += per {
		part := batch[start:min(start+per, len(batch))]
		var sb strings.Builder
		sb.WriteString(`INSERT INTO partecipa_ballots (id, consultation_id, verified, answers, counted, fresh, channel) VALUES `)
		args := make([]any, 0, 4*len(part)+1)
		args = append(args, cid)
		for i, b := range part {
			if i > 0 {
				sb.WriteString(", ")
			}
			n := len(args)
			sb.WriteString("($" + strconv.Itoa(n+1) + ", $1, $" + strconv.Itoa(n+2) + ", $" + strconv.Itoa(n+3) + ", $" + strconv.Itoa(n+3) + ", FALSE, $" + strconv.Itoa(n+4) + ")")
			// Counted, a ballot's channel is in the tallies and no longer on
			// the ballot: a counter ballot (never edited) written back as
			// online cannot be narrowed to the roll's counter subjects
			// (outside review M3).
			args = append(args, b.id, b.verified, b.answers, ChannelOnline)
		}
		if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
			return 0, err
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
			return 0, err
		}
	}
	for k, n := range counter {
		if n == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO partecipa_counter_tallies (consultation_id, question, answer, n) VALUES ($1, $2, $3, $4)
			ON CONFLICT (consultation_id, question, answer) DO UPDATE SET n = partecipa_counter_tallies.n + excluded.n`,
			cid, k.Question, k.Answer, n); err != nil {
			return 0, err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE partecipa_counter_tallies SET n = n WHERE consultation_id = $1`, cid); err != nil {
		return 0, err
	}
	if err := mixBreakdowns(ctx, tx, cid); err != nil {
		return 0, err
	}
	_, err = tx.ExecContext(ctx, `UPDATE partecipa_tallies SET n = n WHERE consultation_id = $1`, cid)
	return len(batch), err
}
