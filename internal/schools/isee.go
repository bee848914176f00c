package schools

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/civico-pa/civico/internal/problem"
)

// The check of the declared ISEE (docs/SCHOOLS.md, "The ISEE and the
// siblings"; outside review S4): a parent's ISEE is recorded as declared,
// the school office lists the declared ones of a service, checks them
// against the attestation (INPS, outside civico) and confirms or corrects
// each. A correction sets the band, the amount and the exemption again
// from the service's tariff: the bills made from then on use them.

// Where the check of an enrolment's ISEE stands.
const (
	ISEEDeclaredOnly = "declared"
	ISEEConfirmed    = "confirmed"
	ISEECorrected    = "corrected"
	ISEENone         = "none"
)

// ISEECheckInput is the office's answer about one enrolment's ISEE:
// Confirm it, or correct it to ISEE (euro), or to none (NoISEE: no valid
// attestation, the last band).
type ISEECheckInput struct {
	Confirm bool
	ISEE    string
	NoISEE  bool
}

// ErrISEEWithdrawn is a check of a withdrawn enrolment: nothing to bill.
var ErrISEEWithdrawn = problem.New(problem.Conflict, "schools.error.isee_withdrawn", errors.New("schools: the enrolment is withdrawn"))

// ISEEToCheck lists a service's live enrolments whose ISEE is declared
// and not yet checked, in the order sent, PageSize from page, and how many
// there are.
func (s *Store) ISEEToCheck(ctx context.Context, serviceID string, page int) ([]*Enrolment, int, error) {
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM schools_enrolments WHERE service_id = $1 AND isee_check = 'declared' AND status <> 'withdrawn'`,
		serviceID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("schools: ISEE to check: %w", err)
	}
	list, err := s.list(ctx, `WHERE e.service_id = $1 AND e.isee_check = 'declared' AND e.status <> 'withdrawn' ORDER BY e.created_at, e.id LIMIT $2 OFFSET $3`,
		serviceID, PageSize, (max(page, 1)-1)*PageSize)
	return list, total, err
}

// CheckISEE records the office's check of the enrolment id's ISEE: confirmed
// as declared, or corrected (a value, or none). A correction sets the band,
// the amount and the exemption from the service's tariff as it is now; the
// bills made before stay as they are (docs/SCHOOLS.md). In one transaction
// with its audit record; the enrolment's row is held (a bill being made
// holds it too, so a bill uses either the old amount or the new one).
func (s *Store) CheckISEE(ctx context.Context, id string, in ISEECheckInput, by Actor) (*Enrolment, error) {
	var isee *int64
	if !in.Confirm {
		switch {
		case in.NoISEE && strings.TrimSpace(in.ISEE) != "":
			return nil, problem.Fields{"isee": "schools.error.isee_both"}
		case in.NoISEE:
		default:
			v, err := ParseEuro(in.ISEE)
			if err != nil {
				return nil, problem.Fields{"isee": "schools.error.isee"}
			}
			isee = &v
		}
	}
	var out *Enrolment
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var status string
		err := tx.QueryRowContext(ctx, `SELECT status FROM schools_enrolments WHERE id = $1`+s.DB.ForUpdate(), id).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if Status(status) == Withdrawn {
			return ErrISEEWithdrawn
		}
		e, err := s.get(ctx, tx, id, "")
		if err != nil {
			return err
		}
		now := s.now()
		details := map[string]string{"service": e.ServiceID, "band_before": fmt.Sprint(e.Band + 1), "amount_before": Euro(e.AmountCents)}
		action := "schools.isee.confirm"
		if in.Confirm {
			if e.ISEE == nil {
				return problem.Fields{"isee": "schools.error.isee_nothing_to_confirm"}
			}
			e.ISEECheck = ISEEConfirmed
			if _, err := tx.ExecContext(ctx, `UPDATE schools_enrolments SET isee_check = 'confirmed', isee_checked_at = $2, isee_checked_by = $3, updated_at = $2
				WHERE id = $1`, id, now, by.Name); err != nil {
				return err
			}
		} else {
			action = "schools.isee.correct"
			svc, err := scanService(tx.QueryRowContext(ctx, `SELECT `+serviceColumns+` FROM schools_services WHERE id = $1`, e.ServiceID))
			if err != nil {
				return err
			}
			e.ISEE, e.ISEECheck = isee, ISEECorrected
			e.Band, e.AmountCents, e.Exempt = svc.Tariff(isee)
			if _, err := tx.ExecContext(ctx, `UPDATE schools_enrolments SET isee_cents = $2, band = $3, amount_cents = $4, exempt = $5,
				isee_check = 'corrected', isee_checked_at = $6, isee_checked_by = $7, updated_at = $6 WHERE id = $1`,
				id, isee, e.Band, e.AmountCents, e.Exempt, now, by.Name); err != nil {
				return err
			}
			details["band"], details["amount"] = fmt.Sprint(e.Band+1), Euro(e.AmountCents)
			if s.Letters != nil {
				if err := s.Letters(ctx, tx, e, "isee_corrected"); err != nil {
					return err
				}
			}
		}
		out = e
		return s.audit(ctx, tx, by, action, "schools_enrolment:"+id, details)
	})
	if err != nil {
		var fe problem.Fields
		if errors.As(err, &fe) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrISEEWithdrawn) {
			return nil, err
		}
		return nil, fmt.Errorf("schools: ISEE check: %w", err)
	}
	return out, nil
}
