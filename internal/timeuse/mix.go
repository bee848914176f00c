package timeuse

import (
	"context"
	"database/sql"
	"strings"
)

// MixChunk is how many fresh respondents one transaction of the mix
// rewrites.
const MixChunk = 500

// Mix rewrites the fresh respondents (those submissions wrote), MixChunk
// at a time in the order of their random ids: each is read, deleted with
// its diaries and episodes, and written again under new random ids, not
// fresh, in the mix's transaction. Afterwards no row of the dataset
// carries the transaction id (PostgreSQL's xmin) of the submission that
// also wrote the participation mark, and the rows of a chunk sit together
// in an order unrelated to the submissions'. It returns how many it
// rewrote. Safe to run again: a chunk is one transaction.
func (s *Store) Mix(ctx context.Context) (int, error) {
	total := 0
	for {
		n := 0
		err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, `SELECT id FROM timeuse_respondents WHERE fresh = TRUE ORDER BY id LIMIT $1`+s.DB.ForUpdate(), MixChunk) // #nosec G202 -- ForUpdate is a constant clause of the dialect
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
			if err := rows.Close(); err != nil {
				return err
			}
			var all []*Respondent
			for _, id := range ids {
				r, err := load(ctx, tx, id)
				if err != nil {
					return err
				}
				all = append(all, r)
			}
			for _, id := range ids {
				if _, err := tx.ExecContext(ctx, `DELETE FROM timeuse_respondents WHERE id = $1`, id); err != nil {
					return err
				}
			}
			for _, r := range all {
				if err := insertRow(ctx, tx, r, false, false); err != nil {
					return err
				}
			}
			n = len(ids)
			return nil
		})
		total += n
		if err != nil || n < MixChunk {
			return total, err
		}
	}
}

// load reads a respondent with their diaries and episodes.
func load(ctx context.Context, tx *sql.Tx, id string) (*Respondent, error) {
	r := &Respondent{ID: id}
	q := &r.Q
	var ages, pref string
	if err := tx.QueryRowContext(ctx, `SELECT synthetic, sex, age, employment, work_hours, commuter, commute_destination, commute_minutes, commute_mode,
		household_size, children_ages, education, preferred_times, weight FROM timeuse_respondents WHERE id = $1`, id).Scan(&r.Synthetic, &q.Sex, &q.Age,
		&q.Employment, &q.WorkHours, &q.Commuter, &q.Destination, &q.CommuteMinutes, &q.CommuteMode, &q.HouseholdSize, &ages, &q.Education, &pref, &r.Weight); err != nil {
		return nil, err
	}
	q.ChildrenAges, _ = ParseAges(ages)
	q.Preferred = strings.Fields(pref)
	rows, err := tx.QueryContext(ctx, `SELECT d.id, d.day_type, e.start_min, e.end_min, e.activity, e.secondary, e.location, e.with_whom
		FROM timeuse_diaries d JOIN timeuse_episodes e ON e.diary_id = d.id WHERE d.respondent_id = $1 ORDER BY d.day_type DESC, d.id, e.start_min`, id)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	last := ""
	for rows.Next() {
		var did, dt string
		var e Episode
		if err := rows.Scan(&did, &dt, &e.Start, &e.End, &e.Activity, &e.Secondary, &e.Location, &e.WithWhom); err != nil {
			return nil, err
		}
		if did != last {
			r.Diaries = append(r.Diaries, Diary{DayType: dt})
			last = did
		}
		d := &r.Diaries[len(r.Diaries)-1]
		d.Episodes = append(d.Episodes, e)
	}
	return r, rows.Err()
}
