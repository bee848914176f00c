package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/booking"
	"github.com/civico-pa/civico/internal/cards"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/dashboard"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/identity"
)

// The seed's figures the demo's history reproduces (issue 20): the
// residents registered on the town's first portal by November 2009, by
// sex, and the PINs the URP handed out in 2009 and 2010.
const (
	seedRegisteredWomen = 841
	seedRegisteredMen   = 1186
	seedPINs2009        = 812
	seedPINs2010        = 740 // 1,552 in 2009-2010
)

// demoRegistrationsByYear are the plausible registrations of the years
// after the seed's (a town of 75,000): the card's years, SPID from 2016,
// the spike of 2020, CIE growing after.
var demoRegistrationsByYear = map[int]int{2010: 1150, 2011: 980, 2012: 900, 2013: 860, 2014: 820, 2015: 940, 2016: 1450, 2017: 1900,
	2018: 2250, 2019: 2700, 2020: 5200, 2021: 4300, 2022: 3100, 2023: 2600, 2024: 2300, 2025: 2100, 2026: 1900}

// demoPINsByYear are the PINs of the years after 2010, fewer as SPID and
// CIE replace the card.
var demoPINsByYear = map[int]int{2011: 520, 2012: 430, 2013: 400, 2014: 380, 2015: 350, 2016: 300, 2017: 240, 2018: 190, 2019: 150,
	2020: 90, 2021: 110, 2022: 100, 2023: 90, 2024: 80, 2025: 70, 2026: 60}

// demoMethod picks a registration's login method for its year.
func demoMethod(r *rand.Rand, year int) string {
	x := r.Float64()
	switch {
	case year < 2016:
		if x < 0.85 {
			return "crs"
		}
		return "password"
	case year < 2019:
		spid := []float64{0.2, 0.45, 0.6}[year-2016]
		switch {
		case x < spid:
			return "spid"
		case x < 0.9:
			return "crs"
		}
		return "password"
	default:
		cie := min(0.05+0.03*float64(year-2019), 0.3)
		switch {
		case x < cie:
			return "cie"
		case x < cie+0.62:
			return "spid"
		case x < 0.93:
			return "crs"
		}
		return "password"
	}
}

// randomIn is a random instant in [from, to).
func randomIn(r *rand.Rand, from, to time.Time) time.Time {
	return from.Add(time.Duration(r.Int64N(int64(to.Sub(from)))))
}

// demoHistory is the demo's history up to now, the same at every run
// (a fixed seed): the residents' accounts since the first portal (March
// 2008) and the PINs handed out since 2009.
func demoHistory(now time.Time) ([]identity.HistoricAccount, []cards.HistoricDelivery) {
	r := rand.New(rand.NewPCG(2008, 2027)) // #nosec G404 -- the demo's synthetic history, the same at every run: no secret, nothing to guess
	rome := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, hours.Rome) }
	var accounts []identity.HistoricAccount
	add := func(created time.Time, method, sex string) {
		a := identity.HistoricAccount{Created: created, Method: method, Sex: sex, GivenName: "Residente", Family: "Storico"}
		// A third of the older accounts logged in in the last 90 days;
		// the others last did some time after their registration.
		recent := now.AddDate(0, 0, -90)
		switch {
		case created.After(recent):
			a.LastLogin = randomIn(r, created, now)
		case r.Float64() < 0.33:
			a.LastLogin = randomIn(r, recent, now)
		default:
			a.LastLogin = randomIn(r, created, recent)
		}
		accounts = append(accounts, a)
	}
	// The first portal, to November 2009: by card, sex known.
	first, seedEnd := rome(2008, time.March, 1), rome(2009, time.December, 1)
	for i := range seedRegisteredWomen + seedRegisteredMen {
		sex := "M"
		if i < seedRegisteredWomen {
			sex = "F"
		}
		add(randomIn(r, first, seedEnd), "crs", sex)
	}
	// December 2009, then each year to now.
	years := []struct {
		from, to time.Time
		n, year  int
	}{{seedEnd, rome(2010, time.January, 1), 70, 2009}}
	for y := 2010; y <= now.In(hours.Rome).Year(); y++ {
		n, ok := demoRegistrationsByYear[y]
		if !ok {
			n = 1900
		}
		years = append(years, struct {
			from, to time.Time
			n, year  int
		}{rome(y, time.January, 1), rome(y+1, time.January, 1), n, y})
	}
	for _, y := range years {
		women := min(0.45+0.004*float64(y.year-2010), 0.51)
		for range y.n {
			at := randomIn(r, y.from, y.to)
			method := demoMethod(r, y.year)
			sex := "M"
			if r.Float64() < women {
				sex = "F"
			}
			if method == "password" {
				sex = "" // a password proves nothing
			}
			if at.Before(now) {
				add(at, method, sex)
			}
		}
	}
	// The PINs: 2009 and 2010 as the seed says, then fewer each year, on
	// the URP's mornings.
	pinYears := map[int]int{2009: seedPINs2009, 2010: seedPINs2010}
	for y, n := range demoPINsByYear {
		pinYears[y] = n
	}
	given := map[string][]string{"F": {"Maria", "Anna", "Giulia", "Francesca", "Chiara", "Paola", "Elena", "Laura"},
		"M": {"Giuseppe", "Marco", "Luca", "Andrea", "Paolo", "Stefano", "Roberto", "Davide"}}
	families := []string{"Rossi", "Bianchi", "Colombo", "Ferrari", "Brambilla", "Galli", "Fumagalli", "Sala", "Villa", "Cattaneo", "Riva", "Longoni"}
	seen := map[cf.Code]bool{}
	var pins []cards.HistoricDelivery
	for y := 2009; y <= now.In(hours.Rome).Year(); y++ {
		n := pinYears[y]
		if n == 0 && y > 2026 {
			n = 60
		}
		for range n {
			sex := "M"
			if r.Float64() < 0.46 {
				sex = "F"
			}
			var code cf.Code
			for {
				birth := time.Date(1930+r.IntN(65), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
				c, err := cf.Make(families[r.IntN(len(families))], given[sex][r.IntN(len(given[sex]))], sex, birth, "C707")
				if err == nil && !seen[c] {
					code, seen[c] = c, true
					break
				}
			}
			day := rome(y, time.January, 1).AddDate(0, 0, r.IntN(365))
			for day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
				day = day.AddDate(0, 0, 1)
			}
			if day.Year() != y {
				day = rome(y, time.December, 28)
			}
			at := day.Add(9*time.Hour + time.Duration(r.IntN(210))*time.Minute)
			if at.Before(now) {
				pins = append(pins, cards.HistoricDelivery{Serial: fmt.Sprintf("80380%011d", len(pins)+1), FiscalCode: string(code), At: at})
			}
		}
	}
	return accounts, pins
}

// ensureDemoHistory loads the demo's history once: the accounts when no
// resident's account is older than 2010, the PINs when no history was
// imported. It says how many of each it added.
func ensureDemoHistory(ctx context.Context, d *db.DB, now time.Time) (int, int, error) {
	accounts, pins := demoHistory(now)
	store := &identity.Store{DB: d}
	earliest, err := store.Earliest(ctx)
	if err != nil {
		return 0, 0, err
	}
	na, np := 0, 0
	if earliest.IsZero() || !earliest.Before(time.Date(2010, time.January, 1, 0, 0, 0, 0, time.UTC)) {
		if err := store.ImportHistory(ctx, accounts); err != nil {
			return 0, 0, fmt.Errorf("demo history of accounts: %w", err)
		}
		na = len(accounts)
	}
	svc := &cards.Service{DB: d, Audit: &audit.Log{DB: d}}
	done, err := svc.HistoryImported(ctx)
	if err != nil {
		return na, 0, err
	}
	if !done {
		if err := svc.ImportHistory(ctx, "URP – Ufficio relazioni con il pubblico", "demo", pins); err != nil {
			return na, 0, fmt.Errorf("demo history of PINs: %w", err)
		}
		np = len(pins)
	}
	return na, np, nil
}

// dashboardCmd runs `civico dashboard history`.
func (c *cli) dashboardCmd(args []string) error {
	if len(args) == 0 || args[0] != "history" {
		return usagef("dashboard needs a command: history")
	}
	cfg, err := loadConfig(c.env)
	if err != nil {
		return err
	}
	fs := c.flags("dashboard history")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory (CIVICO_DATA_DIR)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "database URL (CIVICO_DATABASE_URL)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	d, err := c.open(ctx, cfg, newLogger(cfg, c.stderr), false)
	if err != nil {
		return err
	}
	defer d.Close()
	na, np, err := ensureDemoHistory(ctx, d, time.Now())
	if err != nil {
		return err
	}
	nb, err := ensureDemoAppointments(ctx, d, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "history: %d accounts, %d PINs and %d appointments added; the dashboard counts them at its next collection (every %s)\n", na, np, nb, dashboard.Every)
	return nil
}

// demoAppointmentsByYear are the demo's appointments kept each year since
// booking opened (2022), on the demo's offers.
var demoAppointmentsByYear = map[int]int{2022: 800, 2023: 1200, 2024: 1500, 2025: 1700, 2026: 1600}

// demoAppointments are the demo's appointments of the past, the same at
// every run: on a weekday morning, booked a few days before (a third
// within three days, the others about ten days on average, a few months
// at most), by a woman, a man or someone whose sex nothing proved (a
// booking by mail address). Only the days before today's.
func demoAppointments(now time.Time) []booking.HistoricBooking {
	r := rand.New(rand.NewPCG(2022, 16)) // #nosec G404 -- the demo's synthetic history, the same at every run
	today := hours.DateOf(now).At(0)
	var out []booking.HistoricBooking
	for y := 2022; y <= now.In(hours.Rome).Year(); y++ {
		n := demoAppointmentsByYear[y]
		if n == 0 {
			n = 1600
		}
		for range n {
			o := booking.DemoOffers[r.IntN(len(booking.DemoOffers))]
			day := time.Date(y, time.January, 1, 0, 0, 0, 0, hours.Rome).AddDate(0, 0, r.IntN(365))
			for day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
				day = day.AddDate(0, 0, 1)
			}
			start := day.Add(9*time.Hour + time.Duration(r.IntN(180/o.Minutes)*o.Minutes)*time.Minute)
			days := r.IntN(4)
			if r.IntN(3) > 0 {
				days = min(int(r.ExpFloat64()*10), 90)
			}
			created := start.AddDate(0, 0, -days).Add(-time.Duration(r.IntN(6)) * time.Hour)
			sex := "F"
			switch x := r.Float64(); {
			case x < 0.1:
				sex = ""
			case x < 0.52:
				sex = "M"
			}
			if start.Before(today) {
				out = append(out, booking.HistoricBooking{OfficeID: o.OfficeID, ServiceID: o.ServiceID, Start: start, Created: created, Minutes: o.Minutes, Sex: sex})
			}
		}
	}
	return out
}

// ensureDemoAppointments loads the demo's appointments once; it says how
// many it added.
func ensureDemoAppointments(ctx context.Context, d *db.DB, now time.Time) (int, error) {
	s := &booking.Store{DB: d}
	done, err := s.HistoryImported(ctx)
	if err != nil || done {
		return 0, err
	}
	list := demoAppointments(now)
	if err := s.ImportHistory(ctx, list); err != nil {
		return 0, fmt.Errorf("demo history of appointments: %w", err)
	}
	return len(list), nil
}
