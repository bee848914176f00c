package portal

import (
	"context"
	"net/http"
	"time"

	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/taxonomy"
	"github.com/civico-pa/civico/internal/web"
)

// Sources are what the home page shows of the other features, in the
// portal's words; cmd/civico joins them. A nil source shows nothing of
// its part.
type Sources struct {
	// Openings says which offices are open at now and this evening.
	Openings func(ctx context.Context, now time.Time) (Openings, error)
	// News lists the n newest news items.
	News func(ctx context.Context, n int) ([]Teaser, error)
	// Events lists the n next events that have not ended at now.
	Events func(ctx context.Context, now time.Time, n int) ([]Event, error)
	// Featured lists the services and topics the town puts in evidence.
	Featured func(ctx context.Context) ([]Teaser, []taxonomy.Term, error)
	// Version names the state of what the sources read that changes
	// without an edit through this process purging the caches (the
	// catalogue's version): part of the shared content's key; "" when it
	// cannot be told, and then nothing is shared.
	Version func(ctx context.Context) string
}

// Openings is which offices a resident can reach now and this evening.
type Openings struct {
	Now, Evening []Opening
	// Next is the first office to open when none is open now.
	Next *Opening
	// EveningStart is when the evening window begins (18:00, or now).
	EveningStart time.Time
}

// Opening is an office open from Start to End (Rome).
type Opening struct {
	Name, Href string
	Start, End time.Time
}

// Teaser is a news item or a service as the home page shows it.
type Teaser struct {
	Title, Summary, Href string
	// Meta is a line above the title (a news item's category).
	Meta string
	// Date is a news item's publication.
	Date time.Time
}

// Event is an event as the home page's calendar shows it. TitleLang is
// the language its title and summary are written in.
type Event struct {
	Title, Summary, Href, Place, TitleLang string
	Start, End                             time.Time
	// Ongoing says it began before the page's minute.
	Ongoing bool
}

// How much of each part the home page shows.
const (
	HomeNews   = 3
	HomeEvents = 4
	// OpenNowFreshness is the longest an anonymous visitor's home page may
	// be kept by the page cache: it says which offices are open now.
	OpenNowFreshness = 10 * time.Second
)

// HomeData is the content of the home page.
type HomeData struct {
	Cards    []Card
	Openings Openings
	// OpeningsOK is false when the catalogue could not be read: the page
	// says so instead of claiming nothing is open.
	OpeningsOK bool
	News       []Teaser
	Events     []Event
	Services   []Teaser
	Topics     []taxonomy.Term
	// Now is the minute the page speaks of, in Rome.
	Now time.Time
}

// Card is a teaser on the home page; Title and Text are message ids.
type Card struct {
	Title, Text, Href string
}

func (p *Portal) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Portal) home(w http.ResponseWriter, r *http.Request) {
	now := p.now()
	page := p.App.NewPage(r, "home.title")
	page.Description = page.T("home.description", "Town", page.Town.FullName())
	// What is open changes with the minute: an anonymous visitor's page
	// is kept by the page cache for OpenNowFreshness at most, whatever its
	// TTL, and the content every visitor shares is keyed by the minute.
	web.FreshFor(r, OpenNowFreshness)
	version := ""
	if p.Sources.Version != nil {
		version = p.Sources.Version(r.Context())
	}
	d := &HomeData{Cards: p.cards, Now: now.In(hours.Rome)}
	page.Data = d
	if version == "" || !p.App.SharedContent(page, "home", now.In(hours.Rome).Format("2006-01-02T15:04")+"@"+version) {
		if !p.fill(r, d, now) {
			page.KeepContentPrivate()
		}
	}
	p.App.HTML(w, r, http.StatusOK, "home", page)
}

// fill reads what the sources have; a source that fails leaves its part
// out (logged), the rest of the page is still worth showing, and fill
// reports false.
func (p *Portal) fill(r *http.Request, d *HomeData, now time.Time) bool {
	ctx, s := r.Context(), p.Sources
	ok := true
	logErr := func(what string, err error) {
		ok = false
		p.App.Log.Error("home page: "+what, "err", err, "request_id", web.RequestID(ctx))
	}
	var err error
	if s.Openings != nil {
		if d.Openings, err = s.Openings(ctx, now); err != nil {
			logErr("openings", err)
		} else {
			d.OpeningsOK = true
		}
	}
	if s.News != nil {
		if d.News, err = s.News(ctx, HomeNews); err != nil {
			logErr("news", err)
		}
	}
	if s.Events != nil {
		if d.Events, err = s.Events(ctx, now, HomeEvents); err != nil {
			logErr("events", err)
		}
		for i := range d.Events {
			d.Events[i].Ongoing = d.Events[i].Start.Before(now)
		}
	}
	if s.Featured != nil {
		if d.Services, d.Topics, err = s.Featured(ctx); err != nil {
			logErr("featured", err)
		}
	}
	return ok
}
