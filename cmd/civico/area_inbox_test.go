package main

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
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

// The Messaggi tab's badge, on every tab of the personal area, is counted
// once and kept (area.Inbox.UnreadTTL, caches.Unread): a second visit
// reads no statement of its own, and whatever this process's inbox does
// (posts a message, marks one read by opening it, marks all read) shows
// at the next visit; a message another process writes shows within the
// TTL.
func TestUnreadBadgeFollowsTheInbox(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newAreaSite(t, d)
		s.apps.portal.DebugQueries = true
		lucia, cookie := s.resident(t, "lucia@example.org", "Lucia")
		badge := func() (unread, statements int) {
			t.Helper()
			res, body := s.do(t, "GET", area.Home+"/servizi", cookie)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET services: %d", res.StatusCode)
			}
			statements, _ = strconv.Atoi(res.Header.Get(web.QueriesHeader))
			if m := regexp.MustCompile(`<span class="badge bg-primary ms-1">(\d+)<span class="visually-hidden">`).FindStringSubmatch(body); m != nil {
				unread, _ = strconv.Atoi(m[1])
			}
			return unread, statements
		}
		home := func() int {
			res, _ := s.do(t, "GET", "/", cookie)
			n, _ := strconv.Atoi(res.Header.Get(web.QueriesHeader))
			return n
		}
		home()
		session := home() // what any page of a logged-in resident reads
		if n, _ := badge(); n != 0 {
			t.Fatalf("no message, a badge of %d", n)
		}
		if n, q := badge(); n != 0 || q != session {
			t.Fatalf("again: a badge of %d and %d statements, want none and the session's %d", n, q, session)
		}
		first := s.post(t, lucia, area.Message{Sender: "test", Category: "area.tab.activities", Subject: "Primo", Body: "x"})
		s.post(t, lucia, area.Message{Sender: "test", Category: "area.tab.activities", Subject: "Secondo", Body: "x"})
		if n, _ := badge(); n != 2 {
			t.Fatalf("two messages posted through the inbox: a badge of %d, want 2 at once", n)
		}
		if res, _ := s.do(t, "GET", area.Path(first), cookie); res.StatusCode != http.StatusOK {
			t.Fatalf("open a message: %d", res.StatusCode)
		}
		if n, _ := badge(); n != 1 {
			t.Fatalf("one message opened: a badge of %d, want 1 at once", n)
		}
		if err := s.apps.inbox.MarkAllRead(context.Background(), lucia); err != nil {
			t.Fatal(err)
		}
		if n, _ := badge(); n != 0 {
			t.Fatalf("all marked read: a badge of %d, want none at once", n)
		}
		// Another process's message: a row this process's inbox did not write.
		if _, err := d.ExecContext(context.Background(), `INSERT INTO area_messages (id, account_id, sender, category, subject, body, link, public, created_at)
			VALUES ('m-other-process', $1, 'test', 'area.tab.activities', 'Altrove', 'x', '', FALSE, $2)`, lucia, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(defaultCaches().Unread + 5*time.Second)
		for {
			if n, _ := badge(); n == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("a message written by another process not counted within the TTL (%s)", defaultCaches().Unread)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}
