package spid

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/sealed"
	"github.com/civico-pa/civico/internal/spid/spidtest"
	"github.com/civico-pa/civico/internal/town"
)

// Module is the SPID Service Provider as civico plugs it in.
type Module struct {
	// TestIdP, set only by `civico demo`, is a TEST identity provider
	// served at TestIdPPath and put on the registry at start, so that the
	// demo's "Entra con SPID" works offline. Never set by `civico serve`.
	TestIdP *spidtest.IdP
	// TestPeople are the identities the test provider vouches for: the
	// demo town's people (valid fiscal codes, not real persons).
	TestPeople []spidtest.Person

	// Web is the feature's handlers, once wired.
	Web *Web
}

// TestIdPPath is where the demo serves its test identity provider.
const TestIdPPath = "/spid-test-idp"

// Feature describes the feature.
func (m *Module) Feature() feature.Feature {
	return feature.Feature{
		Name: "spid", Messages: Messages, Portal: Templates, Migrations: Migrations,
		Wire: m.wire,
	}
}

func (m *Module) wire(h *feature.Host) error {
	box, err := sealed.New(h.Key(KeyPurpose))
	if err != nil {
		return err
	}
	sp := &SP{BaseURL: h.BaseURL, Keys: &Keys{DB: h.DB, Box: box}}
	w := &Web{App: h.Portal, ID: h.ID, SP: sp, Registry: &Registry{DB: h.DB}, Requests: &Requests{DB: h.DB},
		Audit: h.Audit, Limiter: h.Limiter, Towns: h.Towns, DB: h.DB}
	w.allowTest = m.TestIdP != nil
	m.Web = w
	r := h.Portal.For("spid")
	r.HandleFunc("GET "+PathMetadata, w.metadata)
	r.HandleFunc("GET "+PathLogin, w.start)
	r.HandleFunc("POST "+PathACS, w.acs)
	r.HandleFunc("GET "+PathDone, w.complete)
	r.HandleFunc("GET "+PathSLO, w.slo)
	r.HandleFunc("POST "+PathSLO, w.slo)
	// The providers post their answers from their own origin.
	h.Portal.CrossOriginAllowed = append(h.Portal.CrossOriginAllowed, PathACS, PathSLO)
	h.ID.AddLoginMethod(w.loginMethod)
	h.ID.AddLoginMethod(w.cieLoginMethod)
	h.ID.AddLoginMethod(w.eidasLoginMethod)
	h.ID.AddLogoutStep(w.logoutStep)
	h.Every("expired requests", 10*time.Minute, func(ctx context.Context) error {
		if err := w.Requests.Sweep(ctx); err != nil {
			return err
		}
		return w.sweepSessions(ctx, h.ID.Svc.Sessions.Absolute)
	})
	if m.TestIdP != nil {
		t := &testIdP{idp: m.TestIdP, web: w, module: m}
		r.HandleFunc("GET "+TestIdPPath+"/sso", t.sso)
		r.HandleFunc("POST "+TestIdPPath+"/sso", t.answer)
		r.HandleFunc("GET "+TestIdPPath+"/slo", t.slo)
	}
	return nil
}

// Ensure makes the SP's first key when the town has an IPA code and there
// is none, and checks that the key in force opens with the secret: at
// start, so that no anonymous request pays for making it, and a wrong
// secret stops civico there.
func (m *Module) Ensure(ctx context.Context, p town.Profile) error {
	if m.Web == nil || p.IPACode == "" {
		return nil
	}
	if err := m.Web.SP.Keys.Ensure(ctx, m.Web.SP.Subject(p)); err != nil {
		return err
	}
	_, err := m.Web.SP.Keys.Signer(ctx)
	return err
}

// RegisterTestIdP puts the demo's test provider on the registry (at each
// demo start: its key is new every time).
func (m *Module) RegisterTestIdP(ctx context.Context) error {
	if m.TestIdP == nil || m.Web == nil {
		return errors.New("spid: no test identity provider to register")
	}
	idps, err := ParseMetadata(m.TestIdP.Metadata(TestIdPName), SPID.Name)
	if err != nil {
		return err
	}
	idps[0].Test = true
	return m.Web.DB.Tx(ctx, func(tx *sql.Tx) error { return m.Web.Registry.Put(ctx, tx, idps) })
}

// TestIdPName is how the demo's test provider is listed.
const TestIdPName = "SPID di prova (solo demo)"
