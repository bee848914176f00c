package sportello

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	tokens "github.com/civico-pa/civico/internal/token"
)

// ownerWhere1 is ownerWhere with the account as $1, the fiscal code $2
// and today $3: the reference that owned, which reads it in parts, must
// agree with.
const ownerWhere1 = `((account_id = $1 AND (delegation_id IS NULL OR EXISTS (SELECT 1 FROM sportello_delegations g
	WHERE g.id = sportello_applications.delegation_id AND g.revoked_at IS NULL AND g.valid_until >= $3))) OR (fiscal_code <> '' AND fiscal_code = $2))`

// Mine and Awaiting, which read the owner's applications in parts, find
// exactly what the owner's condition finds, in the same order, for every
// kind of owner: with and without a proven code, a delegate and a holder,
// over every mix of account, code, delegation (none, in force, expired,
// revoked) and state, with update times that tie.
func TestOwnedIsTheOwner(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestStore(t, d)
		tmpl, o := draft(t, s, 0)
		if _, err := s.Submit(ctx, tmpl.ID, o, "test"); err != nil {
			t.Fatal(err)
		}
		for _, g := range []struct{ id, until, revoked string }{{"live", "2999-12-31", ""}, {"expired", "2000-01-01", ""}, {"revoked", "2999-12-31", "yes"}} {
			if _, err := d.ExecContext(ctx, `INSERT INTO sportello_delegations (id, holder_fiscal_code, holder_given_name, holder_family_name,
				delegate_fiscal_code, basis, services, valid_until, form_attachment, document_attachment, recorded_by, recorded_at, revoked_at)
				VALUES ($1, 'FRRSFO12P45C707H', 'Sofia', 'Ferrari', 'FRRLCU78H15C707K', 'parent', '["permesso-prova"]', $2, 'f', 'd', 'op', CURRENT_TIMESTAMP,
				CASE WHEN $3 = '' THEN NULL ELSE CURRENT_TIMESTAMP END)`, g.id, g.until, g.revoked); err != nil {
				t.Fatal(err)
			}
		}
		const cfA, cfB, cfC = "RSSMRA85T10A562S", "FRRSFO12P45C707H", "BNCLRA90A41F205X"
		accounts := []string{"acc-a", "acc-b", "acc-c"}
		codes := []string{cfA, cfB, cfC, ""}
		delegations := []any{nil, "live", "expired", "revoked"}
		states := []string{"registered", "draft", "integration_requested", "accepted", "refusal_notice"}
		base := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
		n := 0
		for round := range 2 {
			for _, acc := range accounts {
				for _, code := range codes {
					for _, dg := range delegations {
						for si, st := range states {
							if (si+round)%2 == 1 && st != "draft" {
								continue
							}
							n++
							// Every seventh time ties with another.
							at := base.Add(time.Duration(n%37) * time.Minute)
							if _, err := d.ExecContext(ctx, `INSERT INTO sportello_applications (id, service_id, service_title, form_id, account_id, fiscal_code,
								delegation_id, channel, phase, state, applicant, applicant_key, answers, idempotency_key, notify_email, protocol, created_at,
								updated_at, submitted_at, registered_at, term_days, withdrawable, due_on)
								SELECT $1, service_id, service_title, form_id, $2, $3, $4, channel, 'open', $5, applicant, $6, answers, $7, notify_email, $8,
								created_at, $9, submitted_at, $9, term_days, withdrawable, due_on FROM sportello_applications WHERE id = $10`,
								tokens.ID(), acc, code, dg, st, tokens.ID(), tokens.ID(), fmt.Sprintf("2025/%07d", 9_000_000+n), at, tmpl.ID); err != nil {
								t.Fatal(err)
							}
						}
					}
				}
			}
		}
		today := Day(time.Now())
		owners := []Owner{{"acc-a", cfA}, {"acc-a", ""}, {"acc-b", cfB}, {"acc-b", cfA}, {"acc-c", ""}, {"acc-none", cfC}, {"acc-none", ""}, o}
		for _, ow := range owners {
			var want []string
			rows, err := d.QueryContext(ctx, `SELECT id FROM sportello_applications WHERE `+ownerWhere1+` ORDER BY updated_at DESC, id DESC`, ow.AccountID, ow.FiscalCode, today)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				want = append(want, id)
			}
			if err := rows.Close(); err != nil {
				t.Fatal(err)
			}
			var awaiting int
			if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM sportello_applications WHERE `+ownerWhere1+` AND `+awaitingWhere,
				ow.AccountID, ow.FiscalCode, today).Scan(&awaiting); err != nil {
				t.Fatal(err)
			}
			var got []string
			for page := 1; ; page++ {
				list, total, err := s.Mine(ctx, ow, page)
				if err != nil {
					t.Fatal(err)
				}
				if total != len(want) {
					t.Fatalf("%+v page %d: a total of %d, want %d", ow, page, total, len(want))
				}
				for _, x := range list {
					got = append(got, x.ID)
				}
				if len(list) < PageSize {
					break
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%+v: Mine gave %d applications, the owner's condition %d, or in another order", ow, len(got), len(want))
			}
			n, list, err := s.Awaiting(ctx, ow, 5)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, x := range list {
				ids = append(ids, x.ID)
			}
			if n != awaiting && len(want) > 0 || !slices.Equal(ids, want[:min(5, len(want))]) {
				t.Fatalf("%+v: Awaiting %d and %v, want %d and %v", ow, n, ids, awaiting, want[:min(5, len(want))])
			}
			t.Logf("%+v: %d applications, %d awaiting", ow, len(want), awaiting)
		}
	})
}
