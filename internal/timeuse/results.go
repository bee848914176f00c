package timeuse

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/cache"
	"github.com/civico-pa/civico/internal/timeuse/analysis"
)

// The results: the analysis engine run on the survey's answers by a job
// (timeuse.results), never by a request, and stored; the statistics
// office's pages read the latest, the public page the published one (see
// docs/TIMEUSE.md, "Results").

// Kinds of stored results.
const (
	// LatestResults are the job's last computation, for the statistics
	// office.
	LatestResults = "latest"
	// PublishedResults are the ones the office published, for everyone.
	PublishedResults = "published"
)

// Weighting is how the results job weighs the answers: the travel to an
// office, one way, in minutes (DefaultTravel when zero), and the town's
// population margins the diaries are post-stratified to (none: the
// diaries' own weights, 1).
type Weighting struct {
	Travel  int
	Margins analysis.Margins
}

// DefaultTravel is the time, one way, the reachability assumes to reach
// any office, in minutes: the catalogue has no travel times.
const DefaultTravel = 15

// summaryFormat changes when Summary does, so that the job computes again.
const summaryFormat = 1

// ResultsOffice is an office as the results read it: its catalogue id and
// name and its ordinary weekly openings.
type ResultsOffice struct {
	ID, Name string
	Openings []analysis.Opening
}

// Offices lists the town's offices with their ordinary weekly openings;
// cmd/civico joins it to the catalogue.
type Offices func(ctx context.Context) ([]ResultsOffice, error)

// Num is an estimate: NaN (undefined or suppressed) is null in JSON.
type Num float64

// MarshalJSON writes NaN as null and the rest with 6 significant digits.
func (n Num) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(n)) || math.IsInf(float64(n), 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, float64(n), 'g', 6, 64), nil
}

// UnmarshalJSON reads null as NaN.
func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Num(math.NaN())
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	*n = Num(f)
	return err
}

// Valid reports whether the estimate is there.
func (n Num) Valid() bool { return !math.IsNaN(float64(n)) }

// Summary is what the results pages and their downloads show: the groups
// of the whole population and of one key (sex, age band, employment,
// commuting, children), each on the three day types and the average week,
// and the reachability of the offices. The CLI (`civico timeuse analyze`)
// writes every group of several keys too.
type Summary struct {
	Computed time.Time `json:"computed"`
	// Synthetic: computed on the synthetic respondents, because there is
	// no real answer yet.
	Synthetic   bool `json:"synthetic"`
	Respondents int  `json:"respondents"`
	Diaries     int  `json:"diaries"`
	// The disclosure rules the engine applied.
	MinCell    int     `json:"min_cell"`
	CVFlag     float64 `json:"cv_flag"`
	CVSuppress float64 `json:"cv_suppress"`
	// Activities are the 1- and 2-digit codes of each day's indicators.
	Activities []string `json:"activities"`
	Groups     []Group  `json:"groups"`
	// Offices and the reachability (nil when there is no weekday diary or
	// no office).
	Offices []OfficeResult `json:"offices,omitempty"`
	Travel  int            `json:"travel_min"`
	// Weighted: the diaries were post-stratified to the town's population
	// margins (Weighting.Margins); MarginsError says why margins given
	// could not be applied (the results are then unweighted).
	Weighted     bool   `json:"weighted,omitempty"`
	MarginsError string `json:"margins_error,omitempty"`
	// Best is the one extra opening, at any office, that raises the
	// least-served groups' reachability most (nil when none raises it).
	Best *Proposal `json:"best,omitempty"`
}

// Group is a target group's results.
type Group struct {
	Name  string `json:"group"`           // "all", "sex=F"
	Key   string `json:"key,omitempty"`   // "sex"; empty for all
	Value string `json:"value,omitempty"` // "F"
	Days  []*Day `json:"days"`            // by analysis.ResultDays; nil when no diary
	Reach *Reach `json:"reach,omitempty"` // weekdays; nil when no weekday diary
}

// Day is a group on one day type.
type Day struct {
	Respondents int `json:"respondents"`
	// Status is the cell's disclosure status: "no" (published), "size"
	// (too few respondents: Respondents is then 0, not said) or
	// "secondary".
	Status     string      `json:"status"`
	Indicators []Indicator `json:"indicators"` // by Summary.Activities
	// Tempogram is the share of the group in each 1-digit activity
	// (slot*10+activity) in ten-thousandths; nil when not published.
	Tempogram []uint16 `json:"tempogram,omitempty"`
}

// Indicator is one activity's estimates, as the engine gives them.
type Indicator struct {
	DPR    Num    `json:"dpr_min"`
	P      Num    `json:"participation"`
	DPP    Num    `json:"dpp_min"`
	SE     Num    `json:"se_dpr"`
	CV     Num    `json:"cv_dpr"`
	Status string `json:"suppressed"` // analysis.Status's values: no, flag, cv, size, secondary
}

// Reach is a group's reachability on weekdays: the share with a window to
// reach any office, and each office (by Summary.Offices). Neither the
// shares nor the count of a group with fewer than MinCell respondents
// are kept.
type Reach struct {
	Respondents int   `json:"respondents"`
	Eligible    bool  `json:"eligible"`
	Share       Num   `json:"share"`
	PerOffice   []Num `json:"per_office,omitempty"`
}

// OfficeResult is an office of the reachability, and the extra opening
// proposed there.
type OfficeResult struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Proposal *Proposal `json:"proposal,omitempty"`
}

// Proposal is an extra weekly two-hour opening the recommender proposes.
type Proposal struct {
	Office   string       `json:"office"` // the office's id
	Name     string       `json:"office_name"`
	Weekday  time.Weekday `json:"weekday"`
	From, To int          `json:"-"` // minutes since midnight
	// FromText and ToText are From and To as HH:MM.
	FromText    string `json:"from"`
	ToText      string `json:"to"`
	LeastServed string `json:"least_served"`
	MinBefore   Num    `json:"least_served_before"`
	MinAfter    Num    `json:"least_served_after"`
	AllBefore   Num    `json:"all_before"`
	AllAfter    Num    `json:"all_after"`
	// Gains are the groups of one key whose share it raises, most first.
	Gains []Gain `json:"gains"`
}

// Gain is a group's reachability before and after a proposal.
type Gain struct {
	Group       string `json:"group"`
	Respondents int    `json:"respondents"`
	Before      Num    `json:"before"`
	After       Num    `json:"after"`
}

// Summarize runs the engine on ds (valid) and keeps what the pages show.
// offices may be empty (no reachability).
func Summarize(ds *analysis.Dataset, offices []ResultsOffice, travel int) (*Summary, error) {
	res, err := analysis.Compute(ds, analysis.Options{})
	if err != nil {
		return nil, err
	}
	sum := &Summary{Respondents: len(ds.Respondents), Diaries: len(ds.Diaries), MinCell: analysis.DefaultMinCell,
		CVFlag: analysis.DefaultCVFlag, CVSuppress: analysis.DefaultCVSuppress, Activities: res.Activities, Travel: travel}
	// "all" and the groups of one key come first (analysis.Results).
	index := map[string]int{}
	for g, name := range res.Groups {
		if strings.Contains(name, "&") {
			break
		}
		gr := Group{Name: name, Days: make([]*Day, len(analysis.ResultDays))}
		gr.Key, gr.Value, _ = strings.Cut(name, "=")
		if name == "all" {
			gr.Key = ""
		}
		index[name] = g
		sum.Groups = append(sum.Groups, gr)
	}
	for i := range res.Indicators {
		ind := &res.Indicators[i]
		if ind.Group >= len(sum.Groups) {
			break // by group: the rest are groups of several keys
		}
		days := sum.Groups[ind.Group].Days
		d := days[ind.Day]
		if d == nil {
			d = &Day{Respondents: ind.Respondents, Status: res.CellStatus(ind.Group, ind.Day).String(),
				Indicators: make([]Indicator, 0, len(res.Activities))}
			if d.Status == analysis.SuppressedSize.String() {
				d.Respondents = 0 // fewer than MinCell: not said how many
			}
			if shares, ok := res.Tempogram(ind.Group, ind.Day); ok {
				d.Tempogram = make([]uint16, len(shares))
				for k, s := range shares {
					d.Tempogram[k] = uint16(math.Round(max(0, min(1, s)) * 10000)) // #nosec G115 -- a share 0-1 in ten-thousandths
				}
			}
			days[ind.Day] = d
		}
		d.Indicators = append(d.Indicators, Indicator{DPR: Num(ind.DPR), P: Num(ind.Participation), DPP: Num(ind.DPP), SE: Num(ind.SE),
			CV: Num(ind.CV), Status: ind.Status.String()})
	}
	weekdays := 0
	for _, d := range ds.Diaries {
		if d.DayType == "weekday" {
			weekdays++
		}
	}
	if len(offices) == 0 || weekdays == 0 {
		return sum, nil
	}
	aoffs := make([]analysis.Office, len(offices))
	for i, o := range offices {
		aoffs[i] = analysis.Office{Name: o.Name, Openings: o.Openings, Travel: travel}
		sum.Offices = append(sum.Offices, OfficeResult{ID: o.ID, Name: o.Name})
	}
	recs, before, err := analysis.RecommendEach(ds, aoffs, analysis.ReachOptions{})
	if err != nil {
		return nil, err
	}
	for _, gr := range before.Groups {
		g, ok := index[gr.Group]
		if !ok {
			continue
		}
		r := &Reach{Eligible: gr.Eligible, Share: Num(math.NaN())}
		if gr.Eligible {
			r.Respondents = gr.Respondents
			r.Share = Num(gr.Share)
			for _, s := range gr.PerOffice {
				r.PerOffice = append(r.PerOffice, Num(s))
			}
		}
		sum.Groups[g].Reach = r
	}
	var best *analysis.Recommendation
	for o, rec := range recs {
		// No group large enough to publish (the engine still weighs
		// everyone's share): no proposal, which would tell of a few.
		if rec == nil || rec.LeastServed == "" {
			continue
		}
		sum.Offices[o].Proposal = proposalOf(rec, offices, index)
		if best == nil || betterProposal(rec, best) {
			best = rec
		}
	}
	if best != nil {
		sum.Best = proposalOf(best, offices, index)
	}
	return sum, nil
}

// betterProposal: a raises the least-served group more than b, then
// everyone more; ties keep the earlier office (analysis.Recommend's full
// leximin order over every group is kept for the CLI).
func betterProposal(a, b *analysis.Recommendation) bool {
	const eps = 1e-12
	if a.MinAfter != b.MinAfter {
		return a.MinAfter > b.MinAfter+eps
	}
	return a.AllAfter > b.AllAfter+eps
}

func proposalOf(rec *analysis.Recommendation, offices []ResultsOffice, index map[string]int) *Proposal {
	p := &Proposal{Office: offices[rec.Office].ID, Name: rec.Name, Weekday: rec.Opening.Weekday, From: rec.Opening.From, To: rec.Opening.To,
		FromText: analysis.Clock(rec.Opening.From), ToText: analysis.Clock(rec.Opening.To), LeastServed: rec.LeastServed,
		MinBefore: Num(rec.MinBefore), MinAfter: Num(rec.MinAfter), AllBefore: Num(rec.AllBefore), AllAfter: Num(rec.AllAfter)}
	for i, g := range rec.Before.Groups {
		a := rec.After.Groups[i]
		if _, ok := index[g.Group]; !ok || !g.Eligible || g.Group == "all" || a.Share <= g.Share+1e-12 {
			continue
		}
		p.Gains = append(p.Gains, Gain{Group: g.Group, Respondents: g.Respondents, Before: Num(g.Share), After: Num(a.Share)})
	}
	slices.SortStableFunc(p.Gains, func(x, y Gain) int {
		dx, dy := float64(x.After-x.Before), float64(y.After-y.Before)
		switch {
		case dx > dy:
			return -1
		case dx < dy:
			return 1
		}
		return 0
	})
	return p
}

// UnmarshalJSON restores From and To from their texts.
func (p *Proposal) UnmarshalJSON(b []byte) error {
	type plain Proposal
	if err := json.Unmarshal(b, (*plain)(p)); err != nil {
		return err
	}
	var err1, err2 error
	p.From, err1 = clockMinutes(p.FromText)
	p.To, err2 = clockMinutes(p.ToText)
	return errors.Join(err1, err2)
}

func clockMinutes(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	return hh*60 + mm, nil
}

// Dataset reads the mixed answers (not those the mix has still to
// rewrite) as the engine's dataset: real ones, or synthetic ones.
func (s *Store) Dataset(ctx context.Context, synthetic bool) (*analysis.Dataset, error) {
	ds := &analysis.Dataset{}
	rows, err := s.DB.QueryContext(ctx, `SELECT id, sex, age, employment, commuter, children_ages, weight FROM timeuse_respondents
		WHERE fresh = FALSE AND synthetic = $1 ORDER BY id`, synthetic)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var r analysis.Respondent
		var commuter bool
		var ages string
		if err := rows.Scan(&r.ID, &r.Sex, &r.Age, &r.Employment, &commuter, &ages, &r.Weight); err != nil {
			_ = rows.Close()
			return nil, err
		}
		list, _ := ParseAges(ages)
		r.AgeBand, r.Commuter, r.Children = AgeBand(r.Age), boolYN(commuter), Children(list)
		ds.Respondents = append(ds.Respondents, r)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	rows, err = s.DB.QueryContext(ctx, `SELECT d.id, d.respondent_id, d.day_type, d.weight FROM timeuse_diaries d
		JOIN timeuse_respondents r ON r.id = d.respondent_id WHERE r.fresh = FALSE AND r.synthetic = $1 ORDER BY d.id`, synthetic)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var d analysis.Diary
		if err := rows.Scan(&d.ID, &d.RespondentID, &d.DayType, &d.Weight); err != nil {
			_ = rows.Close()
			return nil, err
		}
		ds.Diaries = append(ds.Diaries, d)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	rows, err = s.DB.QueryContext(ctx, `SELECT e.diary_id, e.start_min, e.end_min, e.activity, e.secondary, e.location, e.with_whom
		FROM timeuse_episodes e JOIN timeuse_diaries d ON d.id = e.diary_id JOIN timeuse_respondents r ON r.id = d.respondent_id
		WHERE r.fresh = FALSE AND r.synthetic = $1 ORDER BY e.diary_id, e.start_min`, synthetic)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var e analysis.Episode
		if err := rows.Scan(&e.DiaryID, &e.Start, &e.End, &e.Activity, &e.Secondary, &e.Location, &e.WithWhom); err != nil {
			return nil, err
		}
		ds.Episodes = append(ds.Episodes, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return ds, ds.Validate()
}

// mixedCounts counts the mixed respondents, their diaries and episodes,
// real or synthetic: with the offices, what the results depend on (the
// dataset only grows: answers are never changed, only rewritten whole by
// the mix).
func (s *Store) mixedCounts(ctx context.Context, synthetic bool) (n [3]int, err error) {
	err = s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM timeuse_respondents WHERE fresh = FALSE AND synthetic = $1`, synthetic).Scan(&n[0])
	if err == nil {
		err = s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM timeuse_diaries d JOIN timeuse_respondents r ON r.id = d.respondent_id
			WHERE r.fresh = FALSE AND r.synthetic = $1`, synthetic).Scan(&n[1])
	}
	if err == nil {
		err = s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM timeuse_episodes e JOIN timeuse_diaries d ON d.id = e.diary_id
			JOIN timeuse_respondents r ON r.id = d.respondent_id WHERE r.fresh = FALSE AND r.synthetic = $1`, synthetic).Scan(&n[2])
	}
	return n, err
}

// RefreshResults computes the results again when the answers or the
// offices changed since the latest ones, and stores them as the latest:
// the real answers, or the synthetic ones while there is no real answer.
// It reports whether it computed.
func (s *Store) RefreshResults(ctx context.Context, offices Offices, w Weighting) (bool, error) {
	defer s.forgetResults()
	travel := w.Travel
	if travel <= 0 {
		travel = DefaultTravel
	}
	synthetic := false
	counts, err := s.mixedCounts(ctx, false)
	if err == nil && counts[0] == 0 {
		synthetic = true
		counts, err = s.mixedCounts(ctx, true)
	}
	if err != nil || counts[0] == 0 {
		return false, err
	}
	var offs []ResultsOffice
	if offices != nil {
		if offs, err = offices(ctx); err != nil {
			return false, err
		}
	}
	key, err := json.Marshal([]any{summaryFormat, synthetic, counts, travel, offs, w.Margins})
	if err != nil {
		return false, err
	}
	h := sha256.Sum256(key)
	fingerprint := hex.EncodeToString(h[:])
	var old string
	err = s.DB.QueryRowContext(ctx, `SELECT fingerprint FROM timeuse_results WHERE kind = $1`, LatestResults).Scan(&old)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	if old == fingerprint {
		return false, nil
	}
	ds, err := s.Dataset(ctx, synthetic)
	if err != nil {
		return false, err
	}
	weighted, marginsErr := ds, ""
	if w.Margins != nil {
		// Margins the answers cannot meet (a value nobody who answered
		// has) leave the results unweighted and say why, rather than
		// leave the pages without results.
		if weighted, err = analysis.PostStratify(ds, w.Margins); err != nil {
			weighted, marginsErr = ds, err.Error()
		}
	}
	sum, err := Summarize(weighted, offs, travel)
	if err != nil {
		return false, err
	}
	sum.Weighted, sum.MarginsError = w.Margins != nil && marginsErr == "", marginsErr
	sum.Synthetic = synthetic
	sum.Computed = s.now().Truncate(time.Second)
	body, err := json.Marshal(sum)
	if err != nil {
		return false, err
	}
	return true, s.DB.Tx(ctx, func(tx *sql.Tx) error {
		// The version names this computation alone: two in one second
		// (Computed is to the second) must not share one, or a process
		// would keep the other's decoded results (Results' cache).
		var prev int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM timeuse_results`).Scan(&prev); err != nil {
			return err
		}
		return putResults(ctx, tx, LatestResults, max(sum.Computed.UnixNano(), prev+1), fingerprint, sum.Computed, string(body))
	})
}

func putResults(ctx context.Context, tx *sql.Tx, kind string, version int64, fingerprint string, computed time.Time, body string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM timeuse_results WHERE kind = $1`, kind); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO timeuse_results (kind, version, fingerprint, computed_at, body) VALUES ($1, $2, $3, $4, $5)`,
		kind, version, fingerprint, computed, body)
	return err
}

// ResultsRecheck is how long the server's store trusts the results'
// version it read (Store.Recheck): the coordination view and the results'
// pages read none at most requests.
const ResultsRecheck = 10 * time.Second

// ErrNoResults: nothing computed (or published) yet.
var ErrNoResults = errors.New("timeuse: no results yet")

// ErrResultsChanged: the latest results changed since the office looked
// at the ones it publishes.
var ErrResultsChanged = errors.New("timeuse: the results changed")

// Results keeps what it read in two caches of one entry a kind
// (resultsCaches), both purged by this store's writes (forgetResults):
//
//   - kept: each kind's results as last read (nil: none stored), for
//     Recheck;
//   - decoded: each kind's decoded results with their version, so that a
//     version read again unchanged (kept expired) is not decoded again.
//
// A reading takes both caches' stamps before reading the version, so that
// what it read before a write is not kept after it (cache.Stamp).

// decodedResults are a kind's results, decoded, with their version.
type decodedResults struct {
	version int64
	sum     *Summary
}

// decodedTTL is how long decoded results are kept: the version read
// again tells whether they are still the stored ones, so the TTL only
// lets go results no longer read.
const decodedTTL = time.Hour

// resultsCaches returns the caches of Results (kept is nil without
// Recheck: the version is then read at every call).
func (s *Store) resultsCaches() (kept *cache.Cache[string, *Summary], decoded *cache.Cache[string, decodedResults]) {
	s.cacheOnce.Do(func() {
		s.kept = cache.New[string, *Summary](s.Recheck, 2)
		s.decoded = cache.New[string, decodedResults](decodedTTL, 2)
	})
	return s.kept, s.decoded
}

// forgetResults drops what Results kept, after this store wrote results:
// deferred by each method that writes them, so that it runs after the
// commit.
func (s *Store) forgetResults() {
	kept, decoded := s.resultsCaches()
	kept.Purge()
	decoded.Purge()
}

// Results are the stored results of kind (LatestResults or
// PublishedResults), ErrNoResults when there are none. The Summary is
// shared: read it, do not change it.
func (s *Store) Results(ctx context.Context, kind string) (*Summary, error) {
	kept, decoded := s.resultsCaches()
	if sum, ok := kept.Get(kind); ok {
		if sum == nil {
			return nil, ErrNoResults
		}
		return sum, nil
	}
	return s.readResults(ctx, kind, kept.Stamp(), decoded.Stamp())
}

// readResults reads the results of kind and keeps them unless this store
// wrote results since the caches' stamps (taken before reading).
func (s *Store) readResults(ctx context.Context, kind string, keptStamp, decodedStamp cache.Stamp) (*Summary, error) {
	kept, decoded := s.resultsCaches()
	var version int64
	err := s.DB.QueryRowContext(ctx, `SELECT version FROM timeuse_results WHERE kind = $1`, kind).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		kept.Put(keptStamp, kind, nil)
		return nil, ErrNoResults
	}
	if err != nil {
		return nil, err
	}
	if d, ok := decoded.Get(kind); ok && d.version == version {
		kept.Put(keptStamp, kind, d.sum)
		return d.sum, nil
	}
	var body string
	err = s.DB.QueryRowContext(ctx, `SELECT version, body FROM timeuse_results WHERE kind = $1`, kind).Scan(&version, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoResults
	}
	if err != nil {
		return nil, err
	}
	sum := &Summary{}
	if err := json.Unmarshal([]byte(body), sum); err != nil {
		return nil, fmt.Errorf("timeuse: stored results: %w", err)
	}
	decoded.Put(decodedStamp, kind, decodedResults{version: version, sum: sum})
	kept.Put(keptStamp, kind, sum)
	return sum, nil
}

// Publish makes the latest results the published ones, in one
// transaction with its audit entry; ErrNoResults when nothing is computed.
// version, when not zero, must be the latest's (the office published what
// it saw).
func (s *Store) Publish(ctx context.Context, w audit.Writer, version int64, actor, remote string) error {
	defer s.forgetResults()
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var v int64
		var fp, body string
		var computed time.Time
		err := tx.QueryRowContext(ctx, `SELECT version, fingerprint, computed_at, body FROM timeuse_results WHERE kind = $1`, LatestResults).Scan(&v, &fp, &computed, &body)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNoResults
		}
		if err == nil && version != 0 && v != version {
			return ErrResultsChanged
		}
		if err != nil {
			return err
		}
		if err := putResults(ctx, tx, PublishedResults, v, fp, computed, body); err != nil {
			return err
		}
		return w.Write(ctx, tx, audit.Entry{Actor: actor, Action: "timeuse.results.published", Subject: "timeuse:results", Remote: remote,
			Details: map[string]string{"computed": computed.UTC().Format(time.RFC3339)}})
	})
}
