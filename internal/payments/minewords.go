package payments

import "github.com/civico-pa/civico/internal/web"

// MineWords are the words of I miei pagamenti's headings, captions and
// buttons, translated in Go once for the request, which MineData.Body
// writes (minehtml.go).
type MineWords struct {
	Choose            string // payments.choose
	Count             string // payments.count
	FieldAmount       string // payments.field.amount
	FieldCategory     string // payments.field.category
	FieldDueDate      string // payments.field.due_date
	FieldNumber       string // payments.field.number
	FieldPaidAt       string // payments.field.paid_at
	FieldReason       string // payments.field.reason
	FieldStatus       string // payments.field.status
	FieldYear         string // payments.field.year
	ImuLead           string // payments.imu.lead
	ImuOpen           string // payments.imu.open
	ImuTitle          string // payments.imu.title
	MineNone          string // payments.mine.none
	MineNonePaid      string // payments.mine.none_paid
	MinePaid          string // payments.mine.paid
	MinePaidCaption   string // payments.mine.paid_caption
	MineTopay         string // payments.mine.topay
	MineTopayCaption  string // payments.mine.topay_caption
	MineTotals        string // payments.mine.totals
	MineTotalsCaption string // payments.mine.totals_caption
	PayHelp           string // payments.pay_help
	PaySelected       string // payments.pay_selected
	Receipt           string // payments.receipt
	Statement         string // payments.statement
}

func mineWords(page *web.Page) *MineWords {
	return &MineWords{
		Choose:            page.T("payments.choose"),
		Count:             page.T("payments.count"),
		FieldAmount:       page.T("payments.field.amount"),
		FieldCategory:     page.T("payments.field.category"),
		FieldDueDate:      page.T("payments.field.due_date"),
		FieldNumber:       page.T("payments.field.number"),
		FieldPaidAt:       page.T("payments.field.paid_at"),
		FieldReason:       page.T("payments.field.reason"),
		FieldStatus:       page.T("payments.field.status"),
		FieldYear:         page.T("payments.field.year"),
		ImuLead:           page.T("payments.imu.lead"),
		ImuOpen:           page.T("payments.imu.open"),
		ImuTitle:          page.T("payments.imu.title"),
		MineNone:          page.T("payments.mine.none"),
		MineNonePaid:      page.T("payments.mine.none_paid"),
		MinePaid:          page.T("payments.mine.paid"),
		MinePaidCaption:   page.T("payments.mine.paid_caption"),
		MineTopay:         page.T("payments.mine.topay"),
		MineTopayCaption:  page.T("payments.mine.topay_caption"),
		MineTotals:        page.T("payments.mine.totals"),
		MineTotalsCaption: page.T("payments.mine.totals_caption"),
		PayHelp:           page.T("payments.pay_help"),
		PaySelected:       page.T("payments.pay_selected"),
		Receipt:           page.T("payments.receipt"),
		Statement:         page.T("payments.statement"),
	}
}
