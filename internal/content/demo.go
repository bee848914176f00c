package content

import (
	"context"
	"fmt"
	"time"

	"github.com/civico-pa/civico/internal/hours"
)

// The demo town's content (`civico demo`): places of Cinisello Balsamo,
// its bodies and some documents, written for the demo; the people are
// invented (no name is a real official's), the events are dated from the
// day the demo starts, so that its calendar is never empty.

type demoEntry struct {
	kind, category, ref string
	values              map[string]string
	// place and unit name the ref of the entry this one points at.
	place, unit string
	// days, from and to date an event: days after today (Rome), from and
	// to as clocks ("18:30"); toDays, when set, is the end's day.
	days, toDays int
	from, to     string
	draft        bool
}

var demoPlaces = []demoEntry{
	{kind: KindPlace, category: "biblioteca", ref: "pertini", values: map[string]string{
		"title": "Biblioteca civica Il Pertini", "title_en": "Il Pertini civic library",
		"summary":    "La biblioteca della città nel centro culturale Il Pertini: prestito di libri, film e musica, sale studio, spazio bambini e ragazzi, postazioni internet.",
		"summary_en": "The town library in the Il Pertini cultural centre: books, films and music to borrow, study rooms, a children's area and internet points.",
		"body":       "Il Pertini ospita la biblioteca civica su tre piani: la sezione adulti con i quotidiani e le riviste, la sezione ragazzi con lo spazio per i più piccoli, le sale studio aperte anche la sera.\n\nCon la tessera della biblioteca, gratuita, si prendono in prestito fino a 10 documenti per 30 giorni e si accede alla biblioteca digitale.",
		"address":    "Piazza Confalonieri 3", "postal_code": "20092", "lat": "45.5553", "lon": "9.2172",
		"opening":    "Lunedì 14-19; da martedì a venerdì 9-19; sabato 9-18.\nSale studio: da lunedì a venerdì fino alle 23.",
		"opening_en": "Monday 2-7 pm; Tuesday to Friday 9 am-7 pm; Saturday 9 am-6 pm.\nStudy rooms: Monday to Friday until 11 pm.",
		"phone":      "02 660231"}},
	{kind: KindPlace, category: "cultura", ref: "villa-ghirlanda", values: map[string]string{
		"title": "Villa Ghirlanda Silva", "title_en": "Villa Ghirlanda Silva",
		"summary":    "Villa settecentesca con il parco storico: mostre, concerti, la scuola civica di musica e le sale per matrimoni civili.",
		"summary_en": "An eighteenth-century villa with its historic park: exhibitions, concerts, the civic music school and rooms for civil weddings.",
		"address":    "Via Frova 10", "postal_code": "20092", "lat": "45.5569", "lon": "9.2149",
		"opening": "Mostre: da martedì a domenica 10-19.", "opening_en": "Exhibitions: Tuesday to Sunday 10 am-7 pm.", "phone": "02 660231"}},
	{kind: KindPlace, category: "parco", ref: "parco-villa-ghirlanda", values: map[string]string{
		"title":   "Parco di Villa Ghirlanda",
		"summary": "Il parco storico della villa, con alberi secolari, il laghetto e l'area giochi: il giardino del centro città.",
		"address": "Via Frova", "postal_code": "20092", "lat": "45.5576", "lon": "9.2141",
		"opening": "Tutti i giorni dalle 7 al tramonto."}},
	{kind: KindPlace, category: "parco", ref: "grugnotorto", values: map[string]string{
		"title": "Parco del Grugnotorto", "title_en": "Grugnotorto Park",
		"summary":    "Campi, boschi e piste ciclabili a nord della città: il parco agricolo che Cinisello Balsamo condivide con i comuni vicini.",
		"summary_en": "Fields, woods and cycle paths north of the town: the farmland park Cinisello Balsamo shares with its neighbours.",
		"address":    "Via Cilea", "postal_code": "20092", "lat": "45.5701", "lon": "9.2079"}},
	{kind: KindPlace, category: "centro-civico", ref: "crocetta", values: map[string]string{
		"title":   "Centro civico Crocetta",
		"summary": "Le sale del quartiere Crocetta per le associazioni, gli incontri pubblici e i corsi: si prenotano all'ufficio cultura.",
		"address": "Via Friuli 18", "postal_code": "20092", "lat": "45.5497", "lon": "9.2251",
		"opening": "Da lunedì a sabato 9-22, secondo le prenotazioni."}},
	{kind: KindPlace, category: "centro-civico", ref: "sant-eusebio", values: map[string]string{
		"title":   "Centro civico Sant'Eusebio",
		"summary": "La casa di quartiere di Sant'Eusebio: sala polivalente, spazio compiti per i ragazzi, sportello di facilitazione digitale.",
		"address": "Via Mozart 21", "postal_code": "20092", "lat": "45.5604", "lon": "9.2298",
		"opening": "Da lunedì a venerdì 14-20."}},
	{kind: KindPlace, category: "impianto-sportivo", ref: "scirea", values: map[string]string{
		"title": "Centro sportivo comunale Gaetano Scirea", "title_en": "Gaetano Scirea municipal sports centre",
		"summary":    "Stadio, campi da calcio e pista di atletica: le società sportive li prenotano al Comune.",
		"summary_en": "Stadium, football pitches and an athletics track, booked by sports clubs through the town.",
		"address":    "Via dei Partigiani 48", "postal_code": "20092", "lat": "45.5479", "lon": "9.2118",
		"opening": "Da lunedì a sabato 8-22; domenica secondo il calendario delle gare."}},
	{kind: KindPlace, category: "impianto-sportivo", ref: "piscina", values: map[string]string{
		"title":   "Piscina comunale",
		"summary": "Vasca da 25 metri e vasca per i corsi dei più piccoli; nuoto libero e corsi per tutte le età.",
		"address": "Via Risorgimento 120", "postal_code": "20092", "lat": "45.5612", "lon": "9.2203",
		"opening": "Nuoto libero: da lunedì a venerdì 12-14 e 19-22; sabato e domenica 9-13."}},
	{kind: KindPlace, category: "mercato", ref: "mercato-gramsci", values: map[string]string{
		"title":   "Mercato settimanale di piazza Gramsci",
		"summary": "Il mercato del mercoledì e del sabato mattina: alimentari, abbigliamento, fiori.",
		"address": "Piazza Gramsci", "postal_code": "20092", "lat": "45.5566", "lon": "9.2161",
		"opening": "Mercoledì e sabato 7.30-13."}},
}

var demoEvents = []demoEntry{
	{kind: KindEvent, place: "pertini", days: 2, from: "15:00", to: "17:00", values: map[string]string{
		"title": "I servizi online del Comune: facilitazione digitale per over 65", "title_en": "The town's online services: digital help for over-65s",
		"summary":    "Come accedere con la carta regionale dei servizi, prenotare un appuntamento e scaricare un certificato: un'ora di prova guidata, con i facilitatori digitali.",
		"summary_en": "How to log in with the regional services card, book an appointment and download a certificate: a guided hour with the digital facilitators.",
		"cost":       "Gratuito, prenotazione in biblioteca", "cost_en": "Free, book at the library"}},
	{kind: KindEvent, place: "crocetta", days: 5, from: "18:30", to: "20:00", values: map[string]string{
		"title":   "Incontro pubblico sul bilancio partecipativo",
		"summary": "La Giunta presenta i progetti di quartiere proposti dai cittadini e come votarli su Partecipa.",
		"body":    "L'incontro è aperto a tutti. Saranno presenti l'assessore al bilancio e i tecnici dell'area territorio.\n\nSi può seguire anche la sintesi pubblicata nella sezione Novità.",
		"cost":    "Ingresso libero"}},
	{kind: KindEvent, place: "pertini", days: 6, from: "10:30", to: "11:30", values: map[string]string{
		"title": "Letture animate per bambini", "title_en": "Storytelling for children",
		"summary":    "Storie lette ad alta voce per bambini dai 3 ai 6 anni, nello spazio ragazzi della biblioteca.",
		"summary_en": "Stories read aloud for children aged 3 to 6, in the library's children's area.",
		"cost":       "Ingresso libero, posti limitati", "cost_en": "Free entry, limited places"}},
	{kind: KindEvent, place: "villa-ghirlanda", days: -3, toDays: 24, from: "10:00", to: "19:00", values: map[string]string{
		"title": "Cinisello ieri e oggi: mostra fotografica", "title_en": "Cinisello then and now: a photography exhibition",
		"summary":    "Cent'anni di città nelle fotografie dell'archivio storico comunale e dei cittadini.",
		"summary_en": "A hundred years of the town in photographs from the municipal archive and from residents.",
		"cost":       "Ingresso libero", "cost_en": "Free entry"}},
	{kind: KindEvent, place: "villa-ghirlanda", days: 10, from: "21:00", to: "22:30", values: map[string]string{
		"title":   "Concerto della scuola civica di musica",
		"summary": "Gli allievi e i docenti della scuola civica in concerto nel salone della villa.",
		"cost":    "Ingresso libero fino a esaurimento posti"}},
	{kind: KindEvent, place: "grugnotorto", days: 13, from: "09:30", to: "12:00", values: map[string]string{
		"title": "Camminata nel Parco del Grugnotorto", "title_en": "A walk in Grugnotorto Park",
		"summary":    "Una passeggiata guidata di 6 chilometri tra campi e boschi, con le guardie ecologiche volontarie.",
		"summary_en": "A 6-kilometre guided walk through fields and woods, with the volunteer environmental wardens.",
		"cost":       "Gratuita", "cost_en": "Free"}},
	{kind: KindEvent, place: "scirea", days: 17, from: "10:00", to: "17:00", values: map[string]string{
		"title":   "Open day dello sport",
		"summary": "Le società sportive della città presentano i corsi della nuova stagione: prove gratuite per bambini e adulti.",
		"cost":    "Ingresso libero"}},
	{kind: KindEvent, place: "parco-villa-ghirlanda", days: -8, from: "09:00", to: "12:00", values: map[string]string{
		"title":   "Pulizia collettiva del parco",
		"summary": "Volontari, scuole e associazioni insieme per la pulizia del parco di Villa Ghirlanda.",
		"cost":    "Partecipazione libera"}},
}

var demoUnits = []demoEntry{
	{kind: KindUnit, category: "organi-di-governo", ref: "sindaco", values: map[string]string{
		"title": "Sindaco", "title_en": "Mayor",
		"summary":    "Il Sindaco rappresenta il Comune, guida la Giunta e risponde al Consiglio comunale.",
		"summary_en": "The Mayor represents the town, leads the Executive and answers to the Town Council.",
		"body":       "Eletto direttamente dai cittadini, il Sindaco nomina gli assessori, sovrintende agli uffici e ai servizi, è ufficiale di governo e autorità sanitaria locale.",
		"address":    "Via XXV Aprile 4", "phone": "02 660231"}},
	{kind: KindUnit, category: "organi-di-governo", ref: "giunta", values: map[string]string{
		"title": "Giunta comunale", "title_en": "Town Executive",
		"summary":    "Il Sindaco e gli assessori: governano il Comune e attuano il programma approvato dal Consiglio.",
		"summary_en": "The Mayor and the councillors of the Executive: they run the town and carry out the programme the Council approved.",
		"body":       "La Giunta si riunisce di norma ogni settimana. Approva le delibere di sua competenza, propone al Consiglio il bilancio e i regolamenti.",
		"address":    "Via XXV Aprile 4"}},
	{kind: KindUnit, category: "organi-di-governo", ref: "consiglio", values: map[string]string{
		"title": "Consiglio comunale", "title_en": "Town Council",
		"summary":    "L'assemblea eletta dai cittadini: approva il bilancio, i regolamenti e gli indirizzi del Comune.",
		"summary_en": "The assembly residents elect: it approves the budget, the regulations and the town's policies.",
		"body":       "Il Consiglio comunale ha 32 consiglieri oltre al Sindaco. Le sedute sono pubbliche e trasmesse in diretta.",
		"address":    "Via XXV Aprile 4"}},
	{kind: KindUnit, category: "aree-amministrative", ref: "area-cittadino", values: map[string]string{
		"title":   "Area servizi al cittadino",
		"summary": "Servizi demografici, sportello polifunzionale, URP e protocollo.",
		"address": "Via XXV Aprile 4", "phone": "02 660231"}},
	{kind: KindUnit, category: "aree-amministrative", ref: "area-territorio", values: map[string]string{
		"title":   "Area territorio e ambiente",
		"summary": "Urbanistica, edilizia privata, lavori pubblici, verde e ambiente.",
		"address": "Via Umberto Giordano 3", "phone": "02 660231"}},
	{kind: KindUnit, category: "enti-e-fondazioni", ref: "parco-nord", values: map[string]string{
		"title":   "Consorzio Parco Nord Milano",
		"summary": "Il consorzio dei comuni e della Città metropolitana che gestisce il Parco Nord, di cui Cinisello Balsamo fa parte.",
		"website": "https://parconord.milano.it/"}},
}

var demoPeople = []demoEntry{
	{kind: KindPerson, category: "politici", unit: "sindaco", values: map[string]string{
		"title": "Laura Marchetti", "role": "Sindaca", "role_en": "Mayor",
		"summary":    "Sindaca di Cinisello Balsamo; tiene le deleghe alla sicurezza e ai rapporti con i quartieri. (Persona inventata per la demo.)",
		"summary_en": "Mayor of Cinisello Balsamo; responsible for public safety and relations with the districts. (A person invented for the demo.)"}},
	{kind: KindPerson, category: "politici", unit: "giunta", values: map[string]string{
		"title": "Davide Conti", "role": "Vicesindaco, assessore al bilancio e ai tributi", "role_en": "Deputy mayor, councillor for the budget and local taxes",
		"summary": "Segue il bilancio, i tributi e il bilancio partecipativo. (Persona inventata per la demo.)"}},
	{kind: KindPerson, category: "politici", unit: "giunta", values: map[string]string{
		"title": "Sara Greco", "role": "Assessora alla cultura, allo sport e ai tempi della città",
		"summary": "Segue la biblioteca, gli eventi, gli impianti sportivi e il piano dei tempi e degli orari. (Persona inventata per la demo.)"}},
	{kind: KindPerson, category: "politici", unit: "consiglio", values: map[string]string{
		"title": "Marco Villa", "role": "Presidente del Consiglio comunale", "role_en": "Speaker of the Town Council",
		"summary": "Convoca e presiede le sedute del Consiglio comunale. (Persona inventata per la demo.)"}},
	{kind: KindPerson, category: "personale-amministrativo", unit: "area-cittadino", values: map[string]string{
		"title": "Elena Fumagalli", "role": "Dirigente dell'area servizi al cittadino",
		"summary": "Dirige i servizi demografici, lo sportello polifunzionale e l'URP. (Persona inventata per la demo.)"}},
	{kind: KindPerson, category: "personale-amministrativo", unit: "area-territorio", values: map[string]string{
		"title": "Paolo Brambilla", "role": "Dirigente dell'area territorio e ambiente",
		"summary": "Dirige urbanistica, edilizia privata, lavori pubblici e ambiente. (Persona inventata per la demo.)"}},
}

var demoDocuments = []demoEntry{
	{kind: KindDocument, category: "atti-normativi", values: map[string]string{
		"title":   "Testo unico delle leggi sull'ordinamento degli enti locali (TUEL)",
		"summary": "Il decreto legislativo 267/2000, che regola organi, funzioni e bilancio dei Comuni.",
		"website": "https://www.normattiva.it/uri-res/N2Ls?urn:nir:stato:decreto.legislativo:2000-08-18;267", "doc_date": "2000-08-18"}},
	{kind: KindDocument, category: "documenti-funzionamento-interno", unit: "giunta", values: map[string]string{
		"title":   "I bilanci del Comune nella banca dati delle amministrazioni pubbliche",
		"summary": "Bilanci di previsione e rendiconti, pubblicati nella banca dati nazionale della Ragioneria generale dello Stato.",
		"website": "https://openbdap.rgs.mef.gov.it/", "doc_date": "2026-01-30"}},
	{kind: KindDocument, category: "dataset", unit: "area-cittadino", values: map[string]string{
		"title": "Uffici e orari di apertura (dati aperti)", "title_en": "Offices and opening hours (open data)",
		"summary":    "Gli uffici del Comune con indirizzi, coordinate e orari, in JSON: lo stesso dato che usa il sito.",
		"summary_en": "The town's offices with addresses, coordinates and opening hours, as JSON: the data the site itself uses.",
		"website":    "/api/v1/offices", "doc_date": "2026-02-02"}},
	{kind: KindDocument, category: "dataset", values: map[string]string{
		"title":   "Calendario degli eventi (iCalendar)",
		"summary": "Gli eventi in programma in città, nel formato che ogni calendario sa leggere.",
		"website": "/vivere-il-comune/eventi/calendario.ics", "doc_date": "2026-02-02"}},
	{kind: KindDocument, category: "documenti-tecnici-di-supporto", unit: "area-cittadino", values: map[string]string{
		"title":   "Carta dei servizi",
		"summary": "Che cosa offre il Comune, dove e con quali tempi: l'elenco dei servizi con le loro schede.",
		"website": "/servizi", "doc_date": "2026-01-12"}},
	{kind: KindDocument, category: "dataset", values: map[string]string{
		"title":   "Dati aperti sul portale nazionale",
		"summary": "Il catalogo nazionale dei dati aperti delle pubbliche amministrazioni.",
		"website": "https://www.dati.gov.it/", "doc_date": "2025-11-20"}},
}

// DemoFeatured are what the demo's home page puts in evidence.
var (
	DemoFeaturedServices = []string{"carta-identita-elettronica", "cambio-residenza", "iscrizione-mensa-scolastica", "tari",
		"contrassegno-disabili", "permesso-sosta-residenti"}
	DemoFeaturedTopics = []string{"anagrafe", "istruzione", "gestione-rifiuti", "mobilita-sostenibile", "tempo-libero", "assistenza-sociale"}
)

// EnsureDemo fills an empty store with the demo town's content, and, when
// no event is coming, adds the demo's events dated from now: run at every
// start of the demo, it keeps its calendar full.
func (s *Store) EnsureDemo(ctx context.Context, now time.Time) error {
	var n int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM content_entries`).Scan(&n); err != nil {
		return err
	}
	by := Actor{}
	refs := map[string]string{}
	create := func(list []demoEntry) error {
		for _, d := range list {
			in := Input{Values: map[string]string{"category": d.category}, Action: ActionPublish}
			if d.draft {
				in.Action = ActionDraft
			}
			for k, v := range d.values {
				in.Values[k] = v
			}
			if d.place != "" {
				in.Values["place"] = refs[d.place]
			}
			if d.unit != "" {
				in.Values["unit"] = refs[d.unit]
			}
			if d.kind == KindEvent {
				day := hours.DateOf(now)
				to := d.days
				if d.toDays != 0 {
					to = d.toDays
				}
				start, _ := hours.ParseClock(d.from)
				end, _ := hours.ParseClock(d.to)
				in.Values["starts_at"] = day.AddDays(d.days).At(start).In(hours.Rome).Format(DateTimeLocal)
				in.Values["ends_at"] = day.AddDays(to).At(end).In(hours.Rome).Format(DateTimeLocal)
			}
			e, err := s.Create(ctx, d.kind, in, by)
			if err != nil {
				return fmt.Errorf("demo %s %q: %w", d.kind, d.values["title"], err)
			}
			if d.ref != "" {
				refs[d.ref] = e.ID
			}
		}
		return nil
	}
	if n == 0 {
		for _, list := range [][]demoEntry{demoPlaces, demoUnits, demoPeople, demoDocuments} {
			if err := create(list); err != nil {
				return err
			}
		}
		if err := s.SetFeatured(ctx, DemoFeaturedServices, DemoFeaturedTopics, by); err != nil {
			return err
		}
	}
	if _, coming, err := s.Events(ctx, now, false, "", 1, 1); err != nil || coming > 0 {
		return err
	}
	// The demo's places, by their refs, for the events.
	places, _, err := s.List(ctx, KindPlace, "", 1, maxChoices)
	if err != nil {
		return err
	}
	for _, d := range demoPlaces {
		for _, p := range places {
			if p.Title.IT == d.values["title"] {
				refs[d.ref] = p.ID
			}
		}
	}
	for _, d := range demoEvents {
		if refs[d.place] == "" {
			return nil // an administrator removed the demo's places: leave the calendar to them
		}
	}
	return create(demoEvents)
}
