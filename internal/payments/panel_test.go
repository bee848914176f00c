package payments

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/area"
	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/web"
)

// The personal area's panel: the resident's notices to pay by due date,
// at most area.MaxItems, counted without the single-payment alternative of
// a position in instalments; nothing of another resident's; nothing for a
// session that did not prove the fiscal code; nothing paid or in payment.
func TestPanel(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, _ := newService(t, d)
		i18n, err := web.NewI18n(web.Messages, Messages)
		if err != nil {
			t.Fatal(err)
		}
		h := &Web{App: &web.App{I18n: i18n}, Svc: s}
		ctx := context.Background()
		panel := func(code string) area.Summary {
			t.Helper()
			sum, err := h.panel(ctx, area.Resident{AccountID: "a", FiscalCode: code, Level: assurance.Substantial, Lang: "it"})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Title != "payments.mine.title" || sum.Href != AreaPath || sum.Needs != Need || sum.Empty == "" {
				t.Fatalf("summary %+v", sum)
			}
			return sum
		}
		if sum := panel(mario); sum.Awaiting != 0 || len(sum.Items) != 0 {
			t.Fatalf("nothing to pay yet: %+v", sum)
		}
		tari := mustCreate(t, s, NewPosition{DebtorCF: mario, Category: TARI, Reason: "TARI 2026", Year: 2026, Amount: 30000, DueDate: "2026-05-31",
			Single: true, Instalments: []Instalment{{10000, "2026-05-31", nil}, {10000, "2026-09-30", nil}, {10000, "2026-12-16", nil}}})
		for _, due := range []string{"2026-10-31", "2026-11-30", "2026-12-31", "2027-01-31"} {
			p := canteen(mario, 4520)
			p.DueDate = due
			mustCreate(t, s, p)
		}
		paid := mustCreate(t, s, canteen(mario, 1000))
		a, err := s.Checkout(ctx, mario, []string{paid.Notices[0].ID}, "k-paid", "", "", Actor{Name: "user:x"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Settle(ctx, Payment{AttemptID: a.ID, Amount: 1000, PSP: "psp", PSPRef: "r1"}, "test"); err != nil {
			t.Fatal(err)
		}
		busy := mustCreate(t, s, canteen(mario, 2000))
		if _, err := s.Checkout(ctx, mario, []string{busy.Notices[0].ID}, "k-busy", "", "", Actor{Name: "user:x"}); err != nil {
			t.Fatal(err)
		}
		mustCreate(t, s, canteen(anna, 9999))

		sum := panel(mario)
		// 3 instalments + 4 canteen months; not the single TARI payment,
		// not the paid notice, not the one in payment, not Anna's.
		if sum.Awaiting != 7 || len(sum.Items) != area.MaxItems {
			t.Fatalf("awaiting %d, %d items: %+v", sum.Awaiting, len(sum.Items), sum.Items)
		}
		first := sum.Items[0]
		if first.Href != AreaPath+"/avvisi/"+tari.Notices[1].ID || !first.Awaiting || first.Status != "payments.status.open" ||
			first.When.Format("2006-01-02") != "2026-05-31" || !strings.Contains(first.Label, "rata 1 di 3") || !strings.Contains(first.Label, "100,00") {
			t.Fatalf("first item %+v", first)
		}
		for i := 1; i < len(sum.Items); i++ {
			if sum.Items[i].When.Before(sum.Items[i-1].When) {
				t.Fatalf("not by due date: %+v", sum.Items)
			}
			if strings.Contains(sum.Items[i].Label, "99,99") || strings.Contains(sum.Items[i].Label, "10,00") || strings.Contains(sum.Items[i].Label, "20,00") {
				t.Fatalf("an item not to pay: %+v", sum.Items[i])
			}
		}
		if sum := panel(""); sum.Awaiting != 0 || len(sum.Items) != 0 {
			t.Fatalf("a session without a proven fiscal code sees %+v", sum)
		}
		if sum := panel(anna); sum.Awaiting != 1 || len(sum.Items) != 1 || !strings.Contains(sum.Items[0].Label, "99,99") {
			t.Fatalf("anna's panel %+v", sum)
		}
	})
}

// I miei pagamenti shows the latest receipts, ReceiptsPerPage at a time,
// and pages on to the older ones.
func TestReceiptsPaged(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, _ := newService(t, d)
		ctx := context.Background()
		for i := range ReceiptsPerPage + 2 {
			p := mustCreate(t, s, canteen(mario, int64(100+i)))
			if _, err := s.NodeReceipt(ctx, "bank", &p.Notices[0], fmt.Sprintf("r%d", i), int64(100+i), "bank", time.Date(2026, 11, 1+i, 9, 0, 0, 0, time.UTC)); err != nil {
				t.Fatal(err)
			}
		}
		first, total, err := s.Paid(ctx, mario, 1)
		if err != nil || total != ReceiptsPerPage+2 || len(first) != ReceiptsPerPage || first[0].Amount != int64(100+ReceiptsPerPage+1) {
			t.Fatalf("first page: %d of %d, %v", len(first), total, err)
		}
		second, _, err := s.Paid(ctx, mario, 2)
		if err != nil || len(second) != 2 || second[1].Amount != 100 {
			t.Fatalf("second page: %+v %v", second, err)
		}
		pg := pager(AreaPath, "pagati", 1, total, ReceiptsPerPage, nil)
		if pg.Pages != 2 || pg.Next != AreaPath+"?pagati=2" || pg.Prev != "" {
			t.Fatalf("pager %+v", pg)
		}
	})
}

// The totals of I miei pagamenti's two lists, told by the page when it is
// neither full nor empty past the first and counted otherwise, are the
// counts of the resident's notices to pay and receipts, on every page of
// lists that end short of a page, on a page's end and just past it.
func TestListTotals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, _ := newService(t, d)
		ctx := context.Background()
		mustCreate(t, s, canteen(anna, 9999))
		notices, receipts := 0, 0
		check := func() {
			t.Helper()
			for page := 1; page <= 3; page++ {
				list, total, err := s.ToPay(ctx, mario, page)
				if err != nil || total != notices || len(list) != max(0, min(PerPage, notices-(page-1)*PerPage)) {
					t.Fatalf("%d notices, page %d: %d listed of %d, %v", notices, page, len(list), total, err)
				}
				paid, total, err := s.Paid(ctx, mario, page)
				if err != nil || total != receipts || len(paid) != max(0, min(ReceiptsPerPage, receipts-(page-1)*ReceiptsPerPage)) {
					t.Fatalf("%d receipts, page %d: %d listed of %d, %v", receipts, page, len(paid), total, err)
				}
			}
		}
		check()
		for _, want := range []int{1, ReceiptsPerPage - 1, ReceiptsPerPage, ReceiptsPerPage + 1, 2 * ReceiptsPerPage} {
			for receipts < want {
				p := mustCreate(t, s, canteen(mario, int64(100+receipts)))
				if _, err := s.NodeReceipt(ctx, "bank", &p.Notices[0], fmt.Sprintf("r%d", receipts), int64(100+receipts), "bank", time.Date(2026, 11, 1, 9, receipts, 0, 0, time.UTC)); err != nil {
					t.Fatal(err)
				}
				receipts++
			}
			check()
		}
		for _, want := range []int{1, PerPage - 1, PerPage, PerPage + 1, 2 * PerPage} {
			for notices < want {
				mustCreate(t, s, canteen(mario, int64(200+notices)))
				notices++
			}
			check()
		}
	})
}
