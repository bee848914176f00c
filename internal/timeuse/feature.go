package timeuse

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/civico-pa/civico/internal/area"
	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/sealed"
	"github.com/civico-pa/civico/internal/timeuse/analysis"
)

// Templates and Messages are the survey's pages and texts.
//
//go:embed templates
var Templates embed.FS

//go:embed locales
var Messages embed.FS

//go:embed migrations
var migrationFiles embed.FS

// Migrations are the survey's tables (see db.Source).
var Migrations, _ = fs.Sub(migrationFiles, "migrations")

// DefaultNeed is the assurance the survey asks by default: a login that
// proved the fiscal code (a card, SPID or CIE), so that each person
// answers once, not each mail address.
const DefaultNeed = assurance.Substantial

// KeyPurpose derives the key that seals the drafts.
const KeyPurpose = "timeuse drafts"

// Module is the survey as civico wires it.
type Module struct {
	// Need is the assurance a resident logs in with to answer
	// (DefaultNeed when zero).
	Need assurance.Level
	// Offices are the offices whose reachability the results weigh (the
	// catalogue's, joined in cmd/civico); nil: no reachability.
	Offices Offices
	// Travel is the time to reach an office, one way, in minutes
	// (DefaultTravel when zero).
	Travel int
	// Margins are the town's population margins the results are
	// post-stratified to (nil: unweighted).
	Margins analysis.Margins
	// Store is set when the feature is wired.
	Store *Store
	// t translates the desk's item.
	t func(lang, id string, args ...any) string
}

// ResultsPeriod is how often the results job looks for new answers.
const ResultsPeriod = 10 * time.Minute

func (m *Module) travel() int {
	if m.Travel <= 0 {
		return DefaultTravel
	}
	return m.Travel
}

// Refresh is the results job's work: the engine on the mixed answers,
// weighed as the module is configured, when they or the offices changed.
func (m *Module) Refresh(ctx context.Context) (bool, error) {
	return m.Store.RefreshResults(ctx, m.Offices, Weighting{Travel: m.travel(), Margins: m.Margins})
}

func (m *Module) need() assurance.Level {
	if !m.Need.Valid() {
		return DefaultNeed
	}
	return m.Need
}

// Feature is the time-use survey's instrument.
func (m *Module) Feature() feature.Feature {
	return feature.Feature{
		Name: "timeuse", Messages: Messages, Portal: Templates, Migrations: Migrations,
		Wire: func(h *feature.Host) error {
			box, err := sealed.New(h.Key(KeyPurpose))
			if err != nil {
				return err
			}
			m.Store = &Store{DB: h.DB, Box: box, Acts: ACL(), Recheck: ResultsRecheck}
			w := &Web{App: h.Portal, Store: m.Store, Audit: h.Audit, Limiter: h.Limiter, BaseURL: h.BaseURL}
			m.t = h.Portal.I18n.T
			mux := h.Portal.For("timeuse")
			res := mux.Guarded(m.need())
			pages := func(prefix string, add func(pattern string, fn http.HandlerFunc)) {
				add("GET "+prefix, w.overview)
				add("POST "+prefix+"/invia", w.send)
				add("GET "+prefix+"/questionario", w.questionnaireForm)
				add("POST "+prefix+"/questionario", w.questionnaire)
				add("GET "+prefix+"/diario/{day}", w.diary)
				add("POST "+prefix+"/diario/{day}/episodio", w.episode)
				add("POST "+prefix+"/diario/{day}/elimina", w.remove)
				add("POST "+prefix+"/diario/{day}/copia-mattina", w.copyMorning)
				add("POST "+prefix+"/diario/{day}/giorno", w.dayType)
			}
			pages(AreaPath, res.HandleFunc)
			// The same pages for the holder of an invitation, without a
			// login (the invitation's cookie is the subject).
			mux.HandleFunc("GET "+InviteLink, w.inviteForm)
			mux.HandleFunc("POST "+InviteLink, w.invite)
			pages(InvitePath, mux.HandleFunc)
			office := mux.Guarded(assurance.Low, OfficeRoles...)
			office.HandleFunc("GET "+OfficePath, w.office)
			office.HandleFunc("POST "+OfficePath, w.makeInvitations)
			h.BackOffice(identity.Section{Label: "timeuse.office.title", Href: OfficePath, Roles: OfficeRoles})
			// The results: the office's latest, which it publishes; the
			// published ones for everyone. Both read what the results job
			// stored.
			office.HandleFunc("GET "+OfficeResultsPath, w.officeResults)
			office.HandleFunc("GET "+OfficeResultsPath+"/{file}", w.officeFile)
			office.HandleFunc("POST "+PublishPath, w.publish)
			mux.HandleFunc("GET "+ResultsPath, w.publicResults)
			mux.HandleFunc("GET "+ResultsPath+"/{file}", w.publicFile)
			h.Every("expired invitations", time.Hour, m.Store.PurgeInvitations)
			// The mix: submitted answers rewritten apart from their
			// participation marks (docs/TIMEUSE.md).
			h.Every("mix", time.Minute, func(ctx context.Context) error {
				_, err := m.Store.Mix(ctx)
				return err
			})
			// The results: the engine on the mixed answers, computed again
			// when they or the offices changed, and stored for the pages
			// (never computed by a request).
			h.Every("results", ResultsPeriod, func(ctx context.Context) error {
				did, err := m.Refresh(ctx)
				if did {
					h.Log.Info("timeuse: results computed")
					// The engine's sums of every group of the cube (a few
					// hundred MB, whatever the number of respondents) are
					// garbage now. At the server's GOGC=400 the collector
					// would wait for the heap to grow to five times what it
					// held during the computation, and the process would
					// keep it all until then: collect and give it back now
					// (a first start after the demo: idle RSS 531 -> 58 MiB).
					debug.FreeOSMemory()
				}
				return err
			})
			h.Panel(area.Of(area.Activities, m))
			// The data download holds whether the account took part and
			// its draft; the answers it sent are in the anonymous
			// dataset, which nothing ties to it.
			h.Export("timeuse", func(ctx context.Context, a *identity.Account) (any, error) {
				sub := AccountSubject(a)
				done, err := m.Store.Participated(ctx, sub)
				if err != nil {
					return nil, err
				}
				out := map[string]any{"participated": done}
				if !done {
					draft, err := m.Store.Draft(ctx, sub)
					if err != nil {
						return nil, err
					}
					out["draft"] = draft
				}
				return out, nil
			})
			// The draft is the account's until sent: erased with it. The
			// participation mark follows a linked account.
			h.ID.Svc.Mergers = append(h.ID.Svc.Mergers, m.Store.MergeAccounts)
			h.ID.Svc.Closers = append(h.ID.Svc.Closers, m.Store.Erase)
			return nil
		},
	}
}

// Panel is the survey on the resident's desk: waiting for them until they
// have taken part.
func (m *Module) Panel(ctx context.Context, r area.Resident) (area.Summary, error) {
	s := area.Summary{Title: "timeuse.title", Href: AreaPath, Needs: m.need(), Empty: "timeuse.panel.done"}
	if !r.Level.Satisfies(m.need()) {
		return s, nil
	}
	done, err := m.Store.Participated(ctx, Subject{Account: r.AccountID, Person: r.Subject})
	if err != nil || done {
		return s, err
	}
	s.Awaiting = 1
	s.Items = []area.Item{{Label: m.t(r.Lang, "timeuse.panel.item"), Href: AreaPath, Status: "timeuse.panel.todo", Awaiting: true}}
	return s, nil
}

// OfficeProposal is the extra weekly opening the published results
// propose for an office, its groups named in a language.
type OfficeProposal struct {
	Weekday  time.Weekday
	From, To int // minutes since midnight
	// LeastServed is the least-served group; the shares are 0-1.
	LeastServed                              string
	MinBefore, MinAfter, AllBefore, AllAfter float64
	// Gains are the groups of one key it reaches more of, most first.
	Gains []NamedGain
}

// NamedGain is a group a proposal reaches more of, named.
type NamedGain struct {
	Group         string
	Respondents   int
	Before, After float64
}

// Proposals are the published results' proposals by office id, their
// groups named in lang, and the version of the results they come from
// ("" and none when nothing is published). The coordination of opening
// hours shows them (cmd/civico joins it).
func (m *Module) Proposals(ctx context.Context, lang string) (string, map[string]OfficeProposal, error) {
	if m.Store == nil {
		return "", nil, nil
	}
	sum, err := m.Store.Results(ctx, PublishedResults)
	if errors.Is(err, ErrNoResults) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	t := func(id string, args ...any) string { return m.t(lang, id, args...) }
	out := map[string]OfficeProposal{}
	for _, o := range sum.Offices {
		p := o.Proposal
		if p == nil {
			continue
		}
		op := OfficeProposal{Weekday: p.Weekday, From: p.From, To: p.To, LeastServed: groupLabel(t, p.LeastServed),
			MinBefore: float64(p.MinBefore), MinAfter: float64(p.MinAfter), AllBefore: float64(p.AllBefore), AllAfter: float64(p.AllAfter)}
		for _, g := range p.Gains {
			op.Gains = append(op.Gains, NamedGain{Group: groupLabel(t, g.Group), Respondents: g.Respondents, Before: float64(g.Before), After: float64(g.After)})
		}
		out[o.ID] = op
	}
	return strconv.FormatInt(sum.Computed.UnixNano(), 10), out, nil
}
