package timeuse

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Which respondents an export holds: real answers only (the default),
// synthetic ones only, or both.
const (
	RealOnly      = "real"
	SyntheticOnly = "synthetic"
	AllRows       = "all"
)

// Columns of the dataset's files (issue 18; package analysis reads them).
var (
	RespondentColumns = []string{"respondent_id", "sex", "age", "age_band", "employment", "commuter", "children", "weight",
		"work_hours", "commute_destination", "commute_minutes", "commute_mode", "household_size", "children_ages", "education", "preferred_times", "synthetic"}
	DiaryColumns   = []string{"diary_id", "respondent_id", "day_type", "weight"}
	EpisodeColumns = []string{"diary_id", "start_min", "end_min", "activity", "secondary", "location", "with_whom"}
)

// Exported counts what an export wrote.
type Exported struct{ Respondents, Diaries, Episodes int }

func which(rows string) (string, error) {
	switch rows {
	case RealOnly, "":
		return ` WHERE r.synthetic = FALSE`, nil
	case SyntheticOnly:
		return ` WHERE r.synthetic = TRUE`, nil
	case AllRows:
		return "", nil
	}
	return "", fmt.Errorf("rows %q: real, synthetic or all", rows)
}

// ExportDir writes respondents.csv, diaries.csv and episodes.csv into dir
// (created if missing), each under a temporary name renamed into place
// once complete. progress (may be nil) is told the respondents written.
func (s *Store) ExportDir(ctx context.Context, dir, rows string, progress func(done int)) (Exported, error) {
	var n Exported
	where, err := which(rows)
	if err != nil {
		return n, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return n, err
	}
	err = writeFile(filepath.Join(dir, "respondents.csv"), func(w io.Writer) error {
		n.Respondents, err = s.exportRespondents(ctx, w, where, progress)
		return err
	})
	if err == nil {
		err = writeFile(filepath.Join(dir, "diaries.csv"), func(w io.Writer) error {
			n.Diaries, err = s.exportDiaries(ctx, w, where)
			return err
		})
	}
	if err == nil {
		err = writeFile(filepath.Join(dir, "episodes.csv"), func(w io.Writer) error {
			n.Episodes, err = s.exportEpisodes(ctx, w, where)
			return err
		})
	}
	return n, err
}

func writeFile(path string, fill func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600) // #nosec G304 -- the directory the operator named
	if err != nil {
		return err
	}
	err = fill(f)
	err = errors.Join(err, f.Sync(), f.Close())
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

func boolYN(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func weightText(w float64) string { return strconv.FormatFloat(w, 'f', -1, 64) }

func (s *Store) exportRespondents(ctx context.Context, out io.Writer, where string, progress func(int)) (int, error) {
	w := csv.NewWriter(out)
	if err := w.Write(RespondentColumns); err != nil {
		return 0, err
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT r.id, r.sex, r.age, r.employment, r.commuter, r.weight, r.work_hours, r.commute_destination,
		r.commute_minutes, r.commute_mode, r.household_size, r.children_ages, r.education, r.preferred_times, r.synthetic
		FROM timeuse_respondents r`+where+` ORDER BY r.id`) // #nosec G202 -- where is a constant clause (which)
	if err != nil {
		return 0, err
	}
	defer func() { _ = rows.Close() }()
	n := 0
	for rows.Next() {
		var id, sex, emp, dest, mode, ages, edu, pref string
		var age, hours, minutes, household int
		var commuter, synthetic bool
		var weight float64
		if err := rows.Scan(&id, &sex, &age, &emp, &commuter, &weight, &hours, &dest, &minutes, &mode, &household, &ages, &edu, &pref, &synthetic); err != nil {
			return n, err
		}
		list, _ := ParseAges(ages)
		if err := w.Write([]string{id, sex, strconv.Itoa(age), AgeBand(age), emp, boolYN(commuter), Children(list), weightText(weight),
			strconv.Itoa(hours), dest, strconv.Itoa(minutes), mode, strconv.Itoa(household), strings.ReplaceAll(ages, " ", ";"), edu,
			strings.ReplaceAll(pref, " ", ";"), boolYN(synthetic)}); err != nil {
			return n, err
		}
		n++
		if progress != nil && n%500 == 0 {
			progress(n)
		}
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	if progress != nil {
		progress(n)
	}
	w.Flush()
	return n, w.Error()
}

func (s *Store) exportDiaries(ctx context.Context, out io.Writer, where string) (int, error) {
	w := csv.NewWriter(out)
	if err := w.Write(DiaryColumns); err != nil {
		return 0, err
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT d.id, d.respondent_id, d.day_type, d.weight
		FROM timeuse_diaries d JOIN timeuse_respondents r ON r.id = d.respondent_id`+where+` ORDER BY d.id`) // #nosec G202 -- where is a constant clause (which)
	if err != nil {
		return 0, err
	}
	defer func() { _ = rows.Close() }()
	n := 0
	for rows.Next() {
		var id, rid, dt string
		var weight float64
		if err := rows.Scan(&id, &rid, &dt, &weight); err != nil {
			return n, err
		}
		if err := w.Write([]string{id, rid, dt, weightText(weight)}); err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	w.Flush()
	return n, w.Error()
}

func (s *Store) exportEpisodes(ctx context.Context, out io.Writer, where string) (int, error) {
	w := csv.NewWriter(out)
	if err := w.Write(EpisodeColumns); err != nil {
		return 0, err
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT e.diary_id, e.start_min, e.end_min, e.activity, e.secondary, e.location, e.with_whom
		FROM timeuse_episodes e JOIN timeuse_diaries d ON d.id = e.diary_id JOIN timeuse_respondents r ON r.id = d.respondent_id`+where+`
		ORDER BY e.diary_id, e.start_min`) // #nosec G202 -- where is a constant clause (which)
	if err != nil {
		return 0, err
	}
	defer func() { _ = rows.Close() }()
	n := 0
	for rows.Next() {
		var id, act, sec, loc, who string
		var start, end int
		if err := rows.Scan(&id, &start, &end, &act, &sec, &loc, &who); err != nil {
			return n, err
		}
		if err := w.Write([]string{id, strconv.Itoa(start), strconv.Itoa(end), act, sec, loc, who}); err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	w.Flush()
	return n, w.Error()
}
