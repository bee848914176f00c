// Package feedback records the clarity rating every portal page carries
// ("Quanto sono chiare le informazioni su questa pagina?"). Answers are
// anonymous: the page, the stars, the reason, an optional short comment.
//
// Which pages may be rated: those that showed the form, which carries a
// token binding it to the page's path (Tokens). How often: a client rates
// a page once a day and at most ClientRatings pages an hour, counted in the
// database (throttle) in the transaction that stores the rating.
package feedback

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/throttle"
	"github.com/civico-pa/civico/internal/web"
)

// MaxComment is the longest comment accepted, in characters.
const MaxComment = 200

// How often one client (an IPv4 address, an IPv6 /64: throttle.ClientKey)
// may rate. A reader answers the question once for a page: a second answer
// from the same connection the same day would only weigh the page twice
// (or be the browser sending the form again), so it is not stored. Thirty
// pages an hour is more than anyone reads with care, and keeps a script
// from filling the results. Readers behind one shared address (a school, a
// mobile operator's NAT) share these budgets: a few of their ratings may
// go unrecorded, which a sample of opinions can bear.
const (
	// ClientRatings is how many pages one client may rate in ClientWindow.
	ClientRatings = 30
	ClientWindow  = time.Hour
	// PageRatings is how many times one client may rate one page in
	// PageWindow.
	PageRatings = 1
	PageWindow  = 24 * time.Hour
)

// Tokens binds the rating form to the page that shows it: the form carries
// Sign(path), an HMAC of the page's path under a key only the server holds,
// and a rating is taken only with the token of its own path. A token is
// the same for every visitor of the page, so the page cache can still
// share the page, and checking it needs no lookup; only the pages civico
// rendered with the form (not error pages, whose path may be anything)
// give one out.
type Tokens struct {
	// Key is derived from the installation secret (CIVICO_SECRET_KEY); a
	// key shorter than MinTokenKey signs nothing and accepts nothing.
	Key []byte
}

// MinTokenKey is the shortest key Tokens uses, in bytes.
const MinTokenKey = 32

// tokenBytes is the length of a token before encoding: 128 bits, beyond
// guessing.
const tokenBytes = 16

// Sign returns the token of a page's path ("" without a usable key).
func (t Tokens) Sign(path string) string {
	if len(t.Key) < MinTokenKey {
		return ""
	}
	m := hmac.New(sha256.New, t.Key)
	m.Write([]byte(path))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:tokenBytes])
}

// Check reports whether token is the one of path.
func (t Tokens) Check(path, token string) bool {
	want := t.Sign(path)
	return want != "" && hmac.Equal([]byte(want), []byte(token))
}

// Rating is one answer.
type Rating struct {
	Path    string
	Stars   int
	Reason  string
	Comment string
	Lang    string
}

// Errors of Add: the answer cannot be recorded as sent; the client rated
// this page within PageWindow; the client rated ClientRatings pages within
// ClientWindow.
var (
	ErrInvalid = errors.New("invalid rating")
	ErrRepeat  = errors.New("page already rated by this client")
	ErrTooMany = errors.New("too many ratings from this client")
)

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
type Store struct {
	DB *db.DB
	// Limiter keeps the clients' budgets of ratings.
	Limiter *throttle.Limiter
}

// Add records a valid rating from client (the address web.RemoteAddr
// gives), drawing on the client's budgets in the same transaction: a
// rating refused is not counted, and one counted is stored.
func (s *Store) Add(ctx context.Context, r Rating, client string) error {
	if err := r.Validate(); err != nil {
		return err
	}
	page := throttle.ClientKey("rating:page:", client, " "+r.Path, throttle.Rule{Free: PageRatings, Window: PageWindow})
	all := throttle.ClientKey("rating:client:", client, "", throttle.Rule{Free: ClientRatings, Window: ClientWindow})
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.Limiter.Take(ctx, tx, page, all); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO page_feedback (path, rating, reason, comment, lang, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, r.Path, r.Stars, r.Reason, r.Comment, r.Lang, time.Now().UTC())
		return err
	})
	if refused, ok := errors.AsType[*throttle.Refused](err); ok {
		// Both budgets may be spent; the page's, when it is, says more.
		if refused.Key == page.Name {
			return ErrRepeat
		}
		return ErrTooMany
	}
	return err
}

// Summary is the result of one page.
type Summary struct {
	Path    string
	Count   int
	Average float64
}

// PerPage is how many rows a results page shows at once.
const PerPage = 50

// Summaries returns a page of the rated pages (offset, at most limit), each
// with its number of answers and mean stars, the least clear first, and
// how many pages were rated.
func (s *Store) Summaries(ctx context.Context, offset, limit int) ([]Summary, int, error) {
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(DISTINCT path) FROM page_feedback`).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT path, COUNT(*), CAST(AVG(rating) AS DOUBLE PRECISION) FROM page_feedback
		GROUP BY path ORDER BY AVG(rating), path LIMIT $1 OFFSET $2`, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []Summary
	for rows.Next() {
		var sm Summary
		if err := rows.Scan(&sm.Path, &sm.Count, &sm.Average); err != nil {
			return nil, 0, err
		}
		out = append(out, sm)
	}
	return out, total, rows.Err()
}

// ReasonCount is how many readers of a page gave one reason ("Altro" is
// counted apart for the satisfied and the dissatisfied).
type ReasonCount struct {
	Reason   string
	Positive bool // a reason of 4 or 5 stars
	Count    int
}

// Comment is one answer that carries a comment.
type Comment struct {
	Stars   int
	Reason  string
	Comment string
	Lang    string
	At      time.Time
}

// Detail is what a page's readers answered: its summary, the reasons
// given (most given first), and a page of its comments, newest first.
type Detail struct {
	Summary
	Reasons  []ReasonCount
	Comments []Comment
	// CommentCount is how many answers of the page carry a comment.
	CommentCount int
}

// ErrNoRatings means the page has no rating.
var ErrNoRatings = errors.New("no rating of this page")

// Detail returns what the readers of path answered, with the comments
// from offset (at most limit; none when limit is 0).
func (s *Store) Detail(ctx context.Context, path string, offset, limit int) (*Detail, error) {
	d := &Detail{Summary: Summary{Path: path}}
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(CAST(AVG(rating) AS DOUBLE PRECISION), 0),
		COUNT(CASE WHEN comment <> '' THEN 1 END) FROM page_feedback WHERE path = $1`, path).Scan(&d.Count, &d.Average, &d.CommentCount); err != nil {
		return nil, err
	}
	if d.Count == 0 {
		return nil, ErrNoRatings
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT reason, rating >= 4, COUNT(*) FROM page_feedback
		WHERE path = $1 AND reason <> '' GROUP BY reason, rating >= 4 ORDER BY COUNT(*) DESC, reason`, path)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var rc ReasonCount
		if err := rows.Scan(&rc.Reason, &rc.Positive, &rc.Count); err != nil {
			_ = rows.Close()
			return nil, err
		}
		d.Reasons = append(d.Reasons, rc)
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil || limit == 0 {
		return d, err
	}
	rows, err = s.DB.QueryContext(ctx, `SELECT rating, reason, comment, lang, created_at FROM page_feedback
		WHERE path = $1 AND comment <> '' ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`, path, limit, offset)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var c Comment
		if err := rows.Scan(&c.Stars, &c.Reason, &c.Comment, &c.Lang, &c.At); err != nil {
			return nil, err
		}
		d.Comments = append(d.Comments, c)
	}
	return d, rows.Err()
}

// Handler receives the rating form posted from any page.
type Handler struct {
	App    *web.App
	Store  *Store
	Tokens Tokens
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
	// A page that did not show the form (one that does not exist) gave
	// no token for its path.
	if tokens := r.PostForm["token"]; len(tokens) != 1 || !h.Tokens.Check(rating.Path, tokens[0]) {
		redirect(w, r, back, "errore")
		return
	}
	err := h.Store.Add(r.Context(), rating, web.RemoteAddr(r))
	switch {
	case errors.Is(err, ErrInvalid):
		redirect(w, r, back, "errore")
	case errors.Is(err, ErrRepeat):
		redirect(w, r, back, "ripetuta")
	case errors.Is(err, ErrTooMany):
		redirect(w, r, back, "troppe")
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
	Rows        []Summary
	Total       int // pages rated
	Page, Pages int // this page of results and how many there are
	Prev, Next  string
}

// pageNumber reads ?pagina=N (1 when absent); false for a number that is
// not one.
func pageNumber(r *http.Request) (int, bool) {
	v := r.URL.Query().Get("pagina")
	if v == "" {
		return 1, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 1 && n <= 100000
}

// pageHref is a results page's address with its page number.
func pageHref(path string, q url.Values, n int) string {
	q = maps.Clone(q)
	q.Del("pagina")
	if n > 1 {
		q.Set("pagina", strconv.Itoa(n))
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// pages is how many pages of PerPage rows total rows fill (at least one).
func pages(total int) int { return max(1, (total+PerPage-1)/PerPage) }

// Results serves the clarity ratings per page, the least clear first,
// PerPage at a time, for the back office (the caller wraps it with the
// role check).
func (h *Handler) Results(w http.ResponseWriter, r *http.Request) {
	n, ok := pageNumber(r)
	if !ok {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	sums, total, err := h.Store.Summaries(r.Context(), (n-1)*PerPage, PerPage)
	if err != nil {
		h.App.Log.Error("rating results", "err", err, "request_id", web.RequestID(r.Context()))
		h.App.Error(w, r, http.StatusInternalServerError)
		return
	}
	d := &ResultsData{Rows: sums, Total: total, Page: n, Pages: pages(total)}
	if n > d.Pages {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	if n > 1 {
		d.Prev = pageHref(r.URL.Path, nil, n-1)
	}
	if n < d.Pages {
		d.Next = pageHref(r.URL.Path, nil, n+1)
	}
	page := h.App.NewPage(r, "feedback.results.title")
	page.Breadcrumb = []web.Crumb{{Label: page.T("backoffice.title"), Href: "/backoffice"}, {Label: page.Title}}
	page.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, http.StatusOK, "feedback_results", page)
}

// DetailData is the content of a page's answers in the back office.
type DetailData struct {
	*Detail
	// ShowComments is false for the roles that see only the numbers.
	ShowComments bool
	Page, Pages  int
	Prev, Next   string
}

// DetailPath is where the back office shows a page's answers
// (?percorso=/the/page).
const DetailPath = "/backoffice/valutazioni/pagina"

// Detail serves what the readers of one page answered: the reasons they
// gave and, to CommentRoles only, their comments, PerPage at a time.
func (h *Handler) Detail(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Query().Get("percorso")
	n, ok := pageNumber(r)
	if !ok || path == "" || len(path) > 512 || web.SafeNext(path) != path {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	a, _ := identity.Current(r.Context())
	show := a != nil && slices.ContainsFunc(CommentRoles, a.HasRole)
	limit := 0
	if show {
		limit = PerPage
	}
	d, err := h.Store.Detail(r.Context(), path, (n-1)*PerPage, limit)
	if errors.Is(err, ErrNoRatings) {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	if err != nil {
		h.App.Log.Error("rating detail", "err", err, "request_id", web.RequestID(r.Context()))
		h.App.Error(w, r, http.StatusInternalServerError)
		return
	}
	data := &DetailData{Detail: d, ShowComments: show, Page: n, Pages: 1}
	if show {
		data.Pages = pages(d.CommentCount)
	}
	if n > data.Pages {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	q := url.Values{"percorso": {path}}
	if n > 1 {
		data.Prev = pageHref(DetailPath, q, n-1)
	}
	if n < data.Pages {
		data.Next = pageHref(DetailPath, q, n+1)
	}
	page := h.App.NewPage(r, "feedback.detail.title")
	page.Breadcrumb = []web.Crumb{{Label: page.T("backoffice.title"), Href: "/backoffice"},
		{Label: page.T("feedback.results.title"), Href: "/backoffice/valutazioni"}, {Label: path}}
	page.Data = data
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, http.StatusOK, "feedback_detail", page)
}
