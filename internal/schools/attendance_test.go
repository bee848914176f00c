package schools

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// The attendance import: a file with any wrong line imports nothing and
// names every wrong line; a right file is imported whole, once (the same
// file again, or twice at once, changes nothing); a child's month comes
// from one file; the month's bills charge meals times the tariff (after
// the exemption), also to a child withdrawn since, once across runs.
func TestAttendanceImportAndMealBills(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestStore(t, d)
		b := &testBiller{}
		s.Biller = b
		clock := clockAt(summer)
		s.Now = clock.Now
		id, err := s.PutService(ctx, "", ServiceInput{SchoolYear: "2026/2027", Kind: string(Canteen), Title: "Refezione scolastica",
			Opens: summer.Add(-time.Hour).Format(formTime), Closes: summer.Add(24 * time.Hour).Format(formTime), Classes: []string{"P2"},
			TariffUnit: "meal", Bands: "7000: 3,50\noltre: 4,50", ExemptISEE: "3.000"}, office)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddUnit(ctx, id, UnitInput{Label: "Primaria Costa", Capacity: "10"}, office); err != nil {
			t.Fatal(err)
		}
		svc, err := s.Service(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		ps := parents(t, d, 4)
		var es []*Outcome
		for i, isee := range []string{"6.500", "", "2.000"} {
			r := request(t, svc, 0, i)
			r.ISEE, r.NoISEE = isee, isee == ""
			o, err := s.Enrol(ctx, ps[i], r, nil)
			if err != nil {
				t.Fatal(err)
			}
			es = append(es, o)
		}
		monthly := openServiceAt(t, s.Store, PostSchool, summer, 5)
		clock.Set(time.Date(2026, time.November, 2, 9, 0, 0, 0, rome))
		rows := func() int {
			t.Helper()
			var n int
			if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM schools_attendance`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		bad := AttendanceHeader + "\n" +
			child(t, 0) + ";2026-10;18\n" + // right
			"RSSMRA19A41F205Z;2026-10;3\n" + // a wrong check character
			child(t, 1) + ";2026-13;3\n" + // no such month
			child(t, 1) + ";2026-12;3\n" + // not begun
			child(t, 1) + ";2026-10;40\n" + // too many meals
			child(t, 0) + ";2026-10;2\n" + // twice
			child(t, 5) + ";2026-10;2\n" + // not enrolled
			child(t, 2) + ";2026-10\n" // two fields
		_, err = s.ImportAttendance(ctx, id, "bad.csv", []byte(bad), office, nil)
		var le LineErrors
		if !errors.As(err, &le) || len(le) != 6 || le[0].Line != 3 || le[5].Line != 9 {
			t.Fatalf("a wrong file: %v", err)
		}
		if rows() != 0 {
			t.Fatal("a wrong file imported lines")
		}
		// The child not enrolled is found only against the database.
		_, err = s.ImportAttendance(ctx, id, "bad.csv", []byte(AttendanceHeader+"\n"+child(t, 0)+";2026-10;18\n"+child(t, 5)+";2026-10;2\n"), office, nil)
		if !errors.As(err, &le) || len(le) != 1 || le[0].Line != 3 || le[0].Message != "schools.attendance.not_enrolled" || rows() != 0 {
			t.Fatalf("a child not enrolled: %v, %d rows", err, rows())
		}
		if _, err := s.ImportAttendance(ctx, id, "x.csv", []byte("pasti\n"), office, nil); !errors.As(err, &le) || le[0].Message != "schools.attendance.header" {
			t.Fatalf("no header: %v", err)
		}
		if _, err := s.ImportAttendance(ctx, monthly.ID, "x.csv", []byte(AttendanceHeader+"\n"), office, nil); !errors.Is(err, ErrNotPerMeal) {
			t.Fatalf("a monthly service: %v", err)
		}
		good := []byte("\ufeff" + AttendanceHeader + "\r\n" + strings.ToLower(child(t, 0)) + ";2026-10;18\r\n" + child(t, 1) + "; 2026-10 ;20\r\n" +
			child(t, 2) + ";2026-10;15\r\n" + child(t, 0) + ";2026-09;0\r\n")
		// Twice at once: one import.
		var wg sync.WaitGroup
		errs := make([]error, 2)
		var done []int
		var mu sync.Mutex
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := s.ImportAttendance(ctx, id, "ottobre.csv", good, office, func(n, _ int) {
					mu.Lock()
					done = append(done, n)
					mu.Unlock()
				})
				errs[i] = err
				if err == nil && (r.Lines != 4 || r.Meals != 53) {
					t.Errorf("result: %+v", r)
				}
			}()
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) || !errors.Is(errors.Join(errs...), ErrAttendanceBefore) || rows() != 4 {
			t.Fatalf("twice at once: %v, %d rows", errs, rows())
		}
		if _, err := s.ImportAttendance(ctx, id, "ottobre-bis.csv", good, office, nil); !errors.Is(err, ErrAttendanceBefore) {
			t.Fatalf("the same file again: %v", err)
		}
		if _, err := s.ImportAttendance(ctx, id, "altro.csv", []byte(AttendanceHeader+"\n"+child(t, 1)+";2026-10;21\n"), office, nil); !errors.As(err, &le) ||
			le[0].Message != "schools.attendance.imported" || rows() != 4 {
			t.Fatalf("a month imported from another file: %v", err)
		}
		if files, err := s.AttendanceFiles(ctx, id); err != nil || len(files) != 1 || files[0].Meals != 53 {
			t.Fatalf("files: %+v %v", files, err)
		}
		// The second child is withdrawn after October: its meals are billed.
		if _, err := s.Withdraw(ctx, es[1].ID, ps[1].AccountID, office); err != nil {
			t.Fatal(err)
		}
		res, err := s.BillMonth(ctx, "2026-11", office, nil)
		if err != nil || res.Failed > 0 || res.Billed != 2 || res.Exempt != 1 || res.Amount != 18*350+20*450 || res.Meals != 38 || res.PerMeal != 2 {
			t.Fatalf("bills: %+v %v", res, err)
		}
		got := map[string]int64{}
		for _, x := range b.bills {
			got[x.ExternalID] = x.Amount
		}
		if got["schools:"+es[0].ID+":2026-10"] != 18*350 || got["schools:"+es[1].ID+":2026-10"] != 20*450 {
			t.Fatalf("bills: %v", got)
		}
		if res, err := s.BillMonth(ctx, "2026-11", office, nil); err != nil || res.Billed+res.Exempt != 0 {
			t.Fatalf("again: %+v %v", res, err)
		}
	})
}
