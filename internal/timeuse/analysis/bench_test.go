package analysis_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/timeuse/analysis"
)

// The benchmark of the issue: 100,000 diary days, every indicator and
// tempogram computed in memory (writing the files timed apart), compared
// in the same run with the same aggregation written in SQL on SQLite.
//
//	go test ./internal/timeuse/analysis -run '^$' -bench . -benchtime 3x
const benchDays = 100_000

// stepTimes prints each SQL step's time (to see where SQL spends it).
var stepTimes = false

var (
	benchOnce sync.Once
	benchDS   *analysis.Dataset
)

func dataset() *analysis.Dataset {
	benchOnce.Do(func() { benchDS = analysis.Synthetic(benchDays, 1) })
	return benchDS
}

// peakHeap samples the bytes of live and not yet swept heap objects
// while fn runs (runtime/metrics, every 2 ms: no stop of the world, unlike
// ReadMemStats) and returns the highest value above the heap before fn.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	base := read()
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			if v := read(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(stop)
	<-done
	p := max(peak.Load(), read())
	if p < base {
		return 0
	}
	return p - base
}

// BenchmarkCompute is the Go engine alone: time, CPU time, allocations
// and peak live heap per computation of every indicator and tempogram.
func BenchmarkCompute(b *testing.B) {
	ds := dataset()
	b.ReportAllocs()
	var peak uint64
	var cpu time.Duration
	b.ResetTimer()
	for b.Loop() {
		c0 := processCPU()
		p := peakHeap(func() {
			if _, err := analysis.Compute(ds, analysis.Options{}); err != nil {
				b.Fatal(err)
			}
		})
		cpu += processCPU() - c0
		peak = max(peak, p)
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

// BenchmarkWrite is writing indicators.csv and tempograms.csv, timed apart.
func BenchmarkWrite(b *testing.B) {
	res, err := analysis.Compute(dataset(), analysis.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := res.WriteIndicators(io.Discard); err != nil {
			b.Fatal(err)
		}
		if err := res.WriteTempograms(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkComputeVsSQL computes the indicators once with the engine and
// once in SQL on SQLite per iteration, on the same data, and reports both
// times, both CPU times and the ratio. Loading SQLite is not timed.
func BenchmarkComputeVsSQL(b *testing.B) {
	ds := dataset()
	ctx := context.Background()
	d, err := db.Open(ctx, db.Target{Dialect: db.SQLite, Path: filepath.Join(b.TempDir(), "tu.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	if err := loadSQL(ctx, d, ds); err != nil {
		b.Fatal(err)
	}
	var goWall, goCPU, sqlWall, sqlCPU time.Duration
	var sqlRows int
	b.ResetTimer()
	for b.Loop() {
		t0, c0 := time.Now(), processCPU()
		if _, err := analysis.Compute(ds, analysis.Options{}); err != nil {
			b.Fatal(err)
		}
		goWall += time.Since(t0)
		goCPU += processCPU() - c0
		t0, c0 = time.Now(), processCPU()
		n, err := aggregateSQL(ctx, d)
		if err != nil {
			b.Fatal(err)
		}
		sqlWall += time.Since(t0)
		sqlCPU += processCPU() - c0
		sqlRows = n
	}
	N := float64(b.N)
	b.ReportMetric(goWall.Seconds()/N, "go-s/op")
	b.ReportMetric(goCPU.Seconds()/N, "go-cpu-s/op")
	b.ReportMetric(sqlWall.Seconds()/N, "sql-s/op")
	b.ReportMetric(sqlCPU.Seconds()/N, "sql-cpu-s/op")
	b.ReportMetric(sqlCPU.Seconds()/goCPU.Seconds(), "cpu-ratio")
	b.ReportMetric(float64(sqlRows), "sql-rows")
}

func loadSQL(ctx context.Context, d *db.DB, ds *analysis.Dataset) error {
	return d.Tx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			`CREATE TABLE respondents (id TEXT PRIMARY KEY, sex TEXT, age_band TEXT, employment TEXT, commuter TEXT, children TEXT, weight REAL)`,
			`CREATE TABLE diaries (id TEXT PRIMARY KEY, resp TEXT, day TEXT, weight REAL)`,
			`CREATE TABLE episodes (diary TEXT, start_min INTEGER, end_min INTEGER, act TEXT)`,
			`CREATE TABLE masks (m INTEGER PRIMARY KEY)`,
			`CREATE TABLE slots (s INTEGER PRIMARY KEY, lo INTEGER, hi INTEGER)`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		ins := func(q string, n int, args func(i int) []any) error {
			st, err := tx.PrepareContext(ctx, q)
			if err != nil {
				return err
			}
			defer st.Close()
			for i := range n {
				if _, err := st.ExecContext(ctx, args(i)...); err != nil {
					return err
				}
			}
			return nil
		}
		if err := ins(`INSERT INTO respondents VALUES (?,?,?,?,?,?,?)`, len(ds.Respondents), func(i int) []any {
			r := &ds.Respondents[i]
			return []any{r.ID, r.Sex, r.AgeBand, r.Employment, r.Commuter, r.Children, r.Weight}
		}); err != nil {
			return err
		}
		if err := ins(`INSERT INTO diaries VALUES (?,?,?,?)`, len(ds.Diaries), func(i int) []any {
			x := &ds.Diaries[i]
			return []any{x.ID, x.RespondentID, x.DayType, x.Weight}
		}); err != nil {
			return err
		}
		if err := ins(`INSERT INTO episodes VALUES (?,?,?,?)`, len(ds.Episodes), func(i int) []any {
			e := &ds.Episodes[i]
			return []any{e.DiaryID, e.Start, e.End, e.Activity}
		}); err != nil {
			return err
		}
		if err := ins(`INSERT INTO masks VALUES (?)`, 32, func(i int) []any { return []any{i} }); err != nil {
			return err
		}
		if err := ins(`INSERT INTO slots VALUES (?,?,?)`, analysis.Slots, func(i int) []any { return []any{i, i * 10, i*10 + 10} }); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `CREATE INDEX episodes_diary ON episodes (diary)`)
		return err
	})
}

// groupKeys are a mask's group keys: each key kept when its bit is set,
// NULL ("all") otherwise: every subset of the five keys.
const groupKeys = `m.m AS m,
	CASE WHEN m.m & 1 THEN r.sex END AS k1,
	CASE WHEN m.m & 2 THEN r.age_band END AS k2,
	CASE WHEN m.m & 4 THEN r.employment END AS k3,
	CASE WHEN m.m & 8 THEN r.commuter END AS k4,
	CASE WHEN m.m & 16 THEN r.children END AS k5`

const sameGroup = `a.m = b.m AND a.k1 IS b.k1 AND a.k2 IS b.k2 AND a.k3 IS b.k3 AND a.k4 IS b.k4 AND a.k5 IS b.k5`

// aggregateSQL is the engine's aggregation in SQL: minutes per diary and
// 1- and 2-digit activity, respondents as clusters per day type, every
// group by a cross join with the 32 key subsets, DPR, P, DPP and the
// linearised SE per group, day type and activity, DPR and P of the week,
// and the tempograms of every group (the engine's per-minute shares of
// each ten-minute slot). It leaves out what the engine adds besides (the
// week's SE, CV flags, suppression), so the comparison favours SQL. It
// returns the number of result rows read.
func aggregateSQL(ctx context.Context, d *db.DB) (int, error) {
	steps := []string{
		`DROP TABLE IF EXISTS dm`, `DROP TABLE IF EXISTS cw`, `DROP TABLE IF EXISTS cy`, `DROP TABLE IF EXISTS gw`,
		`DROP TABLE IF EXISTS gy`, `DROP TABLE IF EXISTS ind`, `DROP TABLE IF EXISTS ct`, `DROP TABLE IF EXISTS gt`,
		`DROP TABLE IF EXISTS cellw`, `DROP TABLE IF EXISTS celly`,
		`CREATE TABLE dm AS
			SELECT diary, substr(act, 1, 1) AS a, SUM(end_min - start_min) AS t FROM episodes GROUP BY diary, substr(act, 1, 1)
			UNION ALL
			SELECT diary, substr(act, 1, 2), SUM(end_min - start_min) FROM episodes WHERE length(act) >= 2 GROUP BY diary, substr(act, 1, 2)`,
		`CREATE TABLE cw AS SELECT resp, day, SUM(weight) AS w FROM diaries GROUP BY resp, day`,
		`CREATE TABLE cy AS
			SELECT x.resp, x.day, dm.a, SUM(x.weight * dm.t) AS y, SUM(x.weight) AS pw
			FROM dm JOIN diaries x ON x.id = dm.diary GROUP BY x.resp, x.day, dm.a`,
		`CREATE INDEX cw_key ON cw (resp, day)`,
		// Sums per finest cell first (they add up), then every group.
		`CREATE TABLE cellw AS
			SELECT r.sex, r.age_band, r.employment, r.commuter, r.children, cw.day, COUNT(*) AS n, SUM(cw.w) AS w, SUM(cw.w * cw.w) AS w2
			FROM cw JOIN respondents r ON r.id = cw.resp
			GROUP BY r.sex, r.age_band, r.employment, r.commuter, r.children, cw.day`,
		`CREATE TABLE celly AS
			SELECT r.sex, r.age_band, r.employment, r.commuter, r.children, cy.day, cy.a,
				SUM(cy.y) AS y, SUM(cy.y * cy.y) AS y2, SUM(cw.w * cy.y) AS wy, SUM(cy.pw) AS pw
			FROM cy JOIN cw ON cw.resp = cy.resp AND cw.day = cy.day JOIN respondents r ON r.id = cy.resp
			GROUP BY r.sex, r.age_band, r.employment, r.commuter, r.children, cy.day, cy.a`,
		`CREATE TABLE gw AS
			SELECT ` + groupKeys + `, r.day AS day, SUM(r.n) AS n, SUM(r.w) AS w, SUM(r.w2) AS w2
			FROM cellw r CROSS JOIN masks m
			GROUP BY 1, 2, 3, 4, 5, 6, 7`,
		`CREATE TABLE gy AS
			SELECT ` + groupKeys + `, r.day AS day, r.a AS a, SUM(r.y) AS y, SUM(r.y2) AS y2, SUM(r.wy) AS wy, SUM(r.pw) AS pw
			FROM celly r CROSS JOIN masks m
			GROUP BY 1, 2, 3, 4, 5, 6, 7, 8`,
		`CREATE INDEX gw_key ON gw (m, k1, k2, k3, k4, k5, day)`,
		`CREATE TABLE ind AS
			SELECT b.m, b.k1, b.k2, b.k3, b.k4, b.k5, b.day, b.a, a.n,
				b.y / a.w AS dpr, b.pw / a.w AS p, b.y / b.pw AS dpp,
				CASE WHEN a.n > 1 THEN sqrt(max(0, a.n / (a.n - 1.0) * (b.y2 - 2 * (b.y / a.w) * b.wy + (b.y / a.w) * (b.y / a.w) * a.w2))) / a.w END AS se
			FROM gy b JOIN gw a ON ` + sameGroup + ` AND a.day = b.day`,
		`CREATE TABLE ct AS
			SELECT r.sex, r.age_band, r.employment, r.commuter, r.children, x.day, s.s, substr(e.act, 1, 1) AS a,
				SUM(x.weight * (min(e.end_min, s.hi) - max(e.start_min, s.lo))) / 10.0 AS v
			FROM episodes e JOIN slots s ON s.s BETWEEN e.start_min / 10 AND (e.end_min - 1) / 10
			JOIN diaries x ON x.id = e.diary JOIN respondents r ON r.id = x.resp
			GROUP BY r.sex, r.age_band, r.employment, r.commuter, r.children, x.day, s.s, substr(e.act, 1, 1)`,
		`CREATE TABLE gt AS
			SELECT ` + groupKeys + `, r.day AS day, r.s AS s, r.a AS a, SUM(r.v) AS v
			FROM ct r CROSS JOIN masks m GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9`,
	}
	for _, q := range steps {
		t0 := time.Now()
		if _, err := d.ExecContext(ctx, q); err != nil {
			return 0, fmt.Errorf("%s: %w", q[:min(len(q), 60)], err)
		}
		if stepTimes {
			fmt.Printf("%v %s\n", time.Since(t0), q[:min(len(q), 40)])
		}
	}
	rows := 0
	for _, q := range []string{
		`SELECT m, k1, k2, k3, k4, k5, day, a, n, dpr, p, dpp, se FROM ind`,
		// The week: 5/7, 1/7, 1/7 of the day types.
		`SELECT a.m, a.k1, a.k2, a.k3, a.k4, a.k5, a.a,
			(5 * a.dpr + b.dpr + c.dpr) / 7, (5 * a.p + b.p + c.p) / 7
		FROM ind a JOIN ind b ON ` + sameGroup + ` AND a.a = b.a AND b.day = 'saturday'
		JOIN ind c ON a.m = c.m AND a.k1 IS c.k1 AND a.k2 IS c.k2 AND a.k3 IS c.k3 AND a.k4 IS c.k4 AND a.k5 IS c.k5 AND a.a = c.a AND c.day = 'sunday'
		WHERE a.day = 'weekday'`,
		`SELECT b.m, b.k1, b.k2, b.k3, b.k4, b.k5, b.day, b.s, b.a, b.v / a.w
		FROM gt b JOIN gw a ON ` + sameGroup + ` AND a.day = b.day`,
	} {
		t0 := time.Now()
		r, err := d.QueryContext(ctx, q)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", q[:40], err)
		}
		cols, _ := r.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for r.Next() {
			if err := r.Scan(ptrs...); err != nil {
				_ = r.Close()
				return 0, err
			}
			rows++
		}
		if err := r.Close(); err != nil {
			return 0, err
		}
		if err := r.Err(); err != nil {
			return 0, err
		}
		if stepTimes {
			fmt.Printf("%v %s\n", time.Since(t0), q[:min(len(q), 40)])
		}
	}
	return rows, nil
}

// BenchmarkRecommend is the recommender on the 100,000 diary days: two
// offices, 25 candidate openings each, every group's share per candidate.
func BenchmarkRecommend(b *testing.B) {
	ds := dataset()
	offices := []analysis.Office{
		{Name: "Anagrafe", Travel: 15, Openings: []analysis.Opening{{Weekday: time.Monday, From: 510, To: 750}, {Weekday: time.Wednesday, From: 510, To: 750}, {Weekday: time.Thursday, From: 840, To: 960}}},
		{Name: "Tributi", Travel: 25, Openings: []analysis.Opening{{Weekday: time.Tuesday, From: 540, To: 720}}},
	}
	b.ReportAllocs()
	var cpu time.Duration
	for b.Loop() {
		c0 := processCPU()
		rec, err := analysis.Recommend(ds, offices, analysis.ReachOptions{})
		if err != nil || rec == nil {
			b.Fatal(rec, err)
		}
		cpu += processCPU() - c0
	}
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

// BenchmarkRecommendEach is each office's proposal on the 100,000 diary
// days for a town's 14 offices (as many as the demo catalogue has): 14 ×
// 25 candidates, each office's reach computed once and only the
// candidate's office again per candidate.
func BenchmarkRecommendEach(b *testing.B) {
	ds := dataset()
	var offices []analysis.Office
	for i := range 14 {
		offices = append(offices, analysis.Office{Name: "Ufficio " + strconv.Itoa(i), Travel: 10 + i,
			Openings: []analysis.Opening{{Weekday: time.Weekday(1 + i%5), From: 510 + 15*i, To: 750}, {Weekday: time.Weekday(1 + (i+2)%5), From: 870, To: 990}}})
	}
	b.ReportAllocs()
	var cpu time.Duration
	for b.Loop() {
		c0 := processCPU()
		recs, _, err := analysis.RecommendEach(ds, offices, analysis.ReachOptions{})
		if err != nil || len(recs) != 14 {
			b.Fatal(err)
		}
		cpu += processCPU() - c0
	}
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}
