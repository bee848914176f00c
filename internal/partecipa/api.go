package partecipa

import (
	"context"
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/civico-pa/civico/internal/problem"
)

// The Partecipa API (/api/v1 on Partecipa's origin, described by
// openapi.json): public consultations, their results as the publication
// policy allows, and proposals. Read only, anonymous, every list a page of
// at most PageSize; errors as App.FailJSON writes them.

//go:embed openapi.json
var openAPI []byte

// Licence is the licence of the open data: the results and the proposals.
const (
	Licence    = "CC-BY-4.0"
	LicenceURL = "https://creativecommons.org/licenses/by/4.0/"
)

func (p *Partecipa) apiRoutes() {
	m := p.App.For("partecipa")
	m.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openAPI)
	})
	m.HandleFunc("GET /api/v1/consultations", p.apiConsultations)
	m.HandleFunc("GET /api/v1/consultations/{id}", p.apiConsultation)
	m.HandleFunc("GET /api/v1/consultations/{id}/results", p.apiResults)
	m.HandleFunc("GET /api/v1/proposals", p.apiProposals)
	m.HandleFunc("GET /api/v1/proposals/{id}", p.apiProposal)
	m.HandleFunc("GET /consultazioni/{id}/risultati.csv", p.resultsCSV)
	m.HandleFunc("GET /dati-aperti", p.page("opendata", "partecipa.open.title"))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// apiPage reads ?page (1 when absent): a number from 1, or a 422.
func apiPage(r *http.Request) (int, error) {
	v := r.URL.Query().Get("page")
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1_000_000 {
		return 0, problem.Fields{"page": "partecipa.api.bad_page"}
	}
	return n, nil
}

// ListJSON is a page of a list.
type ListJSON[T any] struct {
	Items    []T `json:"items"`
	Total    int `json:"total"`
	Page     int `json:"page"`
	PageSize int `json:"page_size"`
}

// ConsultationJSON is a consultation as the API gives it.
type ConsultationJSON struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Summary string `json:"summary"`
	// Status is scheduled, open, closed or published.
	Status        string     `json:"status"`
	OpensAt       time.Time  `json:"opens_at"`
	ClosesAt      time.Time  `json:"closes_at"`
	MinLevel      string     `json:"min_level"`
	OpenSurvey    bool       `json:"open_survey"`
	ResidentsOnly bool       `json:"residents_only"`
	Districts     []string   `json:"districts"`
	AgeBands      []string   `json:"age_bands"`
	Editable      bool       `json:"editable"`
	LiveResults   bool       `json:"live_results"`
	ResultsPublic bool       `json:"results_public"`
	PublishedAt   *time.Time `json:"published_at,omitempty"`
	Questions     []Question `json:"questions,omitempty"`
	URL           string     `json:"url"`
}

func (p *Partecipa) consultationJSON(c *Consultation, now time.Time, questions bool) ConsultationJSON {
	j := ConsultationJSON{ID: c.ID, Title: c.Title, Summary: c.Summary, Status: c.Status(now), OpensAt: c.OpensAt, ClosesAt: c.ClosesAt,
		MinLevel: string(c.MinLevel), OpenSurvey: c.Survey(), ResidentsOnly: c.ResidentsOnly, Districts: nonNil(c.Districts), AgeBands: nonNil(c.AgeBands),
		Editable: c.Editable, LiveResults: c.LiveResults, ResultsPublic: c.ResultsPublic(now), PublishedAt: c.PublishedAt,
		URL: p.Auth.BaseURL + "/consultazioni/" + c.ID}
	if questions {
		j.Questions = c.Questions
	}
	return j
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (p *Partecipa) apiConsultations(w http.ResponseWriter, r *http.Request) {
	n, err := apiPage(r)
	if err != nil {
		p.App.FailJSON(w, r, err)
		return
	}
	list, total, err := p.Store.PublicPage(r.Context(), (n-1)*PageSize)
	if err != nil {
		p.App.FailJSON(w, r, err)
		return
	}
	now := p.Store.now()
	out := ListJSON[ConsultationJSON]{Items: []ConsultationJSON{}, Total: total, Page: n, PageSize: PageSize}
	for _, c := range list {
		out.Items = append(out.Items, p.consultationJSON(c, now, false))
	}
	writeJSON(w, out)
}

func (p *Partecipa) apiConsultation(w http.ResponseWriter, r *http.Request) {
	c, err := p.Store.Get(r.Context(), r.PathValue("id"), false)
	if err != nil {
		p.App.FailJSON(w, r, err)
		return
	}
	writeJSON(w, p.consultationJSON(c, p.Store.now(), true))
}

// ResultLine is one line of a consultation's results, the same in the CSV
// and the JSON export (the columns' meaning is on /dati-aperti).
type ResultLine struct {
	Question    string `json:"question"`
	Number      int    `json:"number"`
	Kind        string `json:"kind"`
	Text        string `json:"text"`
	Answer      string `json:"answer"`
	Label       string `json:"label"`
	Position    int    `json:"position,omitempty"`
	Column      string `json:"column,omitempty"`
	ColumnLabel string `json:"column_label,omitempty"`
	Channel     string `json:"channel"`
	Count       int64  `json:"count"`
	Answered    int64  `json:"answered"`
}

// ResultsJSON is a consultation's results as the API and the JSON export
// give them.
type ResultsJSON struct {
	Consultation ConsultationJSON `json:"consultation"`
	// Ballots by channel: verified, and survey for an open survey.
	Ballots map[string]int64 `json:"ballots"`
	Lines   []ResultLine     `json:"lines"`
	// Breakdowns are the counts by sex, age band and district, once the
	// consultation closed; a hidden cell (fewer answers than the
	// smallest published, or hidden so that the totals do not give one
	// away) has no count.
	Breakdowns []BreakdownLine `json:"breakdowns"`
	Licence    string          `json:"licence"`
	// LicenceURL, Attribution and Readme say how the data may be reused
	// and what each field means.
	LicenceURL  string `json:"licence_url"`
	Attribution string `json:"attribution"`
	Readme      string `json:"readme"`
}

// BreakdownLine is a cell of a breakdown: a question's answer ("" for
// how many of the group answered it) among a group ("" for those no
// proof placed) of a dimension (sex, age_band, district).
type BreakdownLine struct {
	Question  string `json:"question"`
	Dimension string `json:"dimension"`
	Group     string `json:"group"`
	Answer    string `json:"answer"`
	Count     *int64 `json:"count"`
	Hidden    bool   `json:"hidden,omitempty"`
}

func breakdownLines(bd []BreakdownTable) []BreakdownLine {
	out := []BreakdownLine{}
	for _, t := range bd {
		for i, g := range t.Groups {
			for j, cell := range t.Cells[i] {
				l := BreakdownLine{Question: t.Question.ID, Dimension: t.Dimension, Group: g, Hidden: cell.Hidden}
				if j < len(t.Keys) {
					l.Answer = t.Keys[j]
				}
				if !cell.Hidden {
					n := cell.N
					l.Count = &n
				}
				out = append(out, l)
			}
		}
	}
	return out
}

// channelKey names a channel in the open data: verified (every verified
// answer, or the online ones when the counter's are apart), counter,
// survey.
func (r *Results) channelKey(ch int) string {
	switch {
	case ch == Counter:
		return "counter"
	case ch == Verified && r.Split:
		return "online"
	case ch == Verified:
		return "verified"
	}
	return "survey"
}

// resultLines flattens a consultation's results: a line per question,
// answer (and position or column) and channel.
func resultLines(res *Results) []ResultLine {
	out := []ResultLine{}
	for i, q := range res.Questions {
		qq := q.Question
		for _, ch := range res.Channels {
			base := ResultLine{Question: qq.ID, Number: i + 1, Kind: qq.Kind, Text: qq.Text, Channel: res.channelKey(ch), Answered: q.Answered[ch]}
			switch qq.Kind {
			case Single, Multiple, Scale:
				for j, o := range qq.Choices() {
					l := base
					l.Answer, l.Label, l.Count = o.Key, o.Label, q.Rows[j].N[ch]
					out = append(out, l)
				}
			case Ranking:
				for j, o := range qq.Options {
					for pos, n := range q.Rows[j].Cells {
						l := base
						l.Answer, l.Label, l.Position, l.Count = o.Key, o.Label, pos+1, n[ch]
						out = append(out, l)
					}
				}
			case Matrix:
				for j, o := range qq.Options {
					for k, col := range qq.Columns {
						l := base
						l.Answer, l.Label, l.Column, l.ColumnLabel, l.Count = o.Key, o.Label, col.Key, col.Label, q.Rows[j].Cells[k][ch]
						out = append(out, l)
					}
				}
			default:
				// Free text: how many answered; the texts are not
				// published.
				l := base
				l.Count = q.Answered[ch]
				out = append(out, l)
			}
		}
	}
	return out
}

// publicResults reads a consultation's results if the publication policy
// lets the public see them now.
func (p *Partecipa) publicResults(ctx context.Context, id string) (*Consultation, *Results, error) {
	c, err := p.Store.Get(ctx, id, false)
	if err != nil {
		return nil, nil, err
	}
	if !c.ResultsPublic(p.Store.now()) {
		return nil, nil, problem.New(problem.Forbidden, "partecipa.api.results_not_public", nil)
	}
	res, err := p.Store.Results(ctx, c)
	return c, res, err
}

func (p *Partecipa) apiResults(w http.ResponseWriter, r *http.Request) {
	c, res, err := p.publicResults(r.Context(), r.PathValue("id"))
	if err != nil {
		p.App.FailJSON(w, r, err)
		return
	}
	page := p.App.NewPage(r, "")
	out := ResultsJSON{Consultation: p.consultationJSON(c, p.Store.now(), false), Ballots: map[string]int64{}, Lines: resultLines(res),
		Licence: Licence, LicenceURL: LicenceURL, Attribution: page.Town.Name, Readme: p.Auth.BaseURL + "/dati-aperti"}
	for _, ch := range res.Channels {
		out.Ballots[res.channelKey(ch)] = res.Ballots[ch]
	}
	bd, err := p.Store.Breakdowns(r.Context(), c)
	if err != nil {
		p.App.FailJSON(w, r, err)
		return
	}
	out.Breakdowns = breakdownLines(bd)
	if !c.LiveResults || c.PublishedAt != nil {
		w.Header().Set("Cache-Control", "public, max-age=60")
	}
	writeJSON(w, out)
}

// csvHeader is the CSV export's first line: ResultLine's fields.
var csvHeader = []string{"question", "number", "kind", "text", "answer", "label", "position", "column", "column_label", "channel", "count", "answered"}

// resultsCSV is the open-data export of a consultation's results, as the
// publication policy allows (/dati-aperti describes the columns).
func (p *Partecipa) resultsCSV(w http.ResponseWriter, r *http.Request) {
	c, res, err := p.publicResults(r.Context(), r.PathValue("id"))
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="risultati-`+c.ID+`.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	for _, l := range resultLines(res) {
		pos := ""
		if l.Position > 0 {
			pos = strconv.Itoa(l.Position)
		}
		_ = cw.Write([]string{l.Question, strconv.Itoa(l.Number), l.Kind, csvSafe(l.Text), l.Answer, csvSafe(l.Label), pos, l.Column, csvSafe(l.ColumnLabel), l.Channel,
			strconv.FormatInt(l.Count, 10), strconv.FormatInt(l.Answered, 10)})
	}
	cw.Flush()
}

// csvSafe keeps a spreadsheet from reading a cell as a formula (the
// office's texts start as they like).
func csvSafe(s string) string {
	if s != "" && slices.Contains([]byte("=+-@\t\r"), s[0]) {
		return "'" + s
	}
	return s
}

// ProposalJSON is a proposal as the API gives it; a hidden one is its id,
// its hiding and its reason only.
type ProposalJSON struct {
	ID           string     `json:"id"`
	Hidden       bool       `json:"hidden"`
	HiddenReason string     `json:"hidden_reason,omitempty"`
	Title        string     `json:"title,omitempty"`
	Body         string     `json:"body,omitempty"`
	Category     string     `json:"category,omitempty"`
	Address      string     `json:"address,omitempty"`
	Lat          *float64   `json:"lat,omitempty"`
	Lon          *float64   `json:"lon,omitempty"`
	Status       string     `json:"status,omitempty"`
	Supports     *int64     `json:"supports,omitempty"`
	Threshold    *int64     `json:"threshold,omitempty"`
	ReachedAt    *time.Time `json:"reached_at,omitempty"`
	AnswerDue    *time.Time `json:"answer_due,omitempty"`
	Answer       string     `json:"answer,omitempty"`
	AnsweredAt   *time.Time `json:"answered_at,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	URL          string     `json:"url"`
}

func (p *Partecipa) proposalJSON(pr *Proposal) ProposalJSON {
	j := ProposalJSON{ID: pr.ID, CreatedAt: pr.CreatedAt, URL: p.Auth.BaseURL + "/proposte/" + pr.ID}
	if pr.Hidden() {
		j.Hidden, j.HiddenReason = true, pr.HiddenReason
		return j
	}
	j.Title, j.Body, j.Category, j.Address, j.Status = pr.Title, pr.Body, pr.Category, pr.Address, pr.Status
	supports, threshold := pr.Supports, pr.Threshold
	j.Supports, j.Threshold, j.ReachedAt, j.AnswerDue, j.Answer, j.AnsweredAt = &supports, &threshold, pr.ReachedAt, pr.AnswerDue, pr.Answer, pr.AnsweredAt
	if pr.HasPoint {
		lat, lon := pr.Lat, pr.Lon
		j.Lat, j.Lon = &lat, &lon
	}
	return j
}

func (p *Partecipa) apiProposals(w http.ResponseWriter, r *http.Request) {
	n, err := apiPage(r)
	q := r.URL.Query()
	bad := problem.Fields{}
	if err != nil {
		bad["page"] = "partecipa.api.bad_page"
	}
	if c := q.Get("category"); c != "" && !slices.Contains(Categories, c) {
		bad["category"] = "partecipa.p.bad_category"
	}
	if s := q.Get("status"); s != "" && !slices.Contains(Statuses, s) {
		bad["status"] = "partecipa.p.bad_status"
	}
	if len(bad) > 0 {
		p.App.FailJSON(w, r, bad)
		return
	}
	list, total, err := p.Store.Proposals(r.Context(), ProposalQuery{Category: q.Get("category"), Status: q.Get("status"), Offset: (n - 1) * PageSize})
	if err != nil {
		p.App.FailJSON(w, r, err)
		return
	}
	out := ListJSON[ProposalJSON]{Items: []ProposalJSON{}, Total: total, Page: n, PageSize: PageSize}
	for _, pr := range list {
		out.Items = append(out.Items, p.proposalJSON(pr))
	}
	writeJSON(w, out)
}

func (p *Partecipa) apiProposal(w http.ResponseWriter, r *http.Request) {
	pr, err := p.Store.Proposal(r.Context(), r.PathValue("id"))
	if err != nil {
		p.App.FailJSON(w, r, err)
		return
	}
	writeJSON(w, p.proposalJSON(pr))
}

// PublicPage is a page of the consultations residents see (scheduled,
// open, closed), the open and scheduled first, and how many there are.
func (s *Store) PublicPage(ctx context.Context, offset int) ([]*Consultation, int, error) {
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_consultations WHERE state <> 'draft'`).Scan(&total); err != nil {
		return nil, 0, err
	}
	out, err := s.query(ctx, `SELECT `+consultationColumns+` FROM partecipa_consultations WHERE state <> 'draft'
		ORDER BY CASE WHEN closes_at > $1 THEN 0 ELSE 1 END, closes_at DESC, id LIMIT $2 OFFSET $3`, s.now(), PageSize, max(0, offset))
	return out, total, err
}
