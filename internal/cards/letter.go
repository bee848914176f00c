package cards

import (
	"bytes"
	"fmt"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"github.com/civico-pa/civico/internal/hours"
)

// LetterData is what the PIN/PUK letter is made from.
type LetterData struct {
	Town      string
	Secret    *Secret
	Card      *Card
	Place     string
	When      time.Time
	Collector string
	Delegate  string
}

// Letter renders the PIN/PUK letter, in Italian (the town's language for
// its paper): printed once at the URP and handed to whoever collects.
// It lives only in memory: the server keeps no copy.
func Letter(d LetterData) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCreationDate(d.When)
	pdf.SetModificationDate(d.When)
	pdf.SetCompression(true)
	pdf.SetProducer("civico", false)
	pdf.SetLang("it-IT")
	tr := pdf.UnicodeTranslatorFromDescriptor("cp1252")
	pdf.SetTitle(tr("Codici PIN e PUK della Carta Regionale dei Servizi"), false)
	pdf.SetAuthor(tr(d.Town), false)
	pdf.SetMargins(20, 18, 20)
	pdf.SetAutoPageBreak(true, 20)
	pdf.AddPage()
	pdf.SetFont("Helvetica", "B", 16)
	pdf.CellFormat(0, 8, tr(d.Town), "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 9)
	pdf.CellFormat(0, 5, tr("Ufficio relazioni con il pubblico – "+d.Place), "", 1, "L", false, 0, "")
	pdf.Ln(8)
	pdf.SetFont("Helvetica", "B", 14)
	pdf.CellFormat(0, 8, tr("Codici PIN e PUK della tua carta"), "", 1, "L", false, 0, "")
	pdf.Ln(2)
	para := func(style string, s string) {
		pdf.SetFont("Helvetica", style, 10.5)
		pdf.MultiCell(0, 5.5, tr(s), "", "L", false)
		pdf.Ln(1.5)
	}
	rome := d.When.In(hours.Rome)
	para("", fmt.Sprintf("Carta n. %s, intestata al codice fiscale %s, scadenza %s.", d.Card.Serial, d.Card.FiscalCode, day(d.Card.ExpiresOn)))
	who := "al titolare"
	if d.Collector == Delegate {
		who = "al delegato " + d.Delegate
	}
	para("", fmt.Sprintf("Consegnata %s il %s alle %s (busta %s).", who, rome.Format("02/01/2006"), rome.Format("15:04"), d.Secret.Ref))
	pdf.Ln(4)
	code := func(label, value string) {
		pdf.SetFont("Helvetica", "", 12)
		pdf.CellFormat(30, 12, tr(label), "", 0, "L", false, 0, "")
		pdf.SetFont("Courier", "B", 22)
		pdf.CellFormat(0, 12, value, "1", 1, "C", false, 0, "")
		pdf.Ln(3)
	}
	code("PIN", d.Secret.PIN)
	code("PUK", d.Secret.PUK)
	pdf.Ln(4)
	para("", "Il PIN serve a usare la carta per accedere ai servizi online; il PUK sblocca la carta dopo tre PIN sbagliati. Conserva questo foglio lontano dalla carta, oppure memorizza i codici e distruggilo.")
	para("", "Il Comune non conserva copia di questi codici: in caso di smarrimento chiedi una nuova busta all'URP, che la richiede all'ente emittente.")
	var out bytes.Buffer
	if err := pdf.Output(&out); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// day writes a YYYY-MM-DD date the Italian way.
func day(s string) string {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return s
	}
	return t.Format("02/01/2006")
}
