// Package feedback records the clarity rating every portal page carries
// ("Quanto sono chiare le informazioni su questa pagina?"). Answers are
// anonymous: the page, the stars, the reason, an optional short comment.
package feedback

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/web"
)

// MaxComment is the longest comment accepted, in characters.
const MaxComment = 200

// Rating is one answer.
type Rating struct {
	Path    string
	Stars   int
	Reason  string
	Comment string
	Lang    string
}

// ErrInvalid means the answer cannot be recorded as sent.
var ErrInvalid = errors.New("invalid rating")

// Validate checks a rating: a local path, 1 to 5 stars, a reason from the
// list matching the stars (or none), a short comment.
func (r Rating) Validate() error {
	if web.SafeNext(r.Path) != r.Path || len(r.Path) > 512 {
		return ErrInvalid
	}
	if r.Stars < 1 || r.Stars > 5 {
		return ErrInvalid
	}
	answers := web.FeedbackPositive
	if r.Stars <= 3 {
		answers = web.FeedbackNegative
	}
	if r.Reason != "" && !slices.Contains(answers, r.Reason) {
		return ErrInvalid
	}
	if !utf8.ValidString(r.Comment) || utf8.RuneCountInString(r.Comment) > MaxComment {
		return ErrInvalid
	}
	return nil
}

// Store keeps the ratings.
type Store struct{ DB *db.DB }

// Add records a valid rating.
func (s *Store) Add(ctx context.Context, r Rating) error {
	if err := r.Validate(); err != nil {
		return err
	}
	_, err := s.DB.ExecContext(ctx, `INSERT INTO page_feedback (path, rating, reason, comment, lang, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, r.Path, r.Stars, r.Reason, r.Comment, r.Lang, time.Now().UTC())
	return err
}

// Summary is the result of one page.
type Summary struct {
	Path    string
	Count   int
	Average float64
}

// Summaries returns every rated page with its number of answers and mean
// stars, the least clear first.
func (s *Store) Summaries(ctx context.Context) ([]Summary, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT path, COUNT(*), CAST(AVG(rating) AS DOUBLE PRECISION) FROM page_feedback GROUP BY path ORDER BY AVG(rating), path`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Summary
	for rows.Next() {
		var sm Summary
		if err := rows.Scan(&sm.Path, &sm.Count, &sm.Average); err != nil {
			return nil, err
		}
		out = append(out, sm)
	}
	return out, rows.Err()
}

// Handler receives the rating form posted from any page.
type Handler struct {
	App   *web.App
	Store *Store
}

// Submit handles POST /valutazione and returns the reader to the page they
// rated, with a thank-you or the reason nothing was recorded.
func (h *Handler) Submit(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 8<<10) {
		return
	}
	stars, _ := strconv.Atoi(r.PostForm.Get("rating"))
	rating := Rating{
		Path:    r.PostForm.Get("path"),
		Stars:   stars,
		Reason:  r.PostForm.Get("reason"),
		Comment: strings.TrimSpace(r.PostForm.Get("comment")),
		Lang:    h.App.I18n.Lang(r),
	}
	back := web.SafeNext(rating.Path)
	err := h.Store.Add(r.Context(), rating)
	switch {
	case errors.Is(err, ErrInvalid):
		redirect(w, r, back, "errore")
	case err != nil:
		h.App.Log.Error("store rating", "err", err, "request_id", web.RequestID(r.Context()))
		h.App.Error(w, r, http.StatusInternalServerError)
	default:
		redirect(w, r, back, "grazie")
	}
}

func redirect(w http.ResponseWriter, r *http.Request, path, outcome string) {
	http.Redirect(w, r, path+"?"+url.Values{"valutazione": {outcome}}.Encode()+"#feedback", http.StatusSeeOther)
}

// ResultsData is the content of the clarity results page.
type ResultsData struct {
	Pages []Summary
}

// Results serves the clarity ratings per page, the least clear first, for
// the back office (the caller wraps it with the role check).
func (h *Handler) Results(w http.ResponseWriter, r *http.Request) {
	sums, err := h.Store.Summaries(r.Context())
	if err != nil {
		h.App.Log.Error("rating results", "err", err, "request_id", web.RequestID(r.Context()))
		h.App.Error(w, r, http.StatusInternalServerError)
		return
	}
	page := h.App.NewPage(r, "feedback.results.title")
	page.Breadcrumb = []web.Crumb{{Label: page.T("backoffice.title"), Href: "/backoffice"}, {Label: page.Title}}
	page.Data = &ResultsData{Pages: sums}
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, http.StatusOK, "feedback_results", page)
}
