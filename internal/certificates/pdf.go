package certificates

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"github.com/boombuler/barcode/qr"

	"github.com/civico-pa/civico/internal/hours"
)

// The seal travels in the PDF's document information (its Keywords), as
// one line of ASCII any reader can show and `civico cert verify` reads
// offline:
//
//	civico-certificato/1 kid=KEY content=BASE64URL sig=BASE64URL file=HEX
//
// content is the canonical content, sig its Ed25519 signature, and file
// the signature of the whole file but those 128 hexadecimal characters
// (written as zeros while it is computed): an edit of any byte of the
// file, the visible page included, breaks file; an edit of the content
// breaks sig too.
const (
	sealMarker = "civico-certificato/1 "
	fileField  = " file="
	fileSigLen = 2 * ed25519.SignatureSize
)

// Document is what a certificate's PDF is made from.
type Document struct {
	Content   Content
	KeyID     string
	Signature []byte
	// VerifyURL is the public verification page of this certificate, the
	// QR code's content.
	VerifyURL string
	// UseLabel names the declared use in Italian.
	UseLabel string
	// TownAddress is the town hall's address, under its name.
	TownAddress string
}

// kindTitles are the certificates' titles.
var kindTitles = map[Kind]string{
	Residence:    "CERTIFICATO DI RESIDENZA",
	FamilyStatus: "CERTIFICATO DI STATO DI FAMIGLIA",
	Birth:        "CERTIFICATO ANAGRAFICO DI NASCITA",
}

// Art40 is the wording DPR 445/2000 art. 40 c.02 requires on every
// certificate, on pain of nullity.
const Art40 = "Il presente certificato non può essere prodotto agli organi della pubblica amministrazione o ai privati gestori di pubblici servizi."

// PDF renders and seals a certificate: the same bytes for the same
// certificate and key (the date is the issue's, Ed25519 is deterministic).
func PDF(d Document, sign func([]byte) []byte) ([]byte, error) {
	c := d.Content
	pdf := fpdf.New("P", "mm", "A4", "")
	issued := c.Issued()
	pdf.SetCreationDate(issued)
	pdf.SetModificationDate(issued)
	pdf.SetCatalogSort(true)
	pdf.SetCompression(true)
	pdf.SetProducer("civico", false)
	pdf.SetLang("it-IT")
	tr := pdf.UnicodeTranslatorFromDescriptor("cp1252")
	pdf.SetTitle(tr(kindTitles[c.Kind]+" "+GroupID(c.ID)), false)
	pdf.SetAuthor(tr(c.Town), false)
	canonical := c.Canonical()
	pdf.SetKeywords(sealMarker+"kid="+d.KeyID+" content="+base64.RawURLEncoding.EncodeToString(canonical)+
		" sig="+base64.RawURLEncoding.EncodeToString(d.Signature)+fileField+strings.Repeat("0", fileSigLen), false)
	pdf.SetMargins(20, 18, 20)
	pdf.SetAutoPageBreak(true, 20)
	pdf.AliasNbPages("{nb}")
	pdf.SetFooterFunc(func() {
		pdf.SetY(-14)
		pdf.SetFont("Helvetica", "", 7)
		pdf.CellFormat(0, 4, tr("Certificato n. "+GroupID(c.ID)+" – "+c.Town), "", 0, "L", false, 0, "")
		pdf.CellFormat(0, 4, fmt.Sprintf("%d/{nb}", pdf.PageNo()), "", 0, "R", false, 0, "")
	})
	pdf.AddPage()
	pdf.SetFont("Helvetica", "B", 16)
	pdf.CellFormat(0, 8, tr(c.Town), "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 9)
	pdf.CellFormat(0, 5, tr("Servizi demografici – Ufficio anagrafe"), "", 1, "L", false, 0, "")
	if d.TownAddress != "" {
		pdf.CellFormat(0, 5, tr(d.TownAddress), "", 1, "L", false, 0, "")
	}
	pdf.Ln(2)
	pdf.SetDrawColor(0, 102, 204)
	pdf.SetLineWidth(0.6)
	left, _, right, _ := pdf.GetMargins()
	w, _ := pdf.GetPageSize()
	pdf.Line(left, pdf.GetY(), w-right, pdf.GetY())
	pdf.Ln(8)
	pdf.SetFont("Helvetica", "B", 14)
	pdf.CellFormat(0, 8, tr(kindTitles[c.Kind]), "", 1, "C", false, 0, "")
	pdf.Ln(4)
	para := func(style string, s string) {
		pdf.SetFont("Helvetica", style, 10.5)
		pdf.MultiCell(0, 5.5, tr(s), "", "L", false)
		pdf.Ln(1.5)
	}
	h := c.Holder
	para("", "L'Ufficiale d'anagrafe, visti gli atti d'ufficio, certifica che")
	para("B", strings.ToUpper(h.FamilyName+" "+h.GivenName))
	para("", fmt.Sprintf("%s a %s il %s, codice fiscale %s, cittadinanza %s,", born(h.Sex), h.BirthPlace, day(h.BirthDate), h.FiscalCode, h.Citizenship))
	switch c.Kind {
	case Residence:
		para("", fmt.Sprintf("risulta residente in questo Comune, in %s.", h.Address))
	case Birth:
		para("", "risulta nel registro della popolazione di questo Comune con i dati di nascita sopra indicati.")
	case FamilyStatus:
		para("", fmt.Sprintf("risulta residente in questo Comune, in %s, e che la sua famiglia anagrafica è così composta:", h.Address))
		pdf.SetFont("Helvetica", "B", 9)
		cols := []float64{60, 40, 70}
		for i, t := range []string{"Cognome e nome", "Relazione", "Nascita"} {
			pdf.CellFormat(cols[i], 6, tr(t), "B", 0, "L", false, 0, "")
		}
		pdf.Ln(-1)
		pdf.SetFont("Helvetica", "", 9)
		for _, m := range c.Household {
			pdf.CellFormat(cols[0], 6, tr(strings.ToUpper(m.FamilyName+" "+m.GivenName)), "", 0, "L", false, 0, "")
			pdf.CellFormat(cols[1], 6, tr(m.Relation), "", 0, "L", false, 0, "")
			pdf.CellFormat(cols[2], 6, tr(m.BirthPlace+", "+day(m.BirthDate)), "", 1, "L", false, 0, "")
		}
		pdf.Ln(3)
	}
	pdf.Ln(2)
	if c.Use == StampDuty {
		para("", "Imposta di bollo di euro 16,00 ("+c.Norm+") assolta con pagoPA, avviso n. "+c.Duty+".")
	} else {
		para("", "Esente da imposta di bollo ai sensi di "+c.Norm+" – uso: "+d.UseLabel+" (dichiarato dal richiedente).")
	}
	para("B", Art40)
	rome := issued.In(hours.Rome)
	if until := c.Until(); until != nil {
		para("", fmt.Sprintf("Rilasciato il %s alle %s. Valido fino al %s (art. 41 DPR 445/2000).", rome.Format("02/01/2006"), rome.Format("15:04"), until.In(hours.Rome).Format("02/01/2006")))
	} else {
		para("", fmt.Sprintf("Rilasciato il %s alle %s. Validità illimitata: attesta fatti non soggetti a modifica (art. 41 c.1 DPR 445/2000).", rome.Format("02/01/2006"), rome.Format("15:04")))
	}
	pdf.Ln(4)
	y := pdf.GetY()
	if y > 230 {
		pdf.AddPage()
		y = pdf.GetY()
	}
	if err := qrCode(pdf, d.VerifyURL, left, y, 38); err != nil {
		return nil, err
	}
	pdf.SetXY(left+42, y+2)
	pdf.SetFont("Helvetica", "B", 10)
	pdf.MultiCell(0, 5.5, tr("Identificativo: "+GroupID(c.ID)), "", "L", false)
	pdf.SetX(left + 42)
	pdf.SetFont("Helvetica", "", 8.5)
	pdf.MultiCell(0, 4.5, tr("Chiunque può verificare l'autenticità e lo stato di questo certificato inquadrando il codice QR o digitando l'identificativo su "+d.VerifyURL), "", "L", false)
	pdf.SetX(left + 42)
	sum := sha256.Sum256(canonical)
	pdf.MultiCell(0, 4.5, tr("Sigillo elettronico del Comune (Ed25519, chiave "+d.KeyID+") sul contenuto, impronta SHA-256 "+hex.EncodeToString(sum[:])), "", "L", false)
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, err
	}
	out := b.Bytes()
	slot, err := fileSlot(out)
	if err != nil {
		return nil, err
	}
	copy(out[slot:], hex.EncodeToString(sign(fileMessage(out, slot))))
	return out, nil
}

func born(sex string) string {
	if sex == "F" {
		return "nata"
	}
	return "nato"
}

// day writes 2006-01-02 as 02/01/2006.
func day(s string) string {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return s
	}
	return t.Format("02/01/2006")
}

// qrCode draws a QR code (error correction M) as vector squares, size mm
// wide with its quiet zone, at x, y.
func qrCode(pdf *fpdf.Fpdf, payload string, x, y, size float64) error {
	code, err := qr.Encode(payload, qr.M, qr.Auto)
	if err != nil {
		return err
	}
	b := code.Bounds()
	n := b.Dx()
	module := size / float64(n+8)
	pdf.SetFillColor(0, 0, 0)
	for i := range n {
		for j := range n {
			if r, _, _, _ := code.At(b.Min.X+i, b.Min.Y+j).RGBA(); r == 0 {
				pdf.Rect(x+float64(i+4)*module, y+float64(j+4)*module, module, module, "F")
			}
		}
	}
	return nil
}

// fileSlot finds the offset of the file signature's hex in a sealed PDF:
// the seal must be there exactly once.
func fileSlot(pdf []byte) (int, error) {
	if bytes.Count(pdf, []byte(sealMarker)) != 1 {
		return 0, ErrNoSeal
	}
	start := bytes.Index(pdf, []byte(sealMarker))
	end := bytes.IndexByte(pdf[start:], ')')
	if end < 0 {
		return 0, ErrNoSeal
	}
	line := pdf[start : start+end]
	i := bytes.LastIndex(line, []byte(fileField))
	if i < 0 || len(line)-i-len(fileField) != fileSigLen {
		return 0, ErrNoSeal
	}
	return start + i + len(fileField), nil
}

// fileMessage is what the file signature signs: the file without its
// signature's slot.
func fileMessage(pdf []byte, slot int) []byte {
	m := make([]byte, 0, len(fileDomain)+len(pdf)-fileSigLen)
	m = append(m, fileDomain...)
	m = append(m, pdf[:slot]...)
	return append(m, pdf[slot+fileSigLen:]...)
}

// Verification's answers about a file.
var (
	// ErrNoSeal: the file carries no certificate seal (not a certificate
	// of civico's, or its seal was removed or doubled).
	ErrNoSeal = errors.New("no certificate seal in the file")
	// ErrUnknownKey: sealed with a key the town never had.
	ErrUnknownKey = errors.New("sealed with a key that is not the town's")
	// ErrContent: the content does not match its seal (edited).
	ErrContent = errors.New("the content was altered: its seal does not match")
	// ErrFile: the file was altered after it was sealed.
	ErrFile = errors.New("the file was altered after it was sealed")
)

// VerifyPDF checks a certificate's file offline against the town's public
// keys: its content's seal, then the whole file's. It returns the content
// when both hold.
func VerifyPDF(pdf []byte, keys KeySet) (Content, error) {
	slot, err := fileSlot(pdf)
	if err != nil {
		return Content{}, err
	}
	start := bytes.Index(pdf, []byte(sealMarker))
	fields := map[string]string{}
	for _, f := range strings.Fields(string(pdf[start+len(sealMarker) : slot-len(fileField)])) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return Content{}, ErrNoSeal
		}
		fields[k] = v
	}
	canonical, err1 := base64.RawURLEncoding.DecodeString(fields["content"])
	sig, err2 := base64.RawURLEncoding.DecodeString(fields["sig"])
	fileSig, err3 := hex.DecodeString(string(pdf[slot : slot+fileSigLen]))
	if err1 != nil || err2 != nil || err3 != nil {
		return Content{}, ErrContent
	}
	key, ok := keys[fields["kid"]]
	if !ok {
		return Content{}, ErrUnknownKey
	}
	if !ed25519.Verify(key, contentMessage(canonical), sig) {
		return Content{}, ErrContent
	}
	c, err := ParseContent(canonical)
	if err != nil {
		return Content{}, ErrContent
	}
	if !ed25519.Verify(key, fileMessage(pdf, slot), fileSig) {
		return c, ErrFile
	}
	return c, nil
}
