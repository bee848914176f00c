package sportello

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	tokens "github.com/civico-pa/civico/internal/token"
)

// Volume is a town's load of applications, made of copies of one, for
// the benchmarks that must hold at a town's size (issue 14: an office
// queue of 100,000 applications, a resident with 200): BenchmarkQueue and
// BenchmarkResidentArea here, and bench/http.sh VOLUME=1 through
// bench/volume on a running portal.
type Volume struct {
	// Template is the id of a submitted application: each copy has its
	// service, form, answers and applicant.
	Template string
	// N copies in all; the first Owned belong to the template's owner
	// (its account and fiscal code), the others to made-up accounts
	// ("volume-000000"... with VolumeFiscalCode), PerResident each.
	N, Owned, PerResident int
	// Now dates the copies: one a second, the last N seconds before it
	// (time.Now when zero).
	Now time.Time
}

// VolumeProtocolBase is added to a copy's number in last year's register,
// so that copies never take a number the town's own applications hold
// (a register's numbers stay below 8,000,000 in any real year).
const VolumeProtocolBase = 8_000_000

// VolumeFiscalCode is the code of the made-up account "volume-%06d" k of
// a Volume, which its copies carry as a resident's own applications carry
// theirs: 16 characters, no real person's (no check character).
func VolumeFiscalCode(k int) string { return fmt.Sprintf("VOLUME%010d", k) }

// AddVolume adds v's copies in one transaction, spread as a town's queue
// is: a third registered, a third in progress with one of ten operators
// ("op-0" to "op-9"), a third closed (accepted); one in ten past its due
// day. The copies have no history, messages or documents: they are load,
// not cases. It returns how many it added.
func (s *Store) AddVolume(ctx context.Context, v Volume) (int, error) {
	defer s.forgetCounts()
	if v.N <= 0 || v.N > 10_000_000 || v.Owned < 0 || v.PerResident <= 0 {
		return 0, errors.New("sportello: a volume of 1 to 10,000,000 copies, PerResident at least 1")
	}
	now := v.Now
	if now.IsZero() {
		now = time.Now()
	}
	year := now.Year()
	start := now.Add(-time.Duration(v.N) * time.Second)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var owner, ownerCode string
		if err := tx.QueryRowContext(ctx, `SELECT account_id, fiscal_code FROM sportello_applications WHERE id = $1 AND phase <> 'draft'`, v.Template).Scan(&owner, &ownerCode); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("sportello: no submitted application %q to copy", v.Template)
			}
			return err
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO sportello_applications (id, service_id, service_title, form_id, account_id, fiscal_code, channel,
			phase, state, applicant, applicant_key, answers, idempotency_key, notify_email, protocol, assignee_id, created_at, updated_at,
			submitted_at, registered_at, term_days, withdrawable, due_on, applicant_name)
			SELECT $1, service_id, service_title, form_id, $2, $12, channel, $3, $4, applicant, $5, answers, $6, notify_email, $7, $8,
			created_at, $9, submitted_at, $9, term_days, withdrawable, $10, applicant_name FROM sportello_applications WHERE id = $11`)
		if err != nil {
			return err
		}
		defer func() { _ = st.Close() }()
		for i := range v.N {
			phase, state, assignee, due := "open", "registered", any(nil), now.AddDate(0, 0, 20).Format(time.DateOnly)
			switch i % 3 {
			case 1:
				state, assignee = "in_progress", fmt.Sprintf("op-%d", i%10)
			case 2:
				phase, state = "closed", "accepted"
			}
			if i%10 == 0 {
				due = "2000-01-01"
			}
			account, code := owner, ownerCode
			if i >= v.Owned {
				k := (i - v.Owned) / v.PerResident
				account, code = fmt.Sprintf("volume-%06d", k), VolumeFiscalCode(k)
			}
			at := start.Add(time.Duration(i) * time.Second).UTC()
			if _, err := st.ExecContext(ctx, tokens.ID(), account, phase, state, fmt.Sprintf("rossi%d bianca", i),
				tokens.ID(), fmt.Sprintf("%d/%07d", year-1, VolumeProtocolBase+i+1), assignee, at, due, v.Template, code); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	// The planner's statistics, as a live database's autovacuum keeps them.
	return v.N, s.DB.Analyze(ctx, "sportello_applications")
}
