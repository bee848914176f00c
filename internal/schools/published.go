package schools

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/throttle"
	"github.com/civico-pa/civico/internal/web"
)

// The published ranking (docs/SCHOOLS.md, "The published ranking"): once a
// service by ranking is ranked, its ranking is public, unit by unit, with
// each enrolment's application number (never a name or a fiscal code), its
// rank, what the ranking gave it (accepted, waiting) and where it stands
// now; as a page and as CSV and JSON.

// Protocol is an enrolment's application number, the one the parent's
// page shows and the published ranking lists: the first ten hex digits of
// its random id, grouped ("3F9A1-C07B2"). It says nothing of the child.
func Protocol(id string) string {
	if len(id) < 10 {
		return strings.ToUpper(id)
	}
	return strings.ToUpper(id[:5] + "-" + id[5:10])
}

// Protocol is the enrolment's application number.
func (e *Enrolment) Protocol() string { return Protocol(e.ID) }

// Ranked is one line of a published ranking.
type Ranked struct {
	Rank     int    `json:"position"`
	Protocol string `json:"protocol"`
	// Outcome is what the ranking gave (accepted, waiting); Status where
	// the enrolment stands now (accepted, waiting, withdrawn).
	Outcome Status `json:"outcome"`
	Status  Status `json:"status"`
}

// RankingPageSize is how many lines a page of a published ranking shows.
const RankingPageSize = 200

// ErrNotRanked is a service whose ranking is not published: first come,
// or not ranked yet.
var ErrNotRanked = ErrNotFound

// published checks the service's ranking is applied.
func published(svc *Service) error {
	if svc.Mode != Ranking || svc.RankedAt == nil {
		return ErrNotRanked
	}
	return nil
}

// RankedOf lists a unit's ranked enrolments in rank order, RankingPageSize
// from page, and how many there are. The ranked are the enrolments sent
// before the ranking (an enrolment of a service by ranking sent after the
// close is refused); their seq is their rank, and the ranking accepted
// those whose accepted_at is its instant.
func (s *Store) RankedOf(ctx context.Context, svc *Service, unitID string, page, size int) ([]Ranked, int, error) {
	if err := published(svc); err != nil {
		return nil, 0, err
	}
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM schools_enrolments WHERE unit_id = $1 AND created_at < $2`, unitID, *svc.RankedAt).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("schools: ranking: %w", err)
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT id, seq, status, accepted_at FROM schools_enrolments WHERE unit_id = $1 AND created_at < $2
		ORDER BY seq LIMIT $3 OFFSET $4`, unitID, *svc.RankedAt, size, (max(page, 1)-1)*size)
	if err != nil {
		return nil, 0, fmt.Errorf("schools: ranking: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []Ranked
	for rows.Next() {
		var id, status string
		var r Ranked
		var accepted sql.NullTime
		if err := rows.Scan(&id, &r.Rank, &status, &accepted); err != nil {
			return nil, 0, err
		}
		r.Protocol, r.Status, r.Outcome = Protocol(id), Status(status), Waiting
		if accepted.Valid && accepted.Time.Equal(*svc.RankedAt) {
			r.Outcome = Accepted
		}
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// RankingData is a published ranking's page: one unit's lines.
type RankingData struct {
	Service            *Service
	Unit               *Unit
	Lines              []Ranked
	Page, Pages, Total int
}

// RankedAtText is when the ranking was applied, Rome time.
func (d *RankingData) RankedAtText() string {
	return d.Service.RankedAt.In(rome).Format("02/01/2006 15:04")
}

func (h *Web) rankedService(w http.ResponseWriter, r *http.Request) (*Service, bool) {
	svc, err := h.Store.Service(r.Context(), r.PathValue("id"))
	if err == nil {
		err = published(svc)
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return nil, false
	}
	return svc, true
}

// ranking is the published ranking's page, a unit at a time (?unita=).
func (h *Web) ranking(w http.ResponseWriter, r *http.Request) {
	svc, ok := h.rankedService(w, r)
	if !ok {
		return
	}
	if len(svc.Units) == 0 {
		h.App.Fail(w, r, ErrNotFound)
		return
	}
	u := svc.Units[0]
	if id := r.URL.Query().Get("unita"); id != "" {
		if u, ok = svc.Unit(id); !ok {
			h.App.Fail(w, r, ErrNotFound)
			return
		}
	}
	page := pageOf(r)
	lines, total, err := h.Store.RankedOf(r.Context(), svc, u.ID, page, RankingPageSize)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	p := h.App.NewPage(r, "")
	p.Title = p.T("schools.ranking.title") + ": " + svc.Title + " " + svc.SchoolYear
	p.Breadcrumb = []web.Crumb{{Label: p.T("schools.title"), Href: Path}, {Label: svc.Title + " " + svc.SchoolYear, Href: Path + "/" + svc.ID},
		{Label: p.T("schools.ranking.title")}}
	p.Data = &RankingData{Service: svc, Unit: u, Lines: lines, Page: page, Total: total, Pages: max(1, (total+RankingPageSize-1)/RankingPageSize)}
	w.Header().Set("Cache-Control", "public, max-age=60")
	h.App.HTML(w, r, http.StatusOK, "schools_ranking", p)
}

// RankingExports is how many exports of published rankings a client may
// download in RankingExportWindow: the whole list is read each time.
const (
	RankingExports      = 30
	RankingExportWindow = time.Hour
)

// rankingExport writes the published ranking whole, as CSV or JSON.
func (h *Web) rankingExport(format string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		svc, ok := h.rankedService(w, r)
		if !ok {
			return
		}
		if h.Limiter != nil {
			err := h.Limiter.Take(r.Context(), nil, throttle.ClientKey("schools:ranking:", web.RemoteAddr(r), "",
				throttle.Rule{Free: RankingExports, Window: RankingExportWindow}))
			if refused, ok := errors.AsType[*throttle.Refused](err); ok {
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(refused.Wait.Seconds()))))
				http.Error(w, h.App.I18n.T(h.App.I18n.Lang(r), "schools.ranking.busy"), http.StatusTooManyRequests)
				return
			}
			if err != nil {
				h.App.Fail(w, r, err)
				return
			}
		}
		name := "graduatoria-" + svc.ID[:8] + "." + format
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		w.Header().Set("Cache-Control", "public, max-age=60")
		var err error
		if format == "csv" {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			err = h.Store.WriteRankingCSV(r.Context(), svc, w)
		} else {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			err = h.Store.WriteRankingJSON(r.Context(), svc, w)
		}
		if err != nil && h.Store.Log != nil {
			h.Store.Log.Error("schools: ranking export", "service", svc.ID, "err", err)
		}
	}
}

// eachUnitRanked calls fn with each unit's ranked lines, a page at a time.
func (s *Store) eachUnitRanked(ctx context.Context, svc *Service, fn func(u *Unit, lines []Ranked) error) error {
	for _, u := range svc.Units {
		for page := 1; ; page++ {
			lines, total, err := s.RankedOf(ctx, svc, u.ID, page, RankingPageSize)
			if err != nil {
				return err
			}
			if err := fn(u, lines); err != nil {
				return err
			}
			if page*RankingPageSize >= total {
				break
			}
		}
	}
	return nil
}

// RankingCSVHeader is the first line of a published ranking's CSV.
const RankingCSVHeader = "unita;posizione;numero_domanda;esito_graduatoria;stato_attuale"

// WriteRankingCSV writes the published ranking as CSV (";", the header
// RankingCSVHeader), unit by unit in rank order.
func (s *Store) WriteRankingCSV(ctx context.Context, svc *Service, w io.Writer) error {
	if err := published(svc); err != nil {
		return err
	}
	c := csv.NewWriter(w)
	c.Comma = ';'
	if err := c.Write(strings.Split(RankingCSVHeader, ";")); err != nil {
		return err
	}
	err := s.eachUnitRanked(ctx, svc, func(u *Unit, lines []Ranked) error {
		for _, l := range lines {
			if err := c.Write([]string{cell(u.Label), strconv.Itoa(l.Rank), l.Protocol, string(l.Outcome), string(l.Status)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.Flush()
	return c.Error()
}

// RankingJSON is a published ranking as JSON.
type RankingJSON struct {
	Service    string            `json:"service"`
	SchoolYear string            `json:"school_year"`
	RankedAt   time.Time         `json:"ranked_at"`
	Units      []RankingUnitJSON `json:"units"`
}

// RankingUnitJSON is a unit's part of RankingJSON.
type RankingUnitJSON struct {
	Unit     string   `json:"unit"`
	Capacity int      `json:"capacity"`
	Lines    []Ranked `json:"lines"`
}

// WriteRankingJSON writes the published ranking as JSON.
func (s *Store) WriteRankingJSON(ctx context.Context, svc *Service, w io.Writer) error {
	if err := published(svc); err != nil {
		return err
	}
	out := RankingJSON{Service: svc.Title, SchoolYear: svc.SchoolYear, RankedAt: *svc.RankedAt, Units: []RankingUnitJSON{}}
	err := s.eachUnitRanked(ctx, svc, func(u *Unit, lines []Ranked) error {
		if n := len(out.Units); n == 0 || out.Units[n-1].Unit != u.Label {
			out.Units = append(out.Units, RankingUnitJSON{Unit: u.Label, Capacity: u.Capacity, Lines: []Ranked{}})
		}
		out.Units[len(out.Units)-1].Lines = append(out.Units[len(out.Units)-1].Lines, lines...)
		return nil
	})
	if err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(out)
}

// cell keeps a spreadsheet from reading a unit's label as a formula (CSV
// injection): a leading =, +, - or @ gets an apostrophe.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
