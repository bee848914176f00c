package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/mail"
	"github.com/civico-pa/civico/internal/payments"
	"github.com/civico-pa/civico/internal/population"
	"github.com/civico-pa/civico/internal/schools"
	"github.com/civico-pa/civico/internal/web"
)

// billing runs `civico billing run --month YYYY-MM`: the school services'
// bills of a month through payments, as the daily job makes them, with a
// progress bar. Running a month again bills nothing new. `civico billing
// attendance --service ID FILE.csv` imports a month's meals of a service
// billed per meal (all lines or none, a file once).
func (c *cli) billing(args []string) error {
	if len(args) == 0 || args[0] != "run" && args[0] != "attendance" {
		return usagef("billing needs a command: run --month YYYY-MM, or attendance --service ID FILE.csv")
	}
	cfg, err := loadConfig(c.env)
	if err != nil {
		return err
	}
	fs := c.flags("billing " + args[0])
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory (CIVICO_DATA_DIR)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "database URL (CIVICO_DATABASE_URL)")
	month := fs.String("month", time.Now().In(hours.Rome).Format("2006-01"), "the month to bill, YYYY-MM")
	service := fs.String("service", "", "the service billed per meal whose attendance the file holds (attendance)")
	rest, file := args[1:], ""
	if args[0] == "attendance" {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			// The flags may come first: the file is the last argument.
			if len(rest) == 0 || strings.HasPrefix(rest[len(rest)-1], "-") {
				return usagef("billing attendance needs --service ID and a CSV file")
			}
			file, rest = rest[len(rest)-1], rest[:len(rest)-1]
		} else {
			file, rest = rest[0], rest[1:]
		}
	}
	if err := parse(fs, rest); err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	d, pay, err := c.openPayments(ctx, cfg)
	if err != nil {
		return err
	}
	defer d.Close()
	i18n, err := web.NewI18n(web.Messages, schools.Messages)
	if err != nil {
		return err
	}
	n := &schools.Notifier{Outbox: &mail.Outbox{DB: d}, I18n: i18n, Towns: pay.Towns, BaseURL: cfg.BaseURL}
	// The sibling reductions count the child's household in the register,
	// as the daily job's store does (internal/schools/feature.go).
	store := &schools.Store{DB: d, Audit: auditLog(d), Biller: schoolsBiller{(&payments.Module{Service: pay}).Biller()}, BillLetters: n.BillLetter,
		Household: (&population.Register{DB: d}).Housemates}
	if args[0] == "attendance" {
		return c.attendance(ctx, store, *service, file)
	}
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
	if res.Meals > 0 {
		fmt.Fprintf(c.stdout, "; %d meals billed", res.Meals)
	}
	if res.PerMeal > 0 {
		fmt.Fprintf(c.stdout, "; %d enrolments per meal without attendance for the month", res.PerMeal)
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

// attendance imports file's meals for service, with a progress bar; a
// refusal lists every wrong line, and nothing is imported.
func (c *cli) attendance(ctx context.Context, store *schools.Store, service, file string) error {
	if service == "" {
		return usagef("billing attendance needs --service ID (the service's id in the back office)")
	}
	data, err := os.ReadFile(file) // #nosec G304 G703 -- the file the operator named on the command line
	if err != nil {
		return usagef("%v", err)
	}
	var bar func(done int)
	res, err := store.ImportAttendance(ctx, service, filepath.Base(file), data, schools.Actor{Name: "cli"}, func(done, total int) {
		if bar == nil {
			bar = c.countBar(total, "importing attendance")
		}
		bar(done)
	})
	var le schools.LineErrors
	switch {
	case errors.As(err, &le):
		for _, e := range le {
			fmt.Fprintf(c.stderr, "%s: %v\n", file, e)
		}
		return fmt.Errorf("%s: %d wrong lines, nothing imported", file, len(le))
	case errors.Is(err, schools.ErrAttendanceBefore):
		fmt.Fprintf(c.stdout, "%s: imported before, nothing changed\n", file)
		return nil
	case errors.Is(err, schools.ErrNotPerMeal), errors.Is(err, schools.ErrNotFound):
		return usagef("--service %s: %v", service, err)
	case err != nil:
		return err
	}
	fmt.Fprintf(c.stdout, "%s: %d lines, %d meals imported for %s\n", file, res.Lines, res.Meals, res.ServiceName)
	return nil
}
