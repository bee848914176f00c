package sportello

import (
	"context"
	"database/sql"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/cache"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/web"
)

// PageSize is the most rows a list shows.
const PageSize = 50

const summaryColumns = `id, service_id, service_title, state, channel, protocol, applicant_name, fiscal_code, COALESCE(assignee_id, ''), updated_at, registered_at, due_on`

// mineColumns are summaryColumns without the applicant, whom the
// resident's own list does not show.
const mineColumns = `id, service_id, service_title, state, channel, protocol, '', fiscal_code, COALESCE(assignee_id, ''), updated_at, registered_at, due_on`

func scanSummaries(rows *sql.Rows) ([]Summary, error) {
	var out []Summary
	err := eachSummary(rows, func(s Summary) error { out = append(out, s); return nil })
	return out, err
}

// eachSummary calls fn for every row as it is read, and closes rows;
// extra are the destinations of the columns after summaryColumns'.
func eachSummary(rows *sql.Rows, fn func(Summary) error, extra ...any) error {
	defer rows.Close()
	for rows.Next() {
		var s Summary
		var registered sql.NullTime
		if err := rows.Scan(append([]any{&s.ID, &s.ServiceID, &s.ServiceTitle, &s.State, &s.Channel, &s.Protocol, &s.Applicant, &s.FiscalCode,
			&s.AssigneeID, &s.UpdatedAt, &registered, &s.DueOn}, extra...)...); err != nil {
			return err
		}
		s.UpdatedAt, s.RegisteredAt = s.UpdatedAt.UTC(), timePtr(registered)
		if err := fn(s); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Mine lists the resident's applications, most recently changed first,
// a page of PageSize (page from 1), with how many there are in all. Their
// Applicant is left empty: the resident's list and the API's show it not.
func (s *Store) Mine(ctx context.Context, o Owner, page int) ([]Summary, int, error) {
	today := Day(s.now())
	page = max(page, 1)
	// The page's keys first, each part of the owner's applications read
	// in its index's order up to the page's end, then only their rows.
	rows, err := s.DB.QueryContext(ctx, `SELECT `+mineColumns+` FROM sportello_applications WHERE id IN (
		SELECT id FROM (`+owned(o, "", "$4")+`) u ORDER BY updated_at DESC, id DESC LIMIT $5 OFFSET $6)
		ORDER BY updated_at DESC, id DESC`, o.AccountID, o.FiscalCode, today, page*PageSize, PageSize, (page-1)*PageSize)
	if err != nil {
		return nil, 0, err
	}
	list, err := scanSummaries(rows)
	if err != nil {
		return nil, 0, err
	}
	total, known := web.PageTotal(len(list), page, PageSize)
	if known {
		return list, total, nil
	}
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM (`+owned(o, "", "")+`) u`, o.AccountID, o.FiscalCode, today).Scan(&total); err != nil {
		return nil, 0, err
	}
	return list, total, nil
}

// inForce1 is ownerWhere's condition on a delegated application: its
// delegation in force today ($3).
const inForce1 = `(delegation_id IS NULL OR EXISTS (SELECT 1 FROM sportello_delegations g
	WHERE g.id = sportello_applications.delegation_id AND g.revoked_at IS NULL AND g.valid_until >= $3))`

// awaitingWhere is the states in which an application waits for its
// resident; the partial indexes of migration 0270 hold those rows alone.
const awaitingWhere = `state IN ('draft', 'integration_requested', 'refusal_notice')`

// owned is the owner's applications (ownerWhere's, with $1 the account, $2 the
// fiscal code, $3 today) as their keys and update times, in parts that do
// not overlap and that each read an index in its order: with a proven
// code, the code's applications (whoever made them), then the account's
// with another code below it and above it (made before the code was
// proven, or under a delegation in force); without one, the account's.
// ownerWhere's OR read every row of both sides and sorted them: a
// resident with 200 applications paid for 400 rows at every visit of the
// desk, for its five latest. cond narrows every part (awaitingWhere);
// limit, when not empty, keeps each part's most recent that many, which is
// all that a page ending there can take from it.
func owned(o Owner, cond, limit string) string {
	part := func(where string) string {
		q := `SELECT id, updated_at FROM sportello_applications WHERE ` + where
		if cond != "" {
			q += ` AND ` + cond
		}
		if limit != "" {
			q += ` ORDER BY updated_at DESC, id DESC LIMIT ` + limit
		}
		return `SELECT id, updated_at FROM (` + q + `) p`
	}
	if o.FiscalCode == "" {
		// $2 = '' names the parameter, which PostgreSQL must see to type it.
		return part(`account_id = $1 AND $2 = '' AND ` + inForce1)
	}
	return part(`fiscal_code = $2`) +
		` UNION ALL ` + part(`account_id = $1 AND fiscal_code < $2 AND `+inForce1) +
		` UNION ALL ` + part(`account_id = $1 AND fiscal_code > $2 AND `+inForce1)
}

// Awaiting counts what waits for the resident: drafts to finish,
// integrations asked, notices to answer; and lists the most recent few.
// One statement: the count is a column of the list, an uncorrelated
// subquery the database runs once, and only if the list has a row (a
// resident with no application has nothing awaiting either).
func (s *Store) Awaiting(ctx context.Context, o Owner, limit int) (int, []Summary, error) {
	var n int
	today := Day(s.now())
	// The list's keys first, then their rows, as Mine reads its page.
	rows, err := s.DB.QueryContext(ctx, `SELECT `+mineColumns+`, (SELECT COUNT(*) FROM (`+owned(o, awaitingWhere, "")+`) w)
		FROM sportello_applications WHERE id IN (
		SELECT id FROM (`+owned(o, "", "$4")+`) u ORDER BY updated_at DESC, id DESC LIMIT $4)
		ORDER BY updated_at DESC, id DESC`, o.AccountID, o.FiscalCode, today, limit)
	if err != nil {
		return 0, nil, err
	}
	var list []Summary
	err = eachSummary(rows, func(s Summary) error { list = append(list, s); return nil }, &n)
	return n, list, err
}

// Queue names a list of the back office.
type Queue string

// The queues.
const (
	QueueToAssign Queue = "da-assegnare"
	QueueMine     Queue = "mie"
	QueueOpen     Queue = "aperte"
	QueueOverdue  Queue = "scadute"
	QueueClosed   Queue = "chiuse"
)

// Queues are the queues in the order the back office shows them.
var Queues = []Queue{QueueToAssign, QueueMine, QueueOpen, QueueOverdue, QueueClosed}

// Filter narrows a queue: a service, a state, a channel, a search (a
// protocol number, a fiscal code, or the start of a family name).
type Filter struct {
	Queue   Queue
	Me      string // the operator asking (QueueMine)
	Service string
	State   State
	Channel Channel
	Q       string
	Page    int
	Today   string // YYYY-MM-DD in Rome (QueueOverdue)
}

var protocolRE = regexp.MustCompile(`^([0-9]{4})/([0-9]{1,12})$`)

// where builds the filter's condition and arguments; every form of it
// starts with an index's leading columns (see the migration).
func (f Filter) where() (string, []any, string) {
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + itoa(len(args))
	}
	order := "registered_at, id"
	switch f.Queue {
	case QueueToAssign:
		conds = append(conds, "phase = 'open'", "assignee_id IS NULL")
	case QueueMine:
		conds = append(conds, "phase = 'open'", "assignee_id = "+arg(f.Me))
	case QueueOverdue:
		conds = append(conds, "phase = 'open'", "due_on < "+arg(f.Today))
		order = "due_on, id"
	case QueueClosed:
		conds = append(conds, "phase = 'closed'")
		order = "registered_at DESC, id DESC"
	default:
		conds = append(conds, "phase = 'open'")
	}
	if f.Service != "" {
		conds = append(conds, "service_id = "+arg(f.Service))
	}
	if f.State != "" {
		conds = append(conds, "state = "+arg(string(f.State)))
	}
	if f.Channel != "" {
		conds = append(conds, "channel = "+arg(string(f.Channel)))
	}
	if q := strings.TrimSpace(f.Q); q != "" {
		switch {
		case protocolRE.MatchString(q):
			m := protocolRE.FindStringSubmatch(q)
			conds = append(conds, "protocol = "+arg(m[1]+"/"+leftPad(m[2], 7)))
		case isFiscalCode(q):
			conds = append(conds, "fiscal_code = "+arg(strings.ToUpper(q)))
		default:
			// The start of "family given", lower case: an index range.
			k := strings.ToLower(q)
			conds = append(conds, "applicant_key >= "+arg(k), "applicant_key < "+arg(k+"\U0010FFFF"))
		}
	}
	return strings.Join(conds, " AND "), args, order
}

func isFiscalCode(q string) bool {
	_, err := cf.Parse(q)
	return err == nil
}

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }

// CountCap is the most a queue's count goes to: beyond it the back office
// shows "1000+", and its pages end there (filters and the search narrow
// a queue that long). Each count then reads at most CountCap+1 index
// entries, and a page at most CountCap+PageSize, whatever the number of
// applications: the queue page costs the same with 100 or 100,000.
const CountCap = 1000

// Count is a queue's size, up to CountCap+1 (more than CountCap).
type Count int

func (c Count) String() string {
	if c > CountCap {
		return itoa(CountCap) + "+"
	}
	return itoa(int(c))
}

// count counts a filter's applications up to CountCap+1, in the queue's
// order: so the planner reads them off the queue's index (without the
// order PostgreSQL reads the table until it has found enough, which for
// a small queue in a large table is most of it).
func (s *Store) count(ctx context.Context, where string, args []any, order string) (Count, error) {
	var n int
	err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM sportello_applications WHERE `+where+` ORDER BY `+order+
		` LIMIT `+itoa(CountCap+1)+`) c`, args...).Scan(&n)
	return Count(n), err
}

// List lists a page of a queue, with the number of applications in it
// (at most CountCap+1: see CountCap).
func (s *Store) List(ctx context.Context, f Filter) ([]Summary, Count, error) {
	where, args, order := f.where()
	total, err := s.count(ctx, where, args, order)
	if err != nil {
		return nil, 0, err
	}
	page := min(max(f.Page, 1), CountCap/PageSize+1)
	n := len(args)
	args = append(args, PageSize, (page-1)*PageSize)
	rows, err := s.DB.QueryContext(ctx, `SELECT `+summaryColumns+` FROM sportello_applications WHERE `+where+` ORDER BY `+order+
		` LIMIT $`+itoa(n+1)+` OFFSET $`+itoa(n+2), args...)
	if err != nil {
		return nil, 0, err
	}
	list, err := scanSummaries(rows)
	return list, total, err
}

// Counts are the sizes of the queues for an operator, each counted on an
// index, up to CountCap+1, or as counted at most CountsTTL ago: the four
// queues every operator sees alike are counted once for all of them, the
// operator's own for each.
func (s *Store) Counts(ctx context.Context, me string, now time.Time) (map[Queue]Count, error) {
	out := map[Queue]Count{}
	c := s.countsCache()
	for _, q := range Queues {
		f := Filter{Queue: q, Me: me, Today: Day(now)}
		k := countKey{queue: q}
		switch q {
		case QueueMine:
			k.me = me
		case QueueOverdue:
			k.day = f.Today
		}
		n, err := c.Load(k, func() (Count, error) {
			where, args, order := f.where()
			return s.count(ctx, where, args, order)
		})
		if err != nil {
			return nil, err
		}
		out[q] = n
	}
	return out, nil
}

// countKey is a queue's count in the cache: the operator's for their own
// queue, the day's for the overdue.
type countKey struct {
	queue   Queue
	me, day string
}

// countsCache is the counts kept (nil: none).
func (s *Store) countsCache() *cache.Cache[countKey, Count] {
	s.countsOnce.Do(func() { s.counts = cache.New[countKey, Count](s.CountsTTL, 512) })
	return s.counts
}

// forgetCounts drops the counts kept, after a change of the queues
// through this store: deferred by each method that writes them, so that
// it runs after the commit (a count read before it is not kept: see
// cache.Stamp).
func (s *Store) forgetCounts() { s.countsCache().Purge() }

// Each calls fn for every application of a filter, in order, for the
// CSV export: all of them, not a page.
func (s *Store) Each(ctx context.Context, f Filter, fn func(Summary) error) error {
	where, args, order := f.where()
	rows, err := s.DB.QueryContext(ctx, `SELECT `+summaryColumns+` FROM sportello_applications WHERE `+where+` ORDER BY `+order, args...)
	if err != nil {
		return err
	}
	return eachSummary(rows, fn)
}
