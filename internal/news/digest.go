package news

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/mail"
	tokens "github.com/civico-pa/civico/internal/token"
)

// Digest mails each confirmed subscriber what was published on their
// topics since their previous digest.
//
// Each subscription is handled in a transaction of its own that reads the
// end of its previous window, queues the mail in the outbox and moves the
// window's end to now: the mail leaves if and only if the window moved, so a
// crash neither sends twice nor skips an item. Several processes may send
// at once: on PostgreSQL a subscription another process is handling is
// skipped (FOR UPDATE SKIP LOCKED), and once it has been handled its window
// ends at now; on SQLite transactions take the write lock when they begin.
type Digest struct {
	News *Service
	// Log is told how many digests Daily sent; nil tells nothing.
	Log *slog.Logger
}

// Send mails the digests due at now and returns how many were queued.
// Subscriptions with nothing new get no mail, but their window still
// moves. A failing subscription does not stop the others; the errors are
// returned together.
func (d *Digest) Send(ctx context.Context, now time.Time) (int, error) {
	return d.send(ctx, now, 0)
}

// send skips the subscriptions whose previous digest is more recent than
// minGap before now.
func (d *Digest) send(ctx context.Context, now time.Time, minGap time.Duration) (int, error) {
	s := d.News
	now = now.UTC().Truncate(time.Microsecond)
	if err := d.sweep(ctx, now); err != nil {
		return 0, err
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT id FROM news_subscriptions
		WHERE confirmed_at IS NOT NULL AND COALESCE(last_digest_at, confirmed_at) < $1 ORDER BY id`, now.Add(-minGap))
	if err != nil {
		return 0, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			_ = rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	town := s.townName(ctx)
	sent := 0
	var errs []error
	for _, id := range ids {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		ok, err := d.one(ctx, id, now, minGap, town)
		if err != nil {
			errs = append(errs, fmt.Errorf("subscription %s: %w", id, err))
		}
		if ok {
			sent++
		}
	}
	return sent, errors.Join(errs...)
}

// sweep forgets subscriptions never confirmed and expired unsubscribe links.
func (d *Digest) sweep(ctx context.Context, now time.Time) error {
	return d.News.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM news_subscriptions WHERE confirmed_at IS NULL AND (token_expires_at IS NULL OR token_expires_at < $1)`, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM news_unsubscribe_tokens WHERE created_at < $1`, now.Add(-UnsubscribeTTL))
		return err
	})
}

// one handles a subscription; it reports whether a mail was queued.
func (d *Digest) one(ctx context.Context, id string, now time.Time, minGap time.Duration, town string) (bool, error) {
	s := d.News
	sent := false
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		sent = false
		if err := s.lockItems(ctx, tx, true); err != nil {
			return err
		}
		q := `SELECT email, topics, lang, confirmed_at, last_digest_at FROM news_subscriptions WHERE id = $1 AND confirmed_at IS NOT NULL` + s.DB.SkipLocked()
		var email, topics, lang string
		var confirmed time.Time
		var last sql.NullTime
		err := tx.QueryRowContext(ctx, q, id).Scan(&email, &topics, &lang, &confirmed, &last)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // unsubscribed meanwhile, or another process has it
		}
		if err != nil {
			return err
		}
		since := confirmed.UTC()
		if last.Valid {
			since = last.Time.UTC()
		}
		if !since.Before(now.Add(-minGap)) {
			return nil // another process has just sent it
		}
		items, err := s.window(ctx, tx, since, now, topics)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE news_subscriptions SET last_digest_at = $1 WHERE id = $2`, now, id); err != nil {
			return err
		}
		if len(items) == 0 {
			return nil
		}
		token, hash := tokens.New()
		if _, err := tx.ExecContext(ctx, `INSERT INTO news_unsubscribe_tokens (hash, subscription_id, created_at) VALUES ($1, $2, $3)`, hash, id, now); err != nil {
			return err
		}
		m := d.message(email, lang, town, since, items, s.BaseURL+"/novita/disiscriviti?token="+token)
		if _, err := s.Outbox.Enqueue(ctx, tx, m); err != nil {
			return err
		}
		sent = true
		return nil
	})
	return sent, err
}

// window returns the items made visible in (since, now] on the topics
// (a comma list; empty for every topic), oldest first.
func (s *Service) window(ctx context.Context, tx *sql.Tx, since, now time.Time, topics string) ([]Item, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+listColumns+` FROM news_items
		WHERE status = 'published' AND publish_at > $1 AND publish_at <= $2 ORDER BY publish_at, id`, since, now)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var wanted []string
	if topics != "" {
		wanted = strings.Split(topics, ",")
	}
	var out []Item
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, err
		}
		if wanted == nil || slices.ContainsFunc(it.Topics, func(t string) bool { return slices.Contains(wanted, t) }) {
			out = append(out, *it)
		}
	}
	return out, rows.Err()
}

// message is the digest mail: each item's title, category and date,
// summary and link, then the unsubscribe link.
func (d *Digest) message(to, lang, town string, since time.Time, items []Item, unsubscribe string) mail.Message {
	s := d.News
	var b strings.Builder
	b.WriteString(s.t(lang, "news.mail.digest.intro", "Town", town, "Since", since.In(hours.Rome).Format("02/01/2006 15:04")))
	b.WriteString("\n\n")
	for _, it := range items {
		b.WriteString(it.Title)
		b.WriteString("\n")
		b.WriteString(it.CategoryTitle() + " · " + it.Date())
		b.WriteString("\n")
		b.WriteString(it.Summary)
		b.WriteString("\n")
		b.WriteString(s.BaseURL + it.Path())
		b.WriteString("\n\n")
	}
	b.WriteString("-- \n")
	b.WriteString(s.t(lang, "news.mail.digest.unsubscribe", "Link", unsubscribe))
	b.WriteString("\n")
	return mail.Message{To: to, Subject: s.t(lang, "news.mail.digest.subject", "Town", town, "Count", len(items)), Text: b.String()}
}

// DigestHour and DigestMinute are when, in Rome, the digest is sent
// (Daily, a daily job).
const (
	DigestHour   = 7
	DigestMinute = 0
)

// Daily sends the day's digest: the daily job, run once a day across the
// processes (feature.Host.Daily). A subscription that had its digest in
// the last twelve hours is left alone, so a retry of the job, or an
// operator's, sends only what failed.
func (d *Digest) Daily(ctx context.Context, _ time.Time) error {
	n, err := d.send(ctx, time.Now(), 12*time.Hour)
	if d.Log != nil && n > 0 {
		d.Log.Info("news digest", "sent", n)
	}
	return err
}
