package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/area"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/web"
)

// A page of the inbox carries the counts of the whole inbox, whichever
// page it is: the first, a middle one, one past the end, one of the
// unread only, one of the unread when none is left; each resident's own.
// So do the desk's latest messages, with the unread count.
func TestInboxPagesCountTheWholeInbox(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newAreaSite(t, d)
		lucia, _ := s.resident(t, "lucia@example.org", "Lucia")
		marco, _ := s.resident(t, "marco@example.org", "Marco")
		start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		var ids []string // newest first
		for i := range 12 {
			id := s.post(t, lucia, area.Message{Sender: "test", Category: "area.tab.activities", Subject: fmt.Sprintf("Avviso %d", i), Body: "x",
				At: start.Add(time.Duration(i) * time.Hour)})
			ids = append([]string{id}, ids...)
		}
		s.post(t, marco, area.Message{Sender: "test", Category: "area.tab.activities", Subject: "Di Marco", Body: "x"})
		for _, id := range ids[:4] { // the four newest read
			if err := s.apps.inbox.MarkRead(ctx, lucia, id, true); err != nil {
				t.Fatal(err)
			}
		}
		check := func(limit, offset int, unread bool, total, unreadN int, want []string) {
			t.Helper()
			p, err := s.apps.inbox.List(ctx, lucia, limit, offset, unread)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range p.Messages {
				got = append(got, m.ID)
			}
			if p.Total != total || p.Unread != unreadN || !slices.Equal(got, want) {
				t.Fatalf("List(%d, %d, %v): %d messages, %d unread, %v; want %d, %d, %v", limit, offset, unread, p.Total, p.Unread, got, total, unreadN, want)
			}
		}
		check(3, 0, false, 12, 8, ids[:3])
		latest := func(n, unread int, want []string) {
			t.Helper()
			list, u, err := s.apps.inbox.Latest(ctx, lucia, n)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range list {
				got = append(got, m.ID)
			}
			if u != unread || !slices.Equal(got, want) {
				t.Fatalf("Latest(%d): %d unread, %v; want %d, %v", n, u, got, unread, want)
			}
		}
		latest(3, 8, ids[:3])
		latest(20, 8, ids)
		check(5, 5, false, 12, 8, ids[5:10])
		check(5, 10, false, 12, 8, ids[10:])
		check(5, 20, false, 12, 8, nil)
		check(3, 0, true, 12, 8, ids[4:7])
		check(5, 8, true, 12, 8, nil)
		if err := s.apps.inbox.MarkAllRead(ctx, lucia); err != nil {
			t.Fatal(err)
		}
		check(3, 0, true, 12, 0, nil)
		latest(3, 0, ids[:3])
		check(3, 0, false, 12, 0, ids[:3])
		if p, err := s.apps.inbox.List(ctx, marco, 3, 0, false); err != nil || p.Total != 1 || p.Unread != 1 || len(p.Messages) != 1 {
			t.Fatalf("Marco's inbox: %+v %v", p, err)
		}
		if p, err := s.apps.inbox.List(ctx, "nessuno", 3, 0, false); err != nil || p.Total != 0 || p.Unread != 0 || len(p.Messages) != 0 {
			t.Fatalf("an empty inbox: %+v %v", p, err)
		}
		if list, u, err := s.apps.inbox.Latest(ctx, marco, 3); err != nil || u != 1 || len(list) != 1 {
			t.Fatalf("Marco's latest: %d unread, %d messages (%v)", u, len(list), err)
		}
	})
}

// The area's pages cost one statement per feature that can hold something
// of the resident's: for a password account (no proven fiscal code, low
// assurance) the Sportello's and the booking's panels and the inbox; the
// payments, schools, cards and time-use panels, which need a proven
// fiscal code or more assurance, read nothing. The count of what awaits is
// a column of each list, and the inbox's counts of its page's. (The
// statements besides a page's own are those of any page of a logged-in
// resident: the home page's.)
func TestAreaPagesStatements(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newAreaSite(t, d)
		s.apps.portal.DebugQueries = true
		lucia, cookie := s.resident(t, "lucia@example.org", "Lucia")
		s.post(t, lucia, area.Message{Sender: "test", Category: "area.tab.activities", Subject: "Avviso", Body: "x"})
		statements := func(path string) int {
			t.Helper()
			res, _ := s.do(t, "GET", path, cookie)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d", path, res.StatusCode)
			}
			n, err := strconv.Atoi(res.Header.Get(web.QueriesHeader))
			if err != nil {
				t.Fatalf("GET %s: %s %q", path, web.QueriesHeader, res.Header.Get(web.QueriesHeader))
			}
			return n
		}
		statements("/")
		session := statements("/") // what any page of a logged-in resident reads
		for _, c := range []struct {
			path string
			want int
		}{{area.Home, 3}, {area.Home + "/attivita", 3}, {area.Home + "/messaggi", 1}} {
			if n := statements(c.path) - session; n != c.want {
				t.Errorf("GET %s: %d statements of its own, want %d", c.path, n, c.want)
			}
		}
	})
}
