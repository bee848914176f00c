package payments

import "context"

// Export is what payments holds about a person (their data download):
// their positions with notices, and their receipts.
func (s *Service) Export(ctx context.Context, debtorCF string) (any, error) {
	ps, err := s.positions(ctx, `WHERE debtor_cf = $1 ORDER BY created_at`, debtorCF)
	if err != nil {
		return nil, err
	}
	type notice struct {
		Number, DueDate, Status string
		Amount                  int64
	}
	type position struct {
		ID, Category, Reason, Status string
		Year                         int
		Amount, PaidAmount           int64
		Notices                      []notice
	}
	out := struct {
		Positions []position
		Receipts  []Receipt
	}{}
	for _, p := range ps {
		ns, err := s.PositionNotices(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		x := position{ID: p.ID, Category: string(p.Category), Reason: p.Reason, Status: p.Status, Year: p.Year, Amount: p.Amount, PaidAmount: p.PaidAmount}
		for _, n := range ns {
			x.Notices = append(x.Notices, notice{Number: n.Number, DueDate: n.DueDate, Status: n.Status, Amount: n.Amount})
		}
		out.Positions = append(out.Positions, x)
	}
	if out.Receipts, err = s.AllPaid(ctx, debtorCF, 0); err != nil {
		return nil, err
	}
	if len(out.Positions) == 0 && len(out.Receipts) == 0 {
		return nil, nil
	}
	return out, nil
}
