// Package feature is where a capability plugs into civico. A feature
// describes itself once — its translations, its templates for each
// application, its tables, and a Wire function that registers its routes,
// back-office sections and background jobs on a Host — and cmd/civico holds
// the one explicit list of features that `serve`, `migrate`, the demo and
// the tests all build from. Adding a feature touches its own folder and
// that list.
package feature

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/area"
	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/attachments"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/jobs"
	"github.com/civico-pa/civico/internal/mail"
	"github.com/civico-pa/civico/internal/protocol"
	"github.com/civico-pa/civico/internal/throttle"
	"github.com/civico-pa/civico/internal/town"
	"github.com/civico-pa/civico/internal/web"
)

// Feature is one capability as civico plugs it in.
type Feature struct {
	// Name names the feature in the route map, the logs and the schema:
	// lower case, its package's name.
	Name string
	// Messages are its translations (a locales folder: it.json, en.json).
	Messages fs.FS
	// Portal and Partecipa are its templates for each application (a
	// templates folder: pages/*.html, partials/*.html).
	Portal, Partecipa fs.FS
	// Migrations are its tables: a migrations folder of NNNN_name.sql
	// files, one SQL text for both databases (see db.Source).
	Migrations fs.FS
	// Steps are migrations written in Go, in the same sequence of
	// versions: a schema another library builds (river's, package jobs).
	Steps []db.Step
	// Wire plugs the feature into the applications once they exist.
	Wire func(h *Host) error
}

// Host is what features are wired into: the platform every feature uses,
// and the places they register on.
type Host struct {
	DB        *db.DB
	Portal    *web.App
	Partecipa *web.App
	// ID is the portal's identity: who is logged in (identity.Current),
	// the card login's address, the back office's home.
	ID      *identity.Web
	Audit   audit.Writer
	Outbox  *mail.Outbox
	Limiter *throttle.Limiter
	Towns   *town.Store
	// Tokens checks the bearer tokens of the portal's OpenID Connect
	// provider, for a feature's API (nil until the provider is wired:
	// every token is then refused).
	Tokens Tokens
	// Messages is the residents' inbox in the personal area: a feature
	// posts a message to an account in its own transaction
	// (Messages.Post), and the resident is told by mail.
	Messages *area.Inbox
	// Attachments keeps the files residents and features upload: a
	// feature stages an upload (Attachments.Stage), then adds it in its own
	// transaction, owned by an account or a record of its own.
	Attachments *attachments.Store
	// Protocol is the protocol register: a feature registers what it
	// receives and sends (Protocol.Register) in its own transaction.
	Protocol *protocol.Registry
	// Jobs is the job queue: a feature's store keeps it as its
	// jobs.Enqueuer, to insert jobs in its own transactions.
	Jobs *jobs.Jobs
	Log  *slog.Logger
	// Key derives a 32-byte key for purpose from the installation secret
	// (CIVICO_SECRET_KEY): one key per use, none shared.
	Key func(purpose string) []byte
	// BaseURL and PartecipaBaseURL are the applications' public addresses;
	// DataDir is where files live beside the database.
	BaseURL, PartecipaBaseURL, DataDir string

	name   string
	tasks  []Task
	panels []Panel
}

// Panel is a feature's panel on the resident's personal area.
type Panel struct {
	Feature string
	area.Panel
}

// Panel adds the feature's panel to the resident's personal area, after
// those of the features before it in the list.
func (h *Host) Panel(p area.Panel) {
	h.panels = append(h.panels, Panel{Feature: h.name, Panel: p})
}

// Panels are the panels the features registered, in the list's order. The
// personal area reads them when it serves a page, once every feature is
// wired.
func (h *Host) Panels() []Panel { return slices.Clone(h.panels) }

// Task is a feature's periodic job: river runs Run every Every, once
// across the processes (Host.Every); a test may call Run itself.
type Task struct {
	Feature, Name string
	Every         time.Duration
	Run           func(ctx context.Context) error
}

// Job registers a kind of job the feature inserts (with h.Jobs, in its
// own transaction: jobs.Enqueuer) and its worker, as river's AddWorker
// does:
//
//	h.Job(jobs.Work(func(ctx context.Context, job *river.Job[ExportArgs]) error { ... }))
//
// The kind (the args' Kind method) starts with the feature's name and a
// dot ("applications.export"): kinds are one namespace across features.
func (h *Host) Job(k jobs.Kind) {
	if !strings.HasPrefix(k.Name(), h.name+".") {
		h.Jobs.Fail(fmt.Errorf("%s: job kind %q must start with %q", h.name, k.Name(), h.name+"."))
		return
	}
	h.Jobs.Add(k)
}

// Every runs fn every period, once across all the processes: the
// housekeeping of expired rows and files. Its kind is the feature's name
// and the task's ("forms.collect-unreferenced-files"); a failed run is
// retried a few times, logged, then left to the next period (jobs.Every).
func (h *Host) Every(name string, period time.Duration, fn func(context.Context) error) {
	h.Jobs.Every(jobs.KindOf(h.name, name), period, fn)
	h.tasks = append(h.tasks, Task{Feature: h.name, Name: name, Every: period, Run: fn})
}

// Daily runs fn once a day at hour:minute, Rome time, once across all the
// processes, told which day it is for; a day whose time passed while no
// process was up runs when one starts (jobs.Daily).
func (h *Host) Daily(name string, hour, minute int, fn func(ctx context.Context, day time.Time) error) {
	h.Jobs.Daily(jobs.KindOf(h.name, name), hour, minute, fn)
}

// BackOffice lists a part of the back office on its home page.
func (h *Host) BackOffice(s identity.Section) { h.ID.AddSection(s) }

// Export puts what the feature holds about a person under name in the
// download of their data (/profilo/dati.json).
func (h *Host) Export(name string, fn identity.Exporter) { h.ID.AddExport(name, fn) }

// Tasks are the periodic jobs the features registered.
func (h *Host) Tasks() []Task { return slices.Clone(h.tasks) }

// Wire runs every feature's Wire in order, each told its own name.
func (h *Host) Wire(features []Feature) error {
	for _, f := range features {
		if f.Wire == nil {
			continue
		}
		h.name = f.Name
		if err := f.Wire(h); err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	h.name = ""
	return nil
}

// Messages are the translations of every feature, in order.
func Messages(features []Feature) []fs.FS {
	return collect(features, func(f Feature) fs.FS { return f.Messages })
}

// PortalTemplates are the portal's templates of every feature.
func PortalTemplates(features []Feature) []fs.FS {
	return collect(features, func(f Feature) fs.FS { return f.Portal })
}

// PartecipaTemplates are Partecipa's templates of every feature.
func PartecipaTemplates(features []Feature) []fs.FS {
	return collect(features, func(f Feature) fs.FS { return f.Partecipa })
}

// Migrations are the tables of every feature, named by it.
func Migrations(features []Feature) db.Schema {
	var out db.Schema
	for _, f := range features {
		if f.Migrations != nil || f.Steps != nil {
			out = append(out, db.Source{Owner: f.Name, FS: f.Migrations, Steps: f.Steps})
		}
	}
	return out
}

func collect(features []Feature, pick func(Feature) fs.FS) []fs.FS {
	var out []fs.FS
	for _, f := range features {
		if x := pick(f); x != nil {
			out = append(out, x)
		}
	}
	return out
}

// Grant is what a bearer token of the portal's provider allows: whose it
// is, for which scopes, after a login of which level.
type Grant struct {
	AccountID string
	Scopes    []string
	Level     assurance.Level
}

// Has says whether the grant includes scope.
func (g Grant) Has(scope string) bool { return slices.Contains(g.Scopes, scope) }

// Tokens checks a bearer token; an unknown, expired or revoked token is a
// problem.NotFound.
type Tokens func(ctx context.Context, token string) (Grant, error)

// AllPages reads every page of a paged list (fetch answers page n, from 1,
// with the total count), pageSize rows a page: what a feature's export
// (Host.Export) gives of a person's things.
func AllPages[T any](pageSize int, fetch func(page int) ([]T, int, error)) ([]T, error) {
	var out []T
	for page := 1; ; page++ {
		list, total, err := fetch(page)
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
		if page*pageSize >= total || len(list) == 0 {
			return out, nil
		}
	}
}
