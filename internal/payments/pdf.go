package payments

import (
	"bytes"
	"fmt"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"github.com/boombuler/barcode/qr"

	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/pagopa"
	"github.com/civico-pa/civico/internal/town"
)

func rome() *time.Location { return hours.Rome }

// doc is an A4 page set in Helvetica, with UTF-8 text translated to the
// core fonts' encoding (the euro sign included).
type doc struct {
	*fpdf.Fpdf
	tr func(string) string
}

func newDoc(title string) *doc {
	p := fpdf.New("P", "mm", "A4", "")
	p.SetTitle(title, true)
	p.SetCreator("civico", true)
	p.SetMargins(18, 16, 18)
	p.SetAutoPageBreak(true, 16)
	return &doc{Fpdf: p, tr: p.UnicodeTranslatorFromDescriptor("")}
}

func (d *doc) text(size float64, style, s string) {
	d.SetFont("Helvetica", style, size)
	d.MultiCell(0, size*0.5, d.tr(s), "", "L", false)
}

func (d *doc) pair(label, value string) {
	d.SetFont("Helvetica", "", 9)
	d.CellFormat(55, 6, d.tr(label), "", 0, "L", false, 0, "")
	d.SetFont("Helvetica", "B", 10)
	d.MultiCell(0, 6, d.tr(value), "", "L", false)
}

func (d *doc) heading(s string) {
	d.Ln(3)
	d.SetFillColor(0, 102, 204)
	d.SetTextColor(255, 255, 255)
	d.SetFont("Helvetica", "B", 10)
	d.CellFormat(0, 7, d.tr(s), "", 1, "L", true, 0, "")
	d.SetTextColor(0, 0, 0)
	d.Ln(1)
}

// qrCode draws the notice's QR code (error correction M) as vector
// squares, size mm wide, at x, y.
func (d *doc) qrCode(payload string, x, y, size float64) error {
	code, err := qr.Encode(payload, qr.M, qr.Auto)
	if err != nil {
		return err
	}
	b := code.Bounds()
	n := b.Dx()
	module := size / float64(n+8) // a quiet zone of 4 modules each side
	d.SetFillColor(0, 0, 0)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if r, _, _, _ := code.At(b.Min.X+i, b.Min.Y+j).RGBA(); r == 0 {
				d.Rect(x+float64(i+4)*module, y+float64(j+4)*module, module, module, "F")
			}
		}
	}
	return nil
}

func (d *doc) bytes() ([]byte, error) {
	var b bytes.Buffer
	err := d.Output(&b)
	return b.Bytes(), err
}

func date(s string) string {
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return s
	}
	return t.Format("02/01/2006")
}

// NoticePDF is the printed notice of a position, after pagoPA's notice
// model as far as text goes: the subject, the creditor and the recipient,
// how much and when, where to pay, then the payment data of the single
// payment and of each instalment with its QR code (PAGOPA|002|...) and its
// number in groups of four.
func NoticePDF(t town.Profile, p *Position, lang string) ([]byte, error) {
	it := lang != "en"
	tt := func(itS, enS string) string {
		if it {
			return itS
		}
		return enS
	}
	d := newDoc(tt("Avviso di pagamento", "Payment notice") + " — " + p.Reason)
	d.AddPage()
	d.text(16, "B", tt("AVVISO DI PAGAMENTO", "PAYMENT NOTICE"))
	d.text(12, "", p.Reason)
	d.Ln(2)
	d.heading(tt("ENTE CREDITORE", "CREDITOR"))
	d.pair(tt("Ente", "Body"), t.FullName())
	d.pair(tt("Codice fiscale", "Fiscal code"), t.FiscalCode)
	d.heading(tt("DESTINATARIO AVVISO", "RECIPIENT"))
	if p.DebtorName != "" {
		d.pair(tt("Nome", "Name"), p.DebtorName)
	}
	d.pair(tt("Codice fiscale", "Fiscal code"), p.DebtorCF)
	d.heading(tt("QUANTO E QUANDO PAGARE?", "HOW MUCH AND WHEN?"))
	var single *Notice
	var inst []Notice
	for i := range p.Notices {
		if p.Notices[i].Seq == 0 {
			single = &p.Notices[i]
		} else {
			inst = append(inst, p.Notices[i])
		}
	}
	if single != nil {
		d.pair(tt("Importo", "Amount"), "€ "+Euro(single.Amount))
		d.pair(tt("Entro il", "By"), date(single.DueDate))
	}
	if len(inst) > 0 {
		d.text(10, "", fmt.Sprintf(tt("Puoi pagare in %d rate", "You may pay in %d instalments")+"%s.", len(inst),
			map[bool]string{true: tt(" oppure in un'unica soluzione", " or in one go"), false: ""}[single != nil]))
	}
	d.heading(tt("DOVE PAGARE?", "WHERE TO PAY?"))
	d.text(9, "", tt("Online nell'area personale del portale del Comune (I miei pagamenti), sull'app IO, con l'home banking (CBILL) o in uno dei canali abilitati a pagoPA: banche, uffici postali, punti vendita SISAL, Lottomatica e Banca 5, sportelli ATM. Il canale che sceglierai potrebbe applicare una commissione.",
		"Online in the personal area of the town's portal (My payments), in the IO app, with home banking (CBILL) or at any pagoPA channel: banks, post offices, SISAL, Lottomatica and Banca 5 outlets, ATMs. The channel you choose may charge a fee."))
	block := func(n Notice, title string) error {
		if d.GetY() > 200 {
			d.AddPage()
		}
		d.heading(title)
		y := d.GetY()
		if err := d.qrCode(pagopa.QRPayload(n.Number, t.FiscalCode, n.Amount), 18, y, 33); err != nil {
			return err
		}
		d.SetLeftMargin(56)
		d.SetXY(56, y+2)
		d.pair(tt("Codice avviso", "Notice number"), pagopa.Grouped(n.Number))
		d.pair(tt("Cod. fiscale ente", "Creditor fiscal code"), t.FiscalCode)
		d.pair(tt("Importo", "Amount"), "€ "+Euro(n.Amount))
		d.pair(tt("Entro il", "By"), date(n.DueDate))
		d.pair(tt("Oggetto", "Subject"), p.Reason)
		d.SetLeftMargin(18)
		d.SetY(max(d.GetY(), y+36))
		return nil
	}
	if single != nil {
		if err := block(*single, tt("DATI PER IL PAGAMENTO — RATA UNICA", "PAYMENT DATA — SINGLE PAYMENT")); err != nil {
			return nil, err
		}
	}
	for _, n := range inst {
		if err := block(n, fmt.Sprintf(tt("DATI PER IL PAGAMENTO — RATA %d DI %d", "PAYMENT DATA — INSTALMENT %d OF %d"), n.Seq, len(inst))); err != nil {
			return nil, err
		}
	}
	return d.bytes()
}

// ReceiptPDF is the receipt of a paid notice.
func ReceiptPDF(t town.Profile, r *Receipt, lang string) ([]byte, error) {
	it := lang != "en"
	tt := func(itS, enS string) string {
		if it {
			return itS
		}
		return enS
	}
	d := newDoc(tt("Ricevuta di pagamento", "Payment receipt") + " " + r.Number)
	d.AddPage()
	d.text(16, "B", tt("RICEVUTA DI PAGAMENTO", "PAYMENT RECEIPT"))
	d.text(11, "", t.FullName()+" — "+tt("codice fiscale", "fiscal code")+" "+t.FiscalCode)
	d.Ln(2)
	d.heading(tt("PAGAMENTO", "PAYMENT"))
	d.pair(tt("Oggetto", "Subject"), r.Reason)
	d.pair(tt("Importo pagato", "Amount paid"), "€ "+Euro(r.Amount))
	d.pair(tt("Data e ora", "Date and time"), r.PaidAt.In(rome()).Format("02/01/2006 15:04"))
	d.pair(tt("Codice avviso", "Notice number"), pagopa.Grouped(r.Number))
	if n, err := pagopa.Parse(r.Number); err == nil {
		d.pair("IUV", n.IUV)
	}
	d.heading(tt("PAGATORE", "PAYER"))
	if r.DebtorName != "" {
		d.pair(tt("Nome", "Name"), r.DebtorName)
	}
	d.pair(tt("Codice fiscale", "Fiscal code"), r.DebtorCF)
	d.heading(tt("PRESTATORE DEL SERVIZIO DI PAGAMENTO", "PAYMENT SERVICE PROVIDER"))
	d.pair("PSP", r.PSP)
	d.pair(tt("Identificativo", "Reference"), r.PSPRef)
	d.pair(tt("Canale", "Channel"), r.Channel)
	d.pair(tt("Ricevuta n.", "Receipt no."), r.ID)
	d.Ln(4)
	d.text(8, "", tt("Ricevuta rilasciata dal Comune sulla base dell'esito comunicato dal prestatore di servizi di pagamento (pagoPA).",
		"Receipt issued by the town on the outcome reported by the payment service provider (pagoPA)."))
	return d.bytes()
}

// StatementPDF is a debtor's payments in a year (0: all).
func StatementPDF(t town.Profile, debtorCF string, year int, list []Receipt, catName func(Category) string, lang string) ([]byte, error) {
	it := lang != "en"
	tt := func(itS, enS string) string {
		if it {
			return itS
		}
		return enS
	}
	d := newDoc(tt("Estratto dei pagamenti", "Statement of payments"))
	d.AddPage()
	d.text(16, "B", tt("ESTRATTO DEI PAGAMENTI", "STATEMENT OF PAYMENTS"))
	scope := tt("tutti gli anni", "every year")
	if year != 0 {
		scope = fmt.Sprint(year)
	}
	d.text(11, "", t.FullName()+" — "+debtorCF+" — "+scope)
	d.Ln(3)
	d.SetFont("Helvetica", "B", 9)
	for _, c := range []struct {
		w float64
		s string
	}{{22, tt("Data", "Date")}, {80, tt("Oggetto", "Subject")}, {30, tt("Categoria", "Category")}, {42, tt("Importo", "Amount")}} {
		d.CellFormat(c.w, 7, d.tr(c.s), "B", 0, "L", false, 0, "")
	}
	d.Ln(-1)
	d.SetFont("Helvetica", "", 9)
	var total int64
	for _, r := range list {
		d.CellFormat(22, 6, r.PaidAt.In(rome()).Format("02/01/2006"), "", 0, "L", false, 0, "")
		reason := []rune(r.Reason)
		if len(reason) > 48 {
			reason = append(reason[:47], '…')
		}
		d.CellFormat(80, 6, d.tr(string(reason)), "", 0, "L", false, 0, "")
		d.CellFormat(30, 6, d.tr(catName(r.Category)), "", 0, "L", false, 0, "")
		d.CellFormat(42, 6, d.tr("€ "+Euro(r.Amount)), "", 1, "R", false, 0, "")
		total += r.Amount
	}
	d.SetFont("Helvetica", "B", 10)
	d.CellFormat(132, 8, d.tr(tt("Totale", "Total")), "T", 0, "L", false, 0, "")
	d.CellFormat(42, 8, d.tr("€ "+Euro(total)), "T", 1, "R", false, 0, "")
	return d.bytes()
}
