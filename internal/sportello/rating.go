package sportello

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/web"
)

// The national model's ease rating of a service (C.SE.1.7): "Quanto è
// stato facile usare questo servizio?" from 1 to 5 stars; then, below 4,
// what was difficult, from 4 what was liked (the model's five answers
// each), and a comment. One per application, kept per service.

// Rating is a resident's rating of the service, through an application.
type Rating struct {
	Score          int
	Answer, Detail string
}

// ErrRated: the application was rated already.
var ErrRated = problem.New(problem.Conflict, "sportello.rating.already", errors.New("already rated"))

// MaxComment bounds the rating's comment, in characters (the model's 200).
const MaxComment = 200

// Answers of the rating's second step: the model's wording, as the
// clarity rating of pages has it.
func ratingAnswers(score int) []string {
	if score < 4 {
		return web.FeedbackNegative
	}
	return web.FeedbackPositive
}

// Rate records the first step of the rating of one of the owner's
// submitted applications; a second rating of it is ErrRated.
func (s *Store) Rate(ctx context.Context, id string, o Owner, score int) error {
	if score < 1 || score > 5 {
		return problem.Fields{"score": "sportello.rating.error.score"}
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		a, err := s.lockTx(ctx, tx, id, &o)
		if err != nil {
			return err
		}
		if a.State == Draft {
			return ErrNotFound
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO sportello_ratings (application_id, service_id, score, at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (application_id) DO NOTHING`, a.ID, a.ServiceID, score, s.now())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrRated
		}
		return nil
	})
}

// RateDetails records the second step: one of the answers for the score,
// and a comment. Only once, after the stars.
func (s *Store) RateDetails(ctx context.Context, id string, o Owner, answer, comment string) error {
	comment = strings.TrimSpace(comment)
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.lockTx(ctx, tx, id, &o); err != nil {
			return err
		}
		var score int
		var old string
		err := tx.QueryRowContext(ctx, `SELECT score, answer FROM sportello_ratings WHERE application_id = $1`, id).Scan(&score, &old)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if old != "" {
			return ErrRated
		}
		fe := problem.Fields{}
		if !slices.Contains(ratingAnswers(score), answer) {
			fe["answer"] = "sportello.rating.error.answer"
		}
		if utf8.RuneCountInString(comment) > MaxComment || !utf8.ValidString(comment) {
			fe["comment"] = "sportello.rating.error.comment"
		}
		if len(fe) > 0 {
			return fe
		}
		_, err = tx.ExecContext(ctx, `UPDATE sportello_ratings SET answer = $1, comment = $2 WHERE application_id = $3`, answer, comment, id)
		return err
	})
}

// RatingOf is the rating of an application, if any.
func (s *Store) RatingOf(ctx context.Context, id string) (*Rating, error) {
	var r Rating
	err := s.DB.QueryRowContext(ctx, `SELECT score, answer, comment FROM sportello_ratings WHERE application_id = $1`, id).Scan(&r.Score, &r.Answer, &r.Detail)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &r, err
}

// ServiceRating is the ratings of a service: how many, their mean, and
// how many of each score.
type ServiceRating struct {
	Count   int
	Mean    float64
	ByScore [6]int
}

// Ratings are every service's ratings.
func (s *Store) Ratings(ctx context.Context) (map[string]*ServiceRating, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT service_id, score, COUNT(*) FROM sportello_ratings GROUP BY service_id, score`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*ServiceRating{}
	for rows.Next() {
		var id string
		var score, n int
		if err := rows.Scan(&id, &score, &n); err != nil {
			return nil, err
		}
		r := out[id]
		if r == nil {
			r = &ServiceRating{}
			out[id] = r
		}
		r.ByScore[score] += n
		r.Mean = (r.Mean*float64(r.Count) + float64(score*n)) / float64(r.Count+n)
		r.Count += n
	}
	return out, rows.Err()
}
