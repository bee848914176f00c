package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/mail"
	"github.com/civico-pa/civico/internal/payments"
	"github.com/civico-pa/civico/internal/population"
	"github.com/civico-pa/civico/internal/schools"
	"github.com/civico-pa/civico/internal/town"
	"github.com/civico-pa/civico/internal/web"
)

// billing runs `civico billing run --month YYYY-MM`: the school services'
// bills of a month through payments, as the daily job makes them, with a
// progress bar. Running a month again bills nothing new.
func (c *cli) billing(args []string) error {
	if len(args) == 0 || args[0] != "run" {
		return usagef("billing needs a command: run --month YYYY-MM")
	}
	cfg, err := loadConfig(c.env)
	if err != nil {
		return err
	}
	fs := c.flags("billing run")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory (CIVICO_DATA_DIR)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "database URL (CIVICO_DATABASE_URL)")
	month := fs.String("month", time.Now().In(hours.Rome).Format("2006-01"), "the month to bill, YYYY-MM")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	log := newLogger(cfg, c.stderr)
	d, err := c.open(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer d.Close()
	seg := cfg.Payments.Segregation
	if seg == "" {
		seg = demoSegregation
	}
	towns := town.NewStore(d, 0)
	pay := &payments.Module{Service: &payments.Service{DB: d, Audit: auditLog(d), Towns: towns, Segregation: seg, Log: log}}
	i18n, err := web.NewI18n(web.Messages, schools.Messages)
	if err != nil {
		return err
	}
	n := &schools.Notifier{Outbox: &mail.Outbox{DB: d}, I18n: i18n, Towns: towns, BaseURL: cfg.BaseURL}
	// The sibling reductions count the child's household in the register,
	// as the daily job's store does (internal/schools/feature.go).
	store := &schools.Store{DB: d, Audit: auditLog(d), Biller: schoolsBiller{pay.Biller()}, BillLetters: n.BillLetter,
		Household: (&population.Register{DB: d}).Housemates}
	// The bar is made once the run has counted the enrolments to bill.
	var bar func(done int)
	res, err := store.BillMonth(ctx, *month, schools.Actor{Name: "cli"}, func(done, total int) {
		if bar == nil {
			bar = c.countBar(total, "billing "+*month)
		}
		bar(done)
	})
	if errors.Is(err, schools.ErrMonth) {
		return usagef("--month %q: write it YYYY-MM", *month)
	}
	if errors.Is(err, schools.ErrMonthAhead) {
		return usagef("--month %s has not begun: a month is billed from its first day", *month)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s: %d bills, € %s; %d exempt; %d billed before", res.Month, res.Billed, schools.Euro(res.Amount), res.Exempt, res.Already)
	if res.PerMeal > 0 {
		fmt.Fprintf(c.stdout, "; %d enrolments with a tariff per meal left to the attendance import", res.PerMeal)
	}
	fmt.Fprintln(c.stdout)
	for _, e := range res.Errors {
		fmt.Fprintf(c.stderr, "%v\n", e)
	}
	if res.Failed > 0 {
		return fmt.Errorf("%d enrolments not billed: run the month again once the cause is fixed", res.Failed)
	}
	return nil
}
