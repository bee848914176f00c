package mail

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"
)

// Worker defaults.
const (
	DefaultMaxAttempts = 6
	DefaultLease       = 10 * time.Minute
	// batchSize is how many messages one claim takes.
	batchSize = 20
	// pollInterval is how often Run looks for due messages.
	pollInterval = time.Second
	// releaseTimeout bounds the writes that hand messages back at shutdown.
	releaseTimeout = 5 * time.Second
)

var defaultBackoff = []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 6 * time.Hour}

// DefaultBackoff is the wait after the attempt-th failed attempt (from 1):
// 1m, 5m, 30m, 2h, then 6h.
func DefaultBackoff(attempt int) time.Duration {
	return defaultBackoff[min(max(attempt, 1), len(defaultBackoff))-1]
}

// Worker delivers the outbox. Several workers, in one process or many, may
// run on the same outbox: each message is claimed by one of them at a
// time, for the length of a lease.
type Worker struct {
	Outbox *Outbox
	Sender Sender
	// From is the From header of every message.
	From string
	// Log receives one line per delivery failure; nil discards.
	Log *slog.Logger
	// MaxAttempts is how many attempts a message gets before it is marked
	// failed (DefaultMaxAttempts when 0).
	MaxAttempts int
	// Backoff is the wait after the attempt-th failure (DefaultBackoff when nil).
	Backoff func(attempt int) time.Duration
	// Lease is how long a claimed message stays with its worker; past it,
	// another worker may claim it again, as that of a worker that died
	// (DefaultLease when 0). It must exceed the longest Send.
	Lease time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Run delivers due messages every second until ctx ends. Messages claimed
// but not yet sent when ctx ends are handed back to the outbox.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		if _, _, err := w.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			w.log().Error("mail outbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// claimed is a message taken from the outbox for one attempt.
type claimed struct {
	Message
	id       int64
	attempts int // including this one
	token    string
}

// DeliverDue makes one pass over the outbox: it claims due messages batch
// by batch until none is left, and sends them. sent counts the messages
// delivered, failed the attempts that failed (to be retried or given up).
// err reports a database problem, not a delivery failure, which is stored
// in the message's last_error and logged.
func (w *Worker) DeliverDue(ctx context.Context) (sent, failed int, err error) {
	if w.Outbox == nil || w.Outbox.DB == nil || w.Sender == nil {
		return 0, 0, errors.New("mail: the worker needs an Outbox with a DB and a Sender")
	}
	for {
		if err := ctx.Err(); err != nil {
			return sent, failed, err
		}
		batch, err := w.claim(ctx)
		if err != nil {
			return sent, failed, err
		}
		for i, m := range batch {
			if ctx.Err() != nil {
				w.release(ctx, batch[i:])
				return sent, failed, ctx.Err()
			}
			sendErr := w.Sender.Send(ctx, w.From, m.Message, MessageID(m.token, w.From))
			if sendErr != nil && ctx.Err() != nil {
				// Shutting down: the attempt was cut short, not refused.
				w.release(ctx, batch[i:])
				return sent, failed, ctx.Err()
			}
			ok, err := w.finish(ctx, m, sendErr)
			if err != nil {
				return sent, failed, err
			}
			if ok {
				sent++
			} else {
				failed++
			}
		}
		if len(batch) < batchSize {
			return sent, failed, nil
		}
	}
}

// claim takes up to batchSize due messages: pending ones whose time has
// come, and sending ones whose lease has expired. Expired ones that had
// their last attempt are marked failed instead.
func (w *Worker) claim(ctx context.Context) ([]claimed, error) {
	now := w.now()
	// Concurrent workers skip each other's rows instead of waiting.
	lock := w.Outbox.DB.SkipLocked()
	var out []claimed
	err := w.Outbox.DB.Tx(ctx, func(tx *sql.Tx) error {
		out = nil
		res, err := tx.ExecContext(ctx, `UPDATE mail_outbox SET status = 'failed', lease_until = NULL,
			last_error = 'the last attempt was interrupted (its worker stopped before recording the outcome)'
			WHERE status = 'sending' AND lease_until <= $1 AND attempts >= $2`, now, w.maxAttempts())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			w.log().Warn("mail outbox: messages given up after an interrupted last attempt", "count", n)
		}
		// #nosec G202 -- lock is db.SkipLocked(): one of two constant clauses, no input
		rows, err := tx.QueryContext(ctx, `UPDATE mail_outbox SET status = 'sending', lease_until = $1, attempts = attempts + 1
			WHERE id IN (SELECT id FROM mail_outbox
				WHERE (status = 'pending' AND next_attempt_at <= $2) OR (status = 'sending' AND lease_until <= $2)
				ORDER BY next_attempt_at, id LIMIT $3`+lock+`)
			RETURNING id, to_addr, subject, body_text, body_html, attempts, message_id, attachments`,
			now.Add(w.lease()), now, batchSize)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c claimed
			var files string
			if err := rows.Scan(&c.id, &c.To, &c.Subject, &c.Text, &c.HTML, &c.attempts, &c.token, &files); err != nil {
				return err
			}
			if c.Attachments, err = decodeAttachments(files); err != nil {
				return fmt.Errorf("message %d: its files: %w", c.id, err)
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("mail: claim due messages: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out, nil
}

// finish records the outcome of an attempt. The row is updated only if it
// is still this attempt's (same attempts count, still sending): if the
// lease expired meanwhile and another worker took the message, that worker
// records the outcome.
func (w *Worker) finish(ctx context.Context, m claimed, sendErr error) (sent bool, err error) {
	now := w.now()
	// The outcome must be stored even when ctx ends now: it was obtained.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	log := w.log().With("message", m.id, "attempt", m.attempts)
	if sendErr == nil {
		res, err := w.Outbox.DB.ExecContext(ctx, `UPDATE mail_outbox SET status = 'sent', sent_at = $1, lease_until = NULL, last_error = ''
			WHERE id = $2 AND status = 'sending' AND attempts = $3`, now, m.id, m.attempts)
		if err != nil {
			return true, fmt.Errorf("mail: record message %d as sent: %w", m.id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			log.Warn("mail outbox: message sent after its lease expired; another worker may send it again")
		}
		return true, nil
	}
	status, next := Pending, now.Add(w.backoff(m.attempts))
	if m.attempts >= w.maxAttempts() {
		status, next = Failed, now
	}
	text := errorText(sendErr)
	_, err = w.Outbox.DB.ExecContext(ctx, `UPDATE mail_outbox SET status = $1, next_attempt_at = $2, lease_until = NULL, last_error = $3
		WHERE id = $4 AND status = 'sending' AND attempts = $5`, string(status), next, text, m.id, m.attempts)
	if err != nil {
		return false, fmt.Errorf("mail: record the failure of message %d: %w", m.id, err)
	}
	if status == Failed {
		log.Error("mail outbox: message not delivered, giving up", "err", text)
	} else {
		log.Warn("mail outbox: delivery failed, will retry", "err", text, "retry_at", next)
	}
	return false, nil
}

// release hands claimed messages back without counting the attempt.
func (w *Worker) release(ctx context.Context, ms []claimed) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	for _, m := range ms {
		if _, err := w.Outbox.DB.ExecContext(ctx, `UPDATE mail_outbox SET status = 'pending', lease_until = NULL, attempts = attempts - 1
			WHERE id = $1 AND status = 'sending' AND attempts = $2`, m.id, m.attempts); err != nil {
			// The lease will expire and the message be claimed again.
			w.log().Warn("mail outbox: could not hand a message back at shutdown", "message", m.id, "err", err)
		}
	}
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now().UTC()
	}
	return time.Now().UTC()
}

func (w *Worker) maxAttempts() int {
	if w.MaxAttempts > 0 {
		return w.MaxAttempts
	}
	return DefaultMaxAttempts
}

func (w *Worker) backoff(attempt int) time.Duration {
	if w.Backoff != nil {
		return w.Backoff(attempt)
	}
	return DefaultBackoff(attempt)
}

func (w *Worker) lease() time.Duration {
	if w.Lease > 0 {
		return w.Lease
	}
	return DefaultLease
}

func (w *Worker) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.New(slog.DiscardHandler)
}
