package sportello

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"time"

	"github.com/civico-pa/civico/internal/audit"
)

// Retention: how long the Sportello keeps what residents sent it.
//
// A concluded application (decided, refused, withdrawn: phase closed) is
// kept for its form's Definition.Retention years from its conclusion,
// then deleted with its history, messages, documents, rating and files.
// The protocol's register keeps its registry number and subject: the
// register is the town's permanent record, and holds no answers. A draft
// nobody touched for DraftRetention is deleted too: it was never sent, so
// nothing the office relied on goes with it. Each deletion is one
// transaction with its audit entry (which names the application, its
// service and registry number, never the resident), so a purge stopped
// half-way leaves every application either whole or gone and recorded.

// DraftRetention is how long an untouched draft is kept.
const DraftRetention = 180 * 24 * time.Hour

// purgeBatch bounds what one query of the purge selects.
const purgeBatch = 200

// FilePurger deletes an application's files in the deletion's transaction
// (Attachments implements it).
type FilePurger interface {
	Purge(ctx context.Context, tx *sql.Tx, appID string) (int64, error)
}

// Purge removes every application past its retention and every stale
// draft, and says how many of each went. It is the periodic job "purge
// expired applications"; run again, it finds nothing.
func (s *Store) Purge(ctx context.Context) (concluded, drafts int, err error) {
	defer s.forgetCounts()
	now := s.now()
	years, err := s.retentionByForm(ctx)
	if err != nil {
		return 0, 0, err
	}
	// One pass per distinct retention: the forms that keep their
	// applications that long, and the instant before which they go.
	byYears := map[int][]string{}
	for form, y := range years {
		byYears[y] = append(byYears[y], form)
	}
	for y, forms := range byYears {
		cutoff := now.AddDate(-y, 0, 0)
		for _, form := range forms {
			n, err := s.purgeWhere(ctx, `phase = 'closed' AND form_id = $1 AND decided_at < $2`, "retention", strconv.Itoa(y), form, cutoff)
			concluded += n
			if err != nil {
				return concluded, drafts, err
			}
		}
	}
	drafts, err = s.purgeWhere(ctx, `phase = 'draft' AND updated_at < $1`, "draft", "", now.Add(-DraftRetention))
	return concluded, drafts, err
}

// retentionByForm is every form version's retention in years.
func (s *Store) retentionByForm(ctx context.Context) (map[string]int, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT id, definition FROM sportello_forms`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := map[string]int{}
	for rows.Next() {
		var id, def string
		if err := rows.Scan(&id, &def); err != nil {
			return nil, err
		}
		var d Definition
		if err := json.Unmarshal([]byte(def), &d); err != nil {
			// A definition that does not read is kept for the default
			// term rather than purged on a guess.
			d = Definition{}
		}
		y := d.Retention()
		if y < 1 || y > MaxRetentionYears {
			y = DefaultRetentionYears
		}
		out[id] = y
	}
	return out, rows.Err()
}

// purgeWhere deletes the applications cond selects (with args), a batch
// at a time, each in its own transaction with its audit entry.
func (s *Store) purgeWhere(ctx context.Context, cond, why, years string, args ...any) (int, error) {
	n := 0
	for {
		ids, err := s.purgeCandidates(ctx, cond, args...)
		if err != nil || len(ids) == 0 {
			return n, err
		}
		for _, c := range ids {
			gone, err := s.purgeOne(ctx, c, cond, why, years, args...)
			if err != nil {
				return n, err
			}
			if gone {
				n++
			}
		}
		if len(ids) < purgeBatch {
			return n, nil
		}
	}
}

type purgeCandidate struct{ id, service, protocol string }

func (s *Store) purgeCandidates(ctx context.Context, cond string, args ...any) ([]purgeCandidate, error) {
	// #nosec G202 -- cond is one of Purge's constant conditions; the values are arguments.
	rows, err := s.DB.QueryContext(ctx, `SELECT id, service_id, protocol FROM sportello_applications WHERE `+cond+
		` ORDER BY id LIMIT `+strconv.Itoa(purgeBatch), args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []purgeCandidate
	for rows.Next() {
		var c purgeCandidate
		if err := rows.Scan(&c.id, &c.service, &c.protocol); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// purgeOne deletes one application if cond still selects it (a resident
// may have touched a draft since it was listed), with its files and its
// audit entry, in one transaction.
func (s *Store) purgeOne(ctx context.Context, c purgeCandidate, cond, why, years string, args ...any) (bool, error) {
	gone := false
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		// #nosec G202 -- cond is one of Purge's constant conditions; the values are arguments.
		res, err := tx.ExecContext(ctx, `DELETE FROM sportello_applications WHERE id = $`+strconv.Itoa(len(args)+1)+` AND `+cond,
			append(append([]any{}, args...), c.id)...)
		if err != nil {
			return err
		}
		if k, err := res.RowsAffected(); err != nil || k == 0 {
			return err
		}
		files := int64(0)
		if p, ok := s.Files.(FilePurger); ok {
			if files, err = p.Purge(ctx, tx, c.id); err != nil {
				return err
			}
		}
		details := map[string]string{"service": c.service, "reason": why, "files": strconv.FormatInt(files, 10)}
		if c.protocol != "" {
			details["protocol"] = c.protocol
		}
		if years != "" {
			details["retention_years"] = years
		}
		gone = true
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: "system", Action: "sportello.application.purged", Subject: "application:" + c.id, Details: details})
	})
	return gone, err
}

// Purge deletes application appID's files in tx.
func (f *Attachments) Purge(ctx context.Context, tx *sql.Tx, appID string) (int64, error) {
	return f.Store.DeleteOwned(ctx, tx, applicationOwner(appID))
}
