// Package taxonomy holds the national vocabularies of the Designers Italia
// municipal model: the categories of the Amministrazione, Novità and Servizi
// sections and the 64 topics. The conformance check compares their titles
// letter by letter, so they are data here, never free text in templates.
package taxonomy

import (
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Term is one entry of a vocabulary.
type Term struct {
	Slug  string
	Title string
}

func terms(titles ...string) []Term {
	out := make([]Term, len(titles))
	for i, t := range titles {
		out[i] = Term{Slug: Slug(t), Title: t}
	}
	return out
}

// ServiceCategories are the categories of the Servizi section.
var ServiceCategories = terms(
	"Anagrafe e stato civile",
	"Cultura e tempo libero",
	"Vita lavorativa",
	"Imprese e commercio",
	"Appalti pubblici",
	"Catasto e urbanistica",
	"Turismo",
	"Mobilità e trasporti",
	"Educazione e formazione",
	"Giustizia e sicurezza pubblica",
	"Tributi, finanze e contravvenzioni",
	"Ambiente",
	"Salute, benessere e assistenza",
	"Autorizzazioni",
	"Agricoltura e pesca",
)

// ManagementCategories are the categories of the Amministrazione section.
var ManagementCategories = terms(
	"Organi di governo",
	"Aree amministrative",
	"Uffici",
	"Enti e fondazioni",
	"Politici",
	"Personale amministrativo",
	"Documenti e dati",
)

// NewsCategories are the categories of the Novità section.
var NewsCategories = terms("Notizie", "Comunicati", "Avvisi")

// Topics is the national controlled vocabulary of topics.
var Topics = terms(
	"Accesso all'informazione", "Acqua", "Agricoltura", "Anagrafe", "Animale domestico", "Aria",
	"Assistenza agli invalidi", "Assistenza sociale", "Associazioni", "Bilancio", "Commercio al minuto",
	"Commercio all'ingrosso", "Commercio ambulante", "Comunicazione istituzionale", "Comunicazione politica",
	"Concorsi", "Covid-19", "Elezioni", "Energie rinnovabili", "Estero", "Foreste", "Formazione professionale",
	"Gemellaggi", "Gestione rifiuti", "Giustizia", "Igiene pubblica", "Immigrazione", "Imposte", "Imprese",
	"Inquinamento", "Integrazione sociale", "Isolamento termico", "Istruzione", "Lavoro", "Matrimonio", "Mercato",
	"Mobilità sostenibile", "Morte", "Nascita", "Parcheggi", "Patrimonio culturale", "Pesca", "Piano di sviluppo",
	"Pista ciclabile", "PNRR", "Politica commerciale", "Polizia", "Prodotti alimentari", "Protezione civile",
	"Residenza", "Risposta alle emergenze", "Sistema giuridico", "Spazio Verde", "Sport", "Sviluppo sostenibile",
	"Tassa sui servizi", "Tempo libero", "Trasparenza amministrativa", "Trasporto pubblico", "Turismo",
	"Urbanizzazione", "Viaggi", "Zone pedonali", "ZTL",
)

// coded makes a vocabulary whose entries are named by their national code
// (1, 2, ...) rather than by a slug of their title.
func coded(titles ...string) []Term {
	out := make([]Term, len(titles))
	for i, t := range titles {
		out[i] = Term{Slug: strconv.Itoa(i + 1), Title: t}
	}
	return out
}

// LifeEvents are the national vocabulary of the events in a person's life
// that services are grouped by (OntoPiA "life-event", codes 1 to 19), in
// its order and words.
var LifeEvents = coded(
	"Iscrizione scuola/università e/o richiesta borsa di studio",
	"Invalidità",
	"Ricerca di lavoro, avvio nuovo lavoro, disoccupazione",
	"Pensionamento",
	"Richiesta o rinnovo patente",
	"Registrazione/possesso veicolo",
	"Accesso al trasporto pubblico",
	"Compravendita/affitto casa/edifici/terreni, costruzione o ristrutturazione casa/edificio",
	"Cambio di residenza/domicilio",
	"Espatrio per lavoro, studio, pensionamento",
	"Richiesta passaporto, visto e assistenza viaggi internazionali",
	"Nascita di un bambino, richiesta adozioni",
	"Matrimonio e/o cambio stato civile",
	"Morte ed eredità",
	"Prenotazione e disdetta visite/esami",
	"Denuncia crimini",
	"Dichiarazione dei redditi, versamento e riscossione tributi/imposte e contributi",
	"Accesso luoghi della cultura",
	"Possesso, cura, smarrimento animale da compagnia",
)

// BusinessEvents are the national vocabulary of the events in a business's
// life (OntoPiA "business-event", codes 1 to 15).
var BusinessEvents = coded(
	"Avvio impresa",
	"Avvio nuova attività professionale",
	"Richiesta licenze/permessi/certificati",
	"Registrazione impresa transfrontaliera",
	"Avvio/registrazione filiale",
	"Finanziamento impresa",
	"Gestione personale",
	"Pagamento tasse, iva e dogane",
	"Notifiche autorità",
	"Chiusura impresa e attività professionale",
	"Chiusura filiale",
	"Ristrutturazione impresa",
	"Vendita impresa",
	"Bancarotta",
	"Partecipazione ad appalti pubblici nazionali e trasfrontalieri",
)

// Find returns the term with the slug.
func Find(vocab []Term, slug string) (Term, bool) {
	for _, t := range vocab {
		if t.Slug == slug {
			return t, true
		}
	}
	return Term{}, false
}

// Slug turns a title into a URL path segment: lower case ASCII letters and
// digits joined by hyphens ("Mobilità e trasporti" -> "mobilita-e-trasporti").
func Slug(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range norm.NFD.String(strings.ToLower(title)) {
		switch {
		case unicode.Is(unicode.Mn, r):
			// a combining accent: dropped, its letter was written already
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		default:
			dash = true
		}
	}
	return b.String()
}
