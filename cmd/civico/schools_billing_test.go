package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/payments"
	"github.com/civico-pa/civico/internal/population"
	"github.com/civico-pa/civico/internal/schools"
	"github.com/civico-pa/civico/internal/town"
)

// billMonth is the month the billing tests bill: October of the school
// year billFixture's service is of.
const billMonth, billYear = "2026-10", "2026/2027"

// billFixture adds, through the school services' store, a pre-school
// service of billYear billed by the month (bands 4.000: 0, 7.000: 30,
// above: 60) with one unit of paying+1 places, and enrols paying children
// with an ISEE of 7.000 (€ 30,00 each), one with an ISEE of 3.000 (exempt)
// and one more who waits. Each parent is an account with a valid fiscal
// code (payments checks the debtor's). The parents enrol in the summer
// before billYear (the store's clock), so billMonth is theirs to pay. It
// returns the service's id.
func billFixture(t testing.TB, d *db.DB, paying int) string {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, time.August, 20, 9, 0, 0, 0, hours.Rome)
	s := &schools.Store{DB: d, Now: func() time.Time { return now }}
	by := schools.Actor{Name: "operator:test"}
	id, err := s.PutService(ctx, "", schools.ServiceInput{SchoolYear: billYear, Kind: string(schools.PreSchool), Title: "Pre scuola",
		Opens: now.Add(-time.Hour).Format("2006-01-02T15:04"), Closes: now.Add(24 * time.Hour).Format("2006-01-02T15:04"), Classes: []string{"P1", "P2"},
		TariffUnit: "month", Bands: "4000: 0\n7000: 30,00\noltre: 60,00"}, by)
	if err != nil {
		t.Fatal(err)
	}
	unit, err := s.AddUnit(ctx, id, schools.UnitInput{Label: "Primaria Garibaldi", Capacity: fmt.Sprint(paying + 1)}, by)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < paying+2; i++ {
		acc := fmt.Sprintf("bill-%06d", i)
		if _, err := d.ExecContext(ctx, `INSERT INTO accounts (id, kind, created_at, updated_at) VALUES ($1, 'resident', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`, acc); err != nil {
			t.Fatal(err)
		}
		born := time.Date(1980, time.January, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i)
		parent, err := cf.Make("Verdi", "Anna", "F", born, "F205")
		if err != nil {
			t.Fatal(err)
		}
		kid, err := cf.Make("Verdi", "Sofia", "F", time.Date(2019, time.January, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i), "F205")
		if err != nil {
			t.Fatal(err)
		}
		isee := "7.000,00"
		if i == paying {
			isee = "3.000,00"
		}
		o, err := s.Enrol(ctx, schools.Parent{AccountID: acc, FiscalCode: parent.String(), Email: fmt.Sprintf("genitore%d@example.org", i), Lang: "it"},
			schools.Request{ServiceID: id, UnitID: unit, ChildFC: kid.String(), ChildGiven: "Sofia", ChildFamily: "Verdi", School: "Primaria Garibaldi",
				Class: "P2", ISEE: isee, Privacy: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := i <= paying; (o.Status == schools.Accepted) != want {
			t.Fatalf("enrolment %d: %s", i, o.Status)
		}
	}
	return id
}

// mealFixture is a canteen billed per meal (€ 3,50 a meal) with one child
// accepted in August; it returns the service's id and the child's fiscal
// code.
func mealFixture(t testing.TB, d *db.DB) (string, string) {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, time.August, 20, 9, 0, 0, 0, hours.Rome)
	s := &schools.Store{DB: d, Now: func() time.Time { return now }}
	by := schools.Actor{Name: "operator:test"}
	id, err := s.PutService(ctx, "", schools.ServiceInput{SchoolYear: billYear, Kind: string(schools.Canteen), Title: "Refezione",
		Opens: now.Add(-time.Hour).Format("2006-01-02T15:04"), Closes: now.Add(24 * time.Hour).Format("2006-01-02T15:04"), Classes: []string{"P2"},
		TariffUnit: "meal", Bands: "oltre: 3,50"}, by)
	if err != nil {
		t.Fatal(err)
	}
	unit, err := s.AddUnit(ctx, id, schools.UnitInput{Label: "Primaria Garibaldi", Capacity: "5"}, by)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.ExecContext(ctx, `INSERT INTO accounts (id, kind, created_at, updated_at) VALUES ('meal-parent', 'resident', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`); err != nil {
		t.Fatal(err)
	}
	kid, err := cf.Make("Neri", "Luca", "M", time.Date(2019, time.May, 1, 0, 0, 0, 0, time.UTC), "F205")
	if err != nil {
		t.Fatal(err)
	}
	parent, err := cf.Make("Neri", "Bruno", "M", time.Date(1982, time.May, 1, 0, 0, 0, 0, time.UTC), "F205")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enrol(ctx, schools.Parent{AccountID: "meal-parent", FiscalCode: parent.String(), Email: "neri@example.org", Lang: "it"},
		schools.Request{ServiceID: id, UnitID: unit, ChildFC: kid.String(), ChildGiven: "Luca", ChildFamily: "Neri", School: "Primaria Garibaldi",
			Class: "P2", NoISEE: true, Privacy: true}, nil); err != nil {
		t.Fatal(err)
	}
	return id, kid.String()
}

func countRows(t testing.TB, d *db.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := d.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Two processes built as serve builds them bill the same month at once,
// twice each: every accepted enrolment gets one debt position in
// payments (one pagoPA notice, € 30,00, the parent the debtor), the
// exempt one a bill of nothing, the waiting one none; one mail per
// notice. Billing the month again makes nothing new. On both databases.
func TestSchoolsBillingOnceAcrossProcesses(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			const paying = 12
			h := dbtest.Handles(t, dialect, 2)
			ctx := context.Background()
			billFixture(t, h[0], paying)
			stores := []*schools.Store{newApps(t, h[0]).civico.schools.Store, newApps(t, h[1]).civico.schools.Store}
			var wg sync.WaitGroup
			results := make([]*schools.BillingResult, 4)
			errs := make([]error, 4)
			start := make(chan struct{})
			for i := range results {
				wg.Go(func() {
					<-start
					results[i], errs[i] = stores[i%2].BillMonth(ctx, billMonth, schools.Actor{Name: "system"}, nil)
				})
			}
			close(start)
			wg.Wait()
			billed, exempt := 0, 0
			var amount int64
			for i, r := range results {
				if errs[i] != nil || r.Failed > 0 {
					t.Fatalf("run %d: %v %+v", i, errs[i], r)
				}
				billed, exempt, amount = billed+r.Billed, exempt+r.Exempt, amount+r.Amount
			}
			if billed != paying || exempt != 1 || amount != paying*3000 {
				t.Fatalf("4 runs at once billed %d (€ %s), %d exempt: want %d and 1", billed, schools.Euro(amount), exempt, paying)
			}
			d := h[0]
			if n := countRows(t, d, `SELECT COUNT(*) FROM payments_positions WHERE source = 'schools' AND category = 'school' AND amount = 3000 AND year = 2026`); n != paying {
				t.Fatalf("%d positions in payments, want %d", n, paying)
			}
			if n := countRows(t, d, `SELECT COUNT(DISTINCT n.number) FROM payments_notices n JOIN payments_positions p ON p.id = n.position_id
				JOIN schools_bills b ON b.notice_id = n.id JOIN schools_enrolments e ON e.id = b.enrolment_id
				WHERE p.source = 'schools' AND p.debtor_cf = e.parent_fc AND n.due_date = '2026-10-31' AND b.period = $1`, billMonth); n != paying {
				t.Fatalf("%d notices of the parents due at the month's end, want %d", n, paying)
			}
			if n := countRows(t, d, `SELECT COUNT(*) FROM schools_bills WHERE period = $1 AND notice_id IS NULL AND amount_cents = 0`, billMonth); n != 1 {
				t.Fatalf("%d exemptions recorded, want 1", n)
			}
			if n := countRows(t, d, `SELECT COUNT(*) FROM schools_bills b JOIN schools_enrolments e ON e.id = b.enrolment_id WHERE e.status <> 'accepted'`); n != 0 {
				t.Fatalf("%d bills of enrolments not accepted", n)
			}
			if n := countRows(t, d, `SELECT COUNT(*) FROM mail_outbox WHERE subject = $1`, "Pre scuola: avviso di pagamento 10/2026"); n != paying {
				t.Fatalf("%d mails with the notices, want %d", n, paying)
			}
			// Again: nothing new.
			r, err := stores[1].BillMonth(ctx, billMonth, schools.Actor{Name: "system"}, nil)
			if err != nil || r.Billed != 0 || r.Exempt != 0 || r.Already != paying+1 {
				t.Fatalf("the month again: %+v %v", r, err)
			}
			if n := countRows(t, d, `SELECT COUNT(*) FROM payments_positions`); n != paying {
				t.Fatalf("%d positions after the month again", n)
			}
			// July is not a month of school: no monthly fee (billed in July:
			// a month not begun is refused).
			if _, err := stores[0].BillMonth(ctx, "2027-07", schools.Actor{Name: "system"}, nil); !errors.Is(err, schools.ErrMonthAhead) {
				t.Fatalf("July billed ahead: %v", err)
			}
			july := &schools.Store{DB: h[0], Biller: stores[0].Biller, Now: func() time.Time { return time.Date(2027, time.July, 2, 9, 0, 0, 0, hours.Rome) }}
			if r, err := july.BillMonth(ctx, "2027-07", schools.Actor{Name: "system"}, nil); err != nil || r.Billed+r.Exempt+r.Already != 0 {
				t.Fatalf("July: %+v %v", r, err)
			}
			// November is a month of its own.
			if r, err := stores[0].BillMonth(ctx, "2026-11", schools.Actor{Name: "system"}, nil); err != nil || r.Billed != paying || r.Exempt != 1 {
				t.Fatalf("November: %+v %v", r, err)
			}
			if n := countRows(t, d, `SELECT COUNT(*) FROM audit_log WHERE action = 'schools.billing.run'`); n < 2 {
				t.Fatalf("%d audit entries of billing runs", n)
			}
		})
	}
}

// `civico billing run --month YYYY-MM` bills through payments as the daily
// job does, shows its progress, and bills nothing the second time; a
// month written otherwise is a usage error. On both databases.
func TestBillingRunCommand(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			env := map[string]string{"CIVICO_DATA_DIR": dir}
			if dialect == db.Postgres {
				base := os.Getenv(dbtest.PostgresEnv)
				if base == "" {
					t.Skip(dbtest.SkipMessage)
				}
				admin, err := db.Open(ctx, db.Target{Dialect: db.Postgres, URL: base})
				if err != nil {
					t.Fatal(err)
				}
				defer admin.Close()
				schema := "t_billing_" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
				if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _, _ = admin.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`) })
				env["CIVICO_DATABASE_URL"] = dbtest.WithSearchPath(t, base, schema)
			}
			if code, out, errOut := runCLI(t, env, "migrate"); code != 0 {
				t.Fatalf("migrate: %d %q %q", code, out, errOut)
			}
			target, err := db.ParseURL(env["CIVICO_DATABASE_URL"], dir)
			if err != nil {
				t.Fatal(err)
			}
			d, err := db.Open(ctx, target)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if err := ensureDemo(ctx, town.NewStore(d, 0)); err != nil {
				t.Fatal(err)
			}
			billFixture(t, d, 3)
			code, out, errOut := runCLI(t, env, "billing", "run", "--month", billMonth)
			if code != 0 || !strings.Contains(out, "2026-10: 3 bills, € 90,00; 1 exempt; 0 billed before") || !strings.Contains(errOut, "billing 2026-10: 4/4") {
				t.Fatalf("billing run: %d %q %q", code, out, errOut)
			}
			if code, out, _ := runCLI(t, env, "billing", "run", "--month", billMonth); code != 0 || !strings.Contains(out, "0 bills, € 0,00; 0 exempt; 4 billed before") {
				t.Fatalf("billing run again: %d %q", code, out)
			}
			if n := countRows(t, d, `SELECT COUNT(*) FROM payments_positions WHERE source = 'schools'`); n != 3 {
				t.Fatalf("%d positions", n)
			}
			if code, _, errOut := runCLI(t, env, "billing", "run", "--month", "10/2026"); code != 2 || !strings.Contains(errOut, "YYYY-MM") {
				t.Fatalf("a wrong month: %d %q", code, errOut)
			}
			ahead := time.Now().In(hours.Rome).AddDate(0, 2, 0).Format("2006-01")
			if code, _, errOut := runCLI(t, env, "billing", "run", "--month", ahead); code != 2 || !strings.Contains(errOut, "has not begun") {
				t.Fatalf("a month not begun: %d %q", code, errOut)
			}
			// The canteen's attendance: a wrong file imports nothing and names
			// the line; the right one is imported once; the month's run bills
			// its meals.
			canteen, kid := mealFixture(t, d)
			wrong := filepath.Join(dir, "sbagliato.csv")
			right := filepath.Join(dir, "ottobre.csv")
			if err := os.WriteFile(wrong, []byte(schools.AttendanceHeader+"\n"+kid+";2026-10;40\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(right, []byte(schools.AttendanceHeader+"\n"+kid+";2026-10;18\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if code, _, errOut := runCLI(t, env, "billing", "attendance", "--service", canteen, wrong); code != 1 || !strings.Contains(errOut, "line 2: the meals are a number from 0 to 31") {
				t.Fatalf("a wrong attendance file: %d %q", code, errOut)
			}
			if code, out, errOut := runCLI(t, env, "billing", "attendance", "--service", canteen, right); code != 0 || !strings.Contains(out, "1 lines, 18 meals imported for Refezione") {
				t.Fatalf("attendance: %d %q %q", code, out, errOut)
			}
			if code, out, _ := runCLI(t, env, "billing", "attendance", right, "--service", canteen); code != 0 || !strings.Contains(out, "imported before, nothing changed") {
				t.Fatalf("attendance again: %d %q", code, out)
			}
			if code, _, errOut := runCLI(t, env, "billing", "attendance", "--service", "nessuno", right); code != 2 {
				t.Fatalf("attendance of no service: %d %q", code, errOut)
			}
			if code, out, _ := runCLI(t, env, "billing", "run", "--month", billMonth); code != 0 || !strings.Contains(out, "1 bills, € 63,00") || !strings.Contains(out, "18 meals billed") {
				t.Fatalf("billing the meals: %d %q", code, out)
			}
		})
	}
}

// The journey from enrolment to bill to payment through the server as
// built: a parent (card login) enrols a child in a monthly service; the
// month is billed; the parent gets the notice by mail (real SMTP), sees it
// on the enrolment and in I miei pagamenti, and pays it in the sandbox.
// Another parent sees none of it.
func TestSchoolsBillPaidInTheSandbox(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newSportelloSite(t, d)
		base := s.tls.URL
		store := s.apps.civico.schools.Store
		now := time.Now().In(hours.Rome)
		by := schools.Actor{Name: "operator:test"}
		svcID, err := store.PutService(ctx, "", schools.ServiceInput{SchoolYear: billYear, Kind: string(schools.PostSchool), Title: "Post scuola",
			Opens: now.Add(-time.Hour).Format("2006-01-02T15:04"), Closes: now.Add(24 * time.Hour).Format("2006-01-02T15:04"), Classes: []string{"P2"},
			TariffUnit: "month", Bands: "7000: 25,00\noltre: 55,00", Sibling2: "30"}, by)
		if err != nil {
			t.Fatal(err)
		}
		unit, err := store.AddUnit(ctx, svcID, schools.UnitInput{Label: "Primaria Costa", Capacity: "10"}, by)
		if err != nil {
			t.Fatal(err)
		}
		const mailA = "anna.verdi@example.org"
		a, _ := s.resident("VRDNNA80A41F205", "ANNA", "VERDI", mailA)
		// The mother and her two children are one household in the
		// register: the second child's reduction counts the first.
		var family []population.Person
		for _, fc := range []string{"VRDNNA80A41F205", "VRDSFO19A41F205", "VRDLCU20A01F205"} {
			family = append(family, population.Person{FiscalCode: complete(t, fc), District: "Centro", Household: "F-VRD"})
		}
		if err := (&population.Register{DB: d}).Put(ctx, family...); err != nil {
			t.Fatal(err)
		}
		fields := url.Values{"privacy": {"1"}, "unit": {unit}, "child_given": {"Sofia"}, "child_family": {"Verdi"}, "child_fc": {complete(t, "VRDSFO19A41F205")},
			"school": {"Primaria Costa"}, "class": {"P2"}, "isee": {"6.500"}}
		res, _ := postMultipart(a, base+schools.Path+"/"+svcID+"/iscrizione", fields, "", nil)
		m := regexp.MustCompile(`^/area-personale/iscrizioni-scolastiche/([0-9a-f]{32})\?inviata=1$`).FindStringSubmatch(res.Header.Get("Location"))
		if res.StatusCode != http.StatusSeeOther || m == nil {
			t.Fatalf("enrol: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		enrolment := m[1]
		// A second child: the form shows the reduced tariff before sending.
		res, body := a.do("GET", base+schools.Path+"/"+svcID+"/iscrizione", nil)
		if res.StatusCode != 200 || !strings.Contains(body, "Per te (−30 %)") || !strings.Contains(body, "€ 17,50") || !strings.Contains(body, "questo sarebbe il 2°") {
			t.Fatalf("the form of a second child: %d", res.StatusCode)
		}
		fields.Set("child_given", "Luca")
		fields.Set("child_fc", complete(t, "VRDLCU20A01F205"))
		if res, _ := postMultipart(a, base+schools.Path+"/"+svcID+"/iscrizione", fields, "", nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("second child: %d", res.StatusCode)
		}
		// The children were enrolled through the server today; billMonth is
		// October: the parent enrolled them before it.
		if _, err := d.ExecContext(ctx, `UPDATE schools_enrolments SET accepted_at = $2 WHERE service_id = $1`, svcID,
			time.Date(2026, time.September, 1, 9, 0, 0, 0, hours.Rome).UTC()); err != nil {
			t.Fatal(err)
		}
		r, err := store.BillMonth(ctx, billMonth, schools.Actor{Name: "system"}, nil)
		if err != nil || r.Billed != 2 || r.Amount != 2500+1750 {
			t.Fatalf("billing: %+v %v", r, err)
		}
		var noticeID, number string
		if err := d.QueryRowContext(ctx, `SELECT notice_id, notice_number FROM schools_bills WHERE enrolment_id = $1 AND period = $2`, enrolment, billMonth).Scan(&noticeID, &number); err != nil {
			t.Fatal(err)
		}
		// The mail names the notice and where to pay it.
		var notices []string
		for _, m := range s.mailsTo(mailA) {
			if strings.HasPrefix(m, "Post scuola: avviso di pagamento 10/2026\n") {
				notices = append(notices, m)
			}
		}
		if len(notices) != 2 || !strings.Contains(strings.Join(notices, "\n"), number) || !strings.Contains(strings.Join(notices, "\n"), "€ 17,50") {
			t.Fatalf("mails with the notices: %q", notices)
		}
		if m := notices[0] + notices[1]; !strings.Contains(m, "€ 25,00, avviso pagoPA n. "+number) || !strings.Contains(m, "/area-personale/pagamenti/avvisi/"+noticeID) {
			t.Fatalf("the first child's notice is not mailed: %q", notices)
		}
		// The enrolment shows its bill, linked to the notice.
		if res, body := a.do("GET", base+schools.AreaPath+"/"+enrolment, nil); res.StatusCode != 200 || !strings.Contains(body, "/area-personale/pagamenti/avvisi/"+noticeID) ||
			!strings.Contains(body, "10/2026") || !strings.Contains(body, "€ 25,00") {
			t.Fatalf("the enrolment's bills: %d", res.StatusCode)
		}
		// I miei pagamenti lists it; another parent sees nothing of it.
		res, body = a.do("GET", base+payments.AreaPath, nil)
		if res.StatusCode != 200 || !strings.Contains(body, "Post scuola – ottobre 2026 – Sofia") || !strings.Contains(body, "Post scuola – ottobre 2026 – Luca") {
			t.Fatalf("I miei pagamenti: %d\n%s", res.StatusCode, body)
		}
		b, _ := s.resident("NREBRN82B01F205", "BRUNO", "NERI", "")
		if _, body := b.do("GET", base+payments.AreaPath, nil); strings.Contains(body, "Post scuola – ottobre 2026") {
			t.Fatal("another parent sees the bill")
		}
		if res, _ := b.do("GET", base+payments.AreaPath+"/avvisi/"+noticeID, nil); res.StatusCode != http.StatusNotFound {
			t.Fatalf("another parent's notice: %d", res.StatusCode)
		}
		// Paid in the sandbox.
		_, body = a.do("GET", base+payments.AreaPath, nil)
		key := keyRE.FindStringSubmatch(body)
		if key == nil {
			t.Fatal("no checkout form in I miei pagamenti")
		}
		res, _ = a.do("POST", base+payments.AreaPath+"/paga", url.Values{"chiave": {key[1]}, "avviso": {noticeID}})
		page := res.Header.Get("Location")
		if res.StatusCode != http.StatusSeeOther || !sandboxRE.MatchString(page) {
			t.Fatalf("checkout: %d to %q", res.StatusCode, page)
		}
		if res, body := a.do("GET", page, nil); res.StatusCode != 200 || !strings.Contains(body, "25,00") {
			t.Fatalf("sandbox page: %d", res.StatusCode)
		}
		res, _ = a.do("POST", page, url.Values{"esito": {"paid"}})
		back := res.Header.Get("Location")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(back, base+payments.AreaPath+"/esito/") {
			t.Fatalf("sandbox: %d back to %q", res.StatusCode, back)
		}
		if res, body := a.do("GET", back, nil); res.StatusCode != 200 || !strings.Contains(body, `data-outcome="paid"`) {
			t.Fatalf("outcome: %d", res.StatusCode)
		}
		n, err := s.apps.civico.payments.Service.OwnNotice(ctx, complete(t, "VRDNNA80A41F205"), noticeID)
		if err != nil || n.Status != payments.StatusPaid {
			t.Fatalf("the notice after the payment: %+v %v", n, err)
		}
	})
}

// A service by ranking through the server as built: the school office
// makes it with its points (and cannot switch it to first come once a
// parent enrolled); its page and form say how places are given, the form
// takes the declarations; the parent's enrolment is received without a
// place and listed as waiting for the ranking; when the window has closed
// the periodic job ranks it and the parent is mailed the outcome.
func TestSchoolsRankingThroughTheServer(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newSportelloSite(t, d)
		base := s.tls.URL
		office := operatorBrowser(t, s.idSite, "scuole@comune.example.it", "schools")
		now := time.Now().In(hours.Rome)
		form := url.Values{"title": {"Pre scuola"}, "school_year": {billYear}, "kind": {"preschool"}, "opens": {now.Add(-time.Hour).Format("2006-01-02T15:04")},
			"closes": {now.Add(48 * time.Hour).Format("2006-01-02T15:04")}, "classes": {"P2"}, "tariff_unit": {"month"}, "bands": {"oltre: 20"},
			"mode": {"ranking"}, "points_resident": {"10"}, "points_sibling": {"abc"}, "points_working": {"3"}}
		if res, body := office.do("POST", s.plain.URL+"/backoffice/servizi-scolastici/nuovo", form); res.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(body, `id="f-points_sibling-error"`) || !strings.Contains(body, `value="10"`) {
			t.Fatalf("wrong points: %d", res.StatusCode)
		}
		form.Set("points_sibling", "5")
		res, _ := office.do("POST", s.plain.URL+"/backoffice/servizi-scolastici/nuovo", form)
		m := regexp.MustCompile(`^/backoffice/servizi-scolastici/([0-9a-f]{32})\?salvato=1$`).FindStringSubmatch(res.Header.Get("Location"))
		if res.StatusCode != http.StatusSeeOther || m == nil {
			t.Fatalf("new service: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		svcID := m[1]
		if res, _ := office.do("POST", s.plain.URL+"/backoffice/servizi-scolastici/"+svcID+"/unita", url.Values{"label": {"Primaria Garibaldi"}, "capacity": {"1"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("add unit: %d", res.StatusCode)
		}
		_, body := office.do("GET", s.plain.URL+"/backoffice/servizi-scolastici/"+svcID, nil)
		unit := regexp.MustCompile(`/backoffice/servizi-scolastici/unita/([0-9a-f]{32})`).FindStringSubmatch(body)
		if unit == nil || !strings.Contains(body, `<option value="ranking" selected>`) {
			t.Fatal("the service's page: no unit, or not by ranking")
		}
		if res, body := s.browser(t, nil).do("GET", s.plain.URL+schools.Path+"/"+svcID, nil); res.StatusCode != 200 || !strings.Contains(body, "residenza del bambino nel Comune: 10 punti") {
			t.Fatalf("the service's public page: %d", res.StatusCode)
		}
		const mailA = "anna.verdi@example.org"
		a, _ := s.resident("VRDNNA80A41F205", "ANNA", "VERDI", mailA)
		if res, body := a.do("GET", base+schools.Path+"/"+svcID+"/iscrizione", nil); res.StatusCode != 200 || !strings.Contains(body, `name="working_parents"`) {
			t.Fatalf("the form: %d", res.StatusCode)
		}
		fields := url.Values{"privacy": {"1"}, "unit": {unit[1]}, "child_given": {"Sofia"}, "child_family": {"Verdi"}, "child_fc": {complete(t, "VRDSFO19A41F205")},
			"school": {"Primaria Garibaldi"}, "class": {"P2"}, "no_isee": {"1"}, "working_parents": {"1"}}
		res, _ = postMultipart(a, base+schools.Path+"/"+svcID+"/iscrizione", fields, "", nil)
		loc := res.Header.Get("Location")
		if res.StatusCode != http.StatusSeeOther || !strings.HasSuffix(loc, "?inviata=1") {
			t.Fatalf("enrol: %d %s", res.StatusCode, loc)
		}
		if _, body := a.do("GET", base+loc, nil); !strings.Contains(body, "In attesa di graduatoria") || !strings.Contains(body, "i posti si assegnano con la graduatoria") {
			t.Fatal("the answer does not say the ranking decides")
		}
		if _, body := office.do("GET", s.plain.URL+"/backoffice/servizi-scolastici/unita/"+unit[1]+"?stato=pending", nil); !strings.Contains(body, "VRDSFO19A41F205") {
			t.Fatal("the office's list of enrolments waiting for the ranking")
		}
		// A second parent, without the working parents' points: ranked second.
		b, _ := s.resident("NREBRN82B01F205", "BRUNO", "NERI", "bruno.neri@example.org")
		fieldsB := url.Values{"privacy": {"1"}, "unit": {unit[1]}, "child_given": {"Luca"}, "child_family": {"Neri"}, "child_fc": {complete(t, "NRELCU19A01F205")},
			"school": {"Primaria Garibaldi"}, "class": {"P2"}, "no_isee": {"1"}}
		res, _ = postMultipart(b, base+schools.Path+"/"+svcID+"/iscrizione", fieldsB, "", nil)
		locB := res.Header.Get("Location")
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("enrol B: %d", res.StatusCode)
		}
		// No published ranking before the ranking.
		public := s.plain.URL + schools.Path + "/" + svcID + "/graduatoria"
		for _, u := range []string{public, public + ".csv", public + ".json"} {
			if res, _ := s.browser(t, nil).do("GET", u, nil); res.StatusCode != http.StatusNotFound {
				t.Fatalf("%s before the ranking: %d", u, res.StatusCode)
			}
		}
		form.Set("mode", "first_come")
		if res, body := office.do("POST", s.plain.URL+"/backoffice/servizi-scolastici/"+svcID, form); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-mode-error"`) {
			t.Fatalf("the mode changed after an enrolment: %d", res.StatusCode)
		}
		// The window closes; the periodic job ranks.
		if _, err := d.ExecContext(ctx, `UPDATE schools_services SET opens_at = $2, closes_at = $3 WHERE id = $1`, svcID, time.Now().Add(-2*time.Hour).UTC(), time.Now().Add(-time.Minute).UTC()); err != nil {
			t.Fatal(err)
		}
		ranked := false
		for _, task := range s.apps.tasks {
			if task.Feature == "schools" && task.Name == "rankings at window close" {
				if err := task.Run(ctx); err != nil {
					t.Fatal(err)
				}
				ranked = true
			}
		}
		if !ranked {
			t.Fatal("no ranking job")
		}
		if _, body := a.do("GET", base+strings.TrimSuffix(loc, "?inviata=1"), nil); !strings.Contains(body, "badge bg-success") {
			t.Fatal("not accepted after the ranking")
		}
		got := s.mailsTo(mailA)
		if len(got) != 2 || !strings.HasPrefix(got[0], "Pre scuola: iscrizione ricevuta\n") || !strings.HasPrefix(got[1], "Pre scuola: graduatoria, iscrizione accolta\n") {
			t.Fatalf("mails: %q", got)
		}
		// The published ranking: application numbers, positions, outcomes;
		// no names, no fiscal codes; as a page (no JavaScript), CSV and JSON.
		idA := regexp.MustCompile(`([0-9a-f]{32})`).FindString(loc)
		idB := regexp.MustCompile(`([0-9a-f]{32})`).FindString(locB)
		protoA, protoB := schools.Protocol(idA), schools.Protocol(idB)
		if _, body := a.do("GET", base+strings.TrimSuffix(loc, "?inviata=1"), nil); !strings.Contains(body, protoA) {
			t.Fatal("the parent's page does not show the application number")
		}
		// (Another address than before: the public page's cache keeps the
		// page as it was for a few seconds.)
		if _, body := s.browser(t, nil).do("GET", s.plain.URL+schools.Path+"/"+svcID+"?dopo=1", nil); !strings.Contains(body, `href="/servizi-scolastici/`+svcID+`/graduatoria"`) {
			t.Fatal("the service's page does not link the published ranking")
		}
		res, body = s.browser(t, nil).do("GET", public, nil)
		rowA := regexp.MustCompile(`<tr><td>1</td><th scope="row"><code>` + protoA + `</code></th><td>Ammessa</td><td>Accolta</td></tr>`)
		rowB := regexp.MustCompile(`<tr><td>2</td><th scope="row"><code>` + protoB + `</code></th><td>In lista d&#39;attesa</td><td>In lista d&#39;attesa</td></tr>`)
		if res.StatusCode != 200 || !rowA.MatchString(body) || !rowB.MatchString(body) {
			t.Fatalf("the published ranking: %d", res.StatusCode)
		}
		res, csvBody := s.browser(t, nil).do("GET", public+".csv", nil)
		if res.StatusCode != 200 || csvBody != schools.RankingCSVHeader+"\nPrimaria Garibaldi;1;"+protoA+";accepted;accepted\nPrimaria Garibaldi;2;"+protoB+";waiting;waiting\n" {
			t.Fatalf("the CSV: %d %q", res.StatusCode, csvBody)
		}
		res, jsonBody := s.browser(t, nil).do("GET", public+".json", nil)
		var published schools.RankingJSON
		if err := json.Unmarshal([]byte(jsonBody), &published); res.StatusCode != 200 || err != nil || len(published.Units) != 1 || len(published.Units[0].Lines) != 2 ||
			published.Units[0].Lines[1] != (schools.Ranked{Rank: 2, Protocol: protoB, Outcome: schools.Waiting, Status: schools.Waiting}) {
			t.Fatalf("the JSON: %d %v %q", res.StatusCode, err, jsonBody)
		}
		for _, got := range []string{body, csvBody, jsonBody} {
			for _, personal := range []string{"Sofia", "Luca", "Verdi", "Neri", "VRDSFO", "NRELCU", "VRDNNA", "NREBRN", idA, idB} {
				if strings.Contains(got, personal) {
					t.Fatalf("the published ranking holds %q", personal)
				}
			}
		}
		// A withdrawal shows in the status now, not in the outcome.
		if res, _ := a.do("POST", base+strings.TrimSuffix(loc, "?inviata=1")+"/ritira", url.Values{}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("withdraw: %d", res.StatusCode)
		}
		if _, csvBody := s.browser(t, nil).do("GET", public+".csv", nil); !strings.Contains(csvBody, protoA+";accepted;withdrawn\n") || !strings.Contains(csvBody, protoB+";waiting;accepted\n") {
			t.Fatalf("the CSV after a withdrawal: %q", csvBody)
		}
		// The exports read the whole list: a client has a budget of them.
		busy := false
		for range schools.RankingExports + 1 {
			if res, _ := s.browser(t, nil).do("GET", public+".json", nil); res.StatusCode == http.StatusTooManyRequests && res.Header.Get("Retry-After") != "" {
				busy = true
				break
			}
		}
		if !busy {
			t.Fatal("the exports have no budget")
		}
		if res, _ := s.browser(t, nil).do("GET", public, nil); res.StatusCode != 200 {
			t.Fatalf("the page past the exports' budget: %d", res.StatusCode)
		}
	})
}

// The school office uploads the canteen's attendance through the back
// office as built: a wrong line is named on the page and nothing is
// imported; the right file is imported once; the page of a service not
// billed per meal does not exist; a parent may not upload.
func TestSchoolsAttendanceUpload(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSportelloSite(t, d)
		office := operatorBrowser(t, s.idSite, "scuole@comune.example.it", "schools")
		canteen, kid := mealFixture(t, d)
		page := s.plain.URL + "/backoffice/servizi-scolastici/presenze/" + canteen
		if res, body := office.do("GET", s.plain.URL+"/backoffice/servizi-scolastici/"+canteen, nil); res.StatusCode != 200 || !strings.Contains(body, `href="/backoffice/servizi-scolastici/presenze/`+canteen+`"`) {
			t.Fatalf("the service's page does not link the attendance: %d", res.StatusCode)
		}
		if res, body := office.do("GET", page, nil); res.StatusCode != 200 || !strings.Contains(body, `enctype="multipart/form-data"`) || !strings.Contains(body, "Nessun file importato") {
			t.Fatalf("the attendance page: %d", res.StatusCode)
		}
		wrong := []byte(schools.AttendanceHeader + "\n" + kid + ";2026-10;18\n" + kid + ";2026-09;40\n")
		if res, body := postFile(office, page+"/importa", nil, "file", "sbagliato.csv", wrong); res.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(body, "1 righe da correggere") || !strings.Contains(body, "I pasti sono un numero da 0 a 31") {
			t.Fatalf("a wrong file: %d", res.StatusCode)
		}
		if n := countRows(t, d, `SELECT COUNT(*) FROM schools_attendance`); n != 0 {
			t.Fatalf("a wrong file imported %d lines", n)
		}
		right := []byte(schools.AttendanceHeader + "\n" + kid + ";2026-10;18\n")
		if res, body := postFile(office, page+"/importa", nil, "file", "ottobre.csv", right); res.StatusCode != 200 || !strings.Contains(body, "Presenze importate: 1 righe, 18 pasti") ||
			!strings.Contains(body, "ottobre.csv") {
			t.Fatalf("the right file: %d", res.StatusCode)
		}
		if res, body := postFile(office, page+"/importa", nil, "file", "ottobre-bis.csv", right); res.StatusCode != http.StatusConflict || !strings.Contains(body, "già stato importato") {
			t.Fatalf("the same file again: %d", res.StatusCode)
		}
		if res, _ := postFile(office, page+"/importa", nil, "nope", "x.csv", right); res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("no file: %d", res.StatusCode)
		}
		monthly := billFixture(t, d, 1)
		if res, _ := office.do("GET", s.plain.URL+"/backoffice/servizi-scolastici/presenze/"+monthly, nil); res.StatusCode != http.StatusNotFound {
			t.Fatalf("a monthly service's attendance: %d", res.StatusCode)
		}
		a, _ := s.resident("VRDNNA80A41F205", "ANNA", "VERDI", "anna.verdi@example.org")
		if res, _ := postFile(a, s.tls.URL+"/backoffice/servizi-scolastici/presenze/"+canteen+"/importa", nil, "file", "x.csv", right); res.StatusCode != http.StatusForbidden &&
			res.StatusCode != http.StatusNotFound {
			t.Fatalf("a parent uploads: %d", res.StatusCode)
		}
		if n := countRows(t, d, `SELECT COUNT(*) FROM schools_attendance`); n != 1 {
			t.Fatalf("%d lines", n)
		}
	})
}
