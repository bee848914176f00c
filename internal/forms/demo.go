package forms

import (
	"bytes"
	"fmt"
	"strings"

	"codeberg.org/go-pdf/fpdf"
)

// The demo town's forms (`civico demo`): printable PDF forms written for
// the demo, made at its start with fpdf, each attached to the catalogue
// service it belongs to. Their wording follows the forms Italian towns
// use; the references to laws are real, the town's details are the demo
// profile's.

// DemoForm is one of the demo's forms.
type DemoForm struct {
	ServiceID, Title, Description, Filename string
	// Sections are the form's parts: a heading and its lines. A line
	// ending in ":" is a field to fill in; one starting with "[ ]" a box to
	// tick.
	Sections []DemoSection
}

// DemoSection is a part of a demo form.
type DemoSection struct {
	Heading string
	Lines   []string
}

var declarant = DemoSection{Heading: "Dati del dichiarante", Lines: []string{
	"Cognome:", "Nome:", "Luogo e data di nascita:", "Codice fiscale:", "Cittadinanza:",
	"Telefono:", "Email o PEC:",
}}

var privacy = DemoSection{Heading: "Informativa sul trattamento dei dati personali", Lines: []string{
	"I dati sono trattati dal Comune, titolare del trattamento, solo per il procedimento richiesto, ai sensi degli articoli 13 e 14 del " +
		"Regolamento (UE) 2016/679. L'informativa completa è nella pagina Privacy del sito del Comune.",
	"Data:", "Firma:",
}}

// DemoForms are the demo's forms.
var DemoForms = []DemoForm{
	{ServiceID: "cambio-residenza", Title: "Dichiarazione di residenza", Filename: "dichiarazione-di-residenza.pdf",
		Description: "Per dichiarare il trasferimento della residenza da un altro Comune o dall'estero, o il cambio di abitazione in città.",
		Sections: []DemoSection{
			{Heading: "Che cosa dichiaro", Lines: []string{
				"[ ] Residenza proveniente da altro Comune italiano (indicare quale):",
				"[ ] Residenza proveniente dall'estero (indicare lo Stato):",
				"[ ] Cambio di abitazione nell'ambito del Comune",
				"[ ] Iscrizione per altro motivo (specificare):"}},
			declarant,
			{Heading: "Nuova abitazione", Lines: []string{"Via o piazza, numero civico:", "Scala, piano, interno:",
				"[ ] Proprietà  [ ] Locazione  [ ] Comodato  [ ] Altro titolo (allegare il documento)",
				"Dati catastali: foglio, particella, subalterno:"}},
			{Heading: "Persone che si trasferiscono con me", Lines: []string{"Cognome, nome, data di nascita, rapporto di parentela:",
				"Cognome, nome, data di nascita, rapporto di parentela:", "Cognome, nome, data di nascita, rapporto di parentela:"}},
			{Heading: "Avvertenze", Lines: []string{"La dichiarazione è resa ai sensi dell'articolo 13 del DPR 223/1989 e dell'articolo 5 del " +
				"decreto-legge 47/2014. Entro 45 giorni la Polizia locale verifica la dimora abituale. Le dichiarazioni false sono punite " +
				"dall'articolo 76 del DPR 445/2000. Allegare copia del documento di identità di ogni persona maggiorenne."}},
			privacy,
		}},
	{ServiceID: "contrassegno-disabili", Title: "Richiesta del contrassegno di parcheggio per persone con disabilità (CUDE)", Filename: "richiesta-contrassegno-cude.pdf",
		Description: "Per chiedere il rilascio, il rinnovo o il duplicato del contrassegno europeo di parcheggio.",
		Sections: []DemoSection{
			{Heading: "Che cosa chiedo", Lines: []string{"[ ] Primo rilascio  [ ] Rinnovo  [ ] Duplicato per furto, smarrimento o deterioramento",
				"[ ] Contrassegno permanente  [ ] Contrassegno temporaneo (durata indicata nel certificato medico)"}},
			declarant,
			{Heading: "Persona titolare del contrassegno (se diversa dal dichiarante)", Lines: []string{"Cognome e nome:", "Codice fiscale:",
				"Rapporto con il dichiarante (genitore, tutore, amministratore di sostegno):"}},
			{Heading: "Allegati", Lines: []string{"[ ] Certificato dell'ufficio medico-legale dell'ATS, o verbale della commissione medica",
				"[ ] Una fotografia formato tessera recente", "[ ] Il contrassegno scaduto (per il rinnovo) o la denuncia (per il duplicato)",
				"Il contrassegno è rilasciato ai sensi dell'articolo 188 del Codice della strada e dell'articolo 381 del suo regolamento (DPR 495/1992)."}},
			privacy,
		}},
	{ServiceID: "accesso-atti-edilizi", Title: "Richiesta di accesso agli atti", Filename: "richiesta-accesso-atti.pdf",
		Description: "Per vedere o avere copia di documenti amministrativi, come le pratiche edilizie, quando si ha un interesse diretto e attuale.",
		Sections: []DemoSection{
			declarant,
			{Heading: "Documenti richiesti", Lines: []string{"Descrizione dei documenti (tipo di pratica, numero, anno, indirizzo dell'immobile):", "",
				"[ ] Solo visione  [ ] Copia semplice  [ ] Copia conforme (in bollo)"}},
			{Heading: "Motivo della richiesta", Lines: []string{"Interesse diretto, concreto e attuale, collegato ai documenti (articolo 22 della legge 241/1990):", ""}},
			{Heading: "Avvertenze", Lines: []string{"Il Comune risponde entro 30 giorni. Se i documenti riguardano altre persone, sono informate della " +
				"richiesta e possono opporsi entro 10 giorni (DPR 184/2006). Le copie sono soggette al rimborso dei costi di riproduzione."}},
			privacy,
		}},
	{ServiceID: "occupazione-suolo-pubblico", Title: "Domanda di occupazione temporanea di suolo pubblico", Filename: "domanda-occupazione-suolo-pubblico.pdf",
		Description: "Per occupare temporaneamente strade, marciapiedi o piazze: ponteggi, traslochi, tavolini, banchetti.",
		Sections: []DemoSection{
			declarant,
			{Heading: "In qualità di", Lines: []string{"[ ] Privato  [ ] Legale rappresentante della ditta o associazione (indicare denominazione e partita IVA):"}},
			{Heading: "Occupazione richiesta", Lines: []string{"Luogo (via, numero civico):", "Superficie in metri quadrati (lunghezza x larghezza):",
				"Dal giorno:", "Al giorno:", "Orario:",
				"Motivo: [ ] Ponteggio o cantiere  [ ] Trasloco  [ ] Tavolini e dehors  [ ] Banchetto o iniziativa  [ ] Altro:"}},
			{Heading: "Avvertenze", Lines: []string{"La domanda va presentata almeno 10 giorni prima dell'occupazione. L'occupazione è soggetta al canone " +
				"unico patrimoniale (legge 160/2019). Se l'occupazione riguarda la carreggiata, la Polizia locale emette l'ordinanza di viabilità."}},
			privacy,
		}},
	{ServiceID: "iscrizione-mensa-scolastica", Title: "Richiesta di dieta speciale per la mensa scolastica", Filename: "richiesta-dieta-speciale-mensa.pdf",
		Description: "Per chiedere un menu diverso per motivi di salute (allergie, intolleranze, malattie) o per motivi etici e religiosi.",
		Sections: []DemoSection{
			declarant,
			{Heading: "Alunno o alunna", Lines: []string{"Cognome e nome:", "Data di nascita:", "Scuola, plesso e classe:"}},
			{Heading: "Dieta richiesta", Lines: []string{"[ ] Per motivi di salute (allegare il certificato del medico o del pediatra, con gli alimenti da escludere)",
				"Alimenti da escludere:", "[ ] Per motivi etici o religiosi: [ ] senza carne di maiale  [ ] senza carne  [ ] senza carne e pesce",
				"[ ] Dieta leggera per non più di 3 giorni (senza certificato)"}},
			{Heading: "Avvertenze", Lines: []string{"La dieta per motivi di salute vale per l'anno scolastico e si rinnova con un nuovo certificato. " +
				"I dati sulla salute sono trattati solo per preparare i pasti (articolo 9 del Regolamento (UE) 2016/679)."}},
			privacy,
		}},
	{ServiceID: "passo-carraio", Title: "Domanda di autorizzazione per il passo carraio", Filename: "domanda-passo-carraio.pdf",
		Description: "Per aprire un accesso dei veicoli dalla strada a un'area privata e ottenere il cartello di passo carraio.",
		Sections: []DemoSection{
			declarant,
			{Heading: "Passo carraio", Lines: []string{"Indirizzo (via, numero civico):", "Larghezza dell'accesso in metri:",
				"[ ] Nuovo passo carraio  [ ] Regolarizzazione di un accesso esistente  [ ] Passo carraio a raso (senza modifica del marciapiede)"}},
			{Heading: "Allegati", Lines: []string{"[ ] Planimetria con l'accesso e le misure", "[ ] Documentazione fotografica",
				"[ ] Titolo sull'immobile (proprietà, locazione con assenso del proprietario)",
				"L'autorizzazione è rilasciata ai sensi dell'articolo 22 del Codice della strada e dell'articolo 46 del suo regolamento."}},
			privacy,
		}},
}

// PDF writes the form as a printable A4 PDF of town's name, with its
// fields to fill in by hand.
func (f DemoForm) PDF(town, address string) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle(f.Title, true)
	pdf.SetAuthor(town, true)
	pdf.SetCreator("civico", true)
	pdf.SetMargins(20, 18, 20)
	pdf.SetAutoPageBreak(true, 18)
	tr := pdf.UnicodeTranslatorFromDescriptor("") // cp1252: the accented letters of Italian
	pdf.SetFooterFunc(func() {
		pdf.SetY(-12)
		pdf.SetFont("Helvetica", "", 8)
		pdf.CellFormat(0, 5, tr(fmt.Sprintf("%s — %s — pagina %d", town, f.Title, pdf.PageNo())), "", 0, "C", false, 0, "")
	})
	pdf.AddPage()
	pdf.SetFont("Helvetica", "B", 13)
	pdf.CellFormat(0, 7, tr(town), "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 9)
	pdf.CellFormat(0, 5, tr(address), "", 1, "L", false, 0, "")
	pdf.Ln(6)
	pdf.SetFont("Helvetica", "B", 15)
	pdf.MultiCell(0, 7, tr(f.Title), "", "L", false)
	pdf.SetFont("Helvetica", "", 10)
	pdf.MultiCell(0, 5, tr(f.Description), "", "L", false)
	width := 170.0
	for _, s := range f.Sections {
		pdf.Ln(4)
		pdf.SetFont("Helvetica", "B", 11)
		pdf.SetFillColor(230, 236, 242)
		pdf.CellFormat(0, 7, tr(s.Heading), "", 1, "L", true, 0, "")
		pdf.Ln(1)
		pdf.SetFont("Helvetica", "", 10)
		for _, line := range s.Lines {
			switch {
			case line == "":
				// Room to write: two ruled lines.
				for range 2 {
					y := pdf.GetY() + 7
					pdf.Line(20, y, 20+width, y)
					pdf.SetY(y)
				}
				pdf.Ln(2)
			case strings.HasSuffix(line, ":"):
				label := tr(line) + " "
				w := pdf.GetStringWidth(label)
				if w > width-40 {
					pdf.MultiCell(0, 5, label, "", "L", false)
					w = 0
				} else {
					pdf.CellFormat(w, 8, label, "", 0, "L", false, 0, "")
				}
				y := pdf.GetY() + 7
				pdf.Line(20+w, y, 20+width, y)
				pdf.Ln(9)
			case strings.HasPrefix(line, "[ ]"):
				pdf.MultiCell(0, 6, tr(strings.ReplaceAll(line, "[ ]", "[  ]")), "", "L", false)
			default:
				pdf.SetFont("Helvetica", "", 9)
				pdf.MultiCell(0, 4.5, tr(line), "", "L", false)
				pdf.SetFont("Helvetica", "", 10)
				pdf.Ln(1)
			}
		}
	}
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
