package spid

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/civico-pa/civico/internal/spid/spidtest"
	"github.com/civico-pa/civico/internal/web"
)

// testIdP serves the demo's TEST identity provider on the portal: it reads
// civico's signed request, lets the visitor choose a demo person and a
// level, and posts a signed SPID-shaped answer to the assertion consumer.
type testIdP struct {
	idp    *spidtest.IdP
	web    *Web
	module *Module
}

// TestIdPData is the test provider's page.
type TestIdPData struct {
	SAMLRequest, RelayState, SigAlg, Signature string
	People                                     []spidtest.Person
	Levels                                     []string
	Asked                                      string
	// ACS and SAMLResponse: the answer to post.
	ACS, SAMLResponse string
	Alert             string
}

func (t *testIdP) page(w http.ResponseWriter, r *http.Request, status int, d *TestIdPData) {
	page := t.web.App.NewPage(r, "spid.testidp.title")
	page.Breadcrumb = []web.Crumb{{Label: page.Title}}
	page.Data = d
	w.Header().Set("Cache-Control", "no-store")
	t.web.App.HTML(w, r, status, "spid_test_idp", page)
}

// read checks the signed request the browser carries, against the SP
// certificate that signs.
func (t *testIdP) read(r *http.Request, q url.Values) (*spidtest.Request, error) {
	key, err := t.web.SP.Keys.Signer(r.Context())
	if err != nil {
		return nil, err
	}
	u := &url.URL{RawQuery: url.Values{"SAMLRequest": {q.Get("SAMLRequest")}, "RelayState": {q.Get("RelayState")}, "SigAlg": {q.Get("SigAlg")},
		"Signature": {q.Get("Signature")}}.Encode()}
	// The signature covers the parameters as encoded by civico; url.Values
	// encodes them the same way (QueryEscape), in name order, which is the
	// binding's order for these three.
	return spidtest.ReadRedirect(u, "SAMLRequest", key.Cert)
}

func (t *testIdP) sso(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req, err := t.read(r, q)
	if err != nil {
		t.page(w, r, http.StatusBadRequest, &TestIdPData{Alert: "spid.testidp.bad_request"})
		return
	}
	t.page(w, r, http.StatusOK, &TestIdPData{SAMLRequest: q.Get("SAMLRequest"), RelayState: q.Get("RelayState"), SigAlg: q.Get("SigAlg"),
		Signature: q.Get("Signature"), People: t.module.TestPeople, Levels: []string{SpidL1, SpidL2, SpidL3}, Asked: req.ClassRef})
}

func (t *testIdP) answer(w http.ResponseWriter, r *http.Request) {
	if !t.web.App.ParseForm(w, r, 64<<10) {
		return
	}
	f := r.PostForm
	req, err := t.read(r, f)
	if err != nil {
		t.page(w, r, http.StatusBadRequest, &TestIdPData{Alert: "spid.testidp.bad_request"})
		return
	}
	level := f.Get("level")
	if !slices.Contains([]string{SpidL1, SpidL2, SpidL3}, level) {
		level = req.ClassRef
	}
	var person *spidtest.Person
	for i, p := range t.module.TestPeople {
		if p.FiscalNumber == f.Get("person") {
			person = &t.module.TestPeople[i]
		}
	}
	a := spidtest.Answer{Request: req, ACS: t.web.SP.ACS(), Audience: t.web.SP.EntityID(), ClassRef: level, Now: t.web.now()}
	if f.Get("cancel") != "" || person == nil {
		a.Status, a.Message = "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed", "ErrorCode nr25"
	} else {
		a.Person = *person
	}
	xml, err := t.idp.Sign(t.idp.Response(a), true, true)
	if err != nil {
		t.web.App.Fail(w, r, err)
		return
	}
	t.page(w, r, http.StatusOK, &TestIdPData{ACS: t.web.SP.ACS(), SAMLResponse: spidtest.Encode(xml), RelayState: req.RelayState})
}

// slo answers a LogoutRequest with a signed LogoutResponse (Redirect).
func (t *testIdP) slo(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	key, err := t.web.SP.Keys.Signer(r.Context())
	if err != nil {
		t.web.App.Fail(w, r, err)
		return
	}
	req, err := spidtest.ReadRedirect(r.URL, "SAMLRequest", key.Cert)
	if err != nil {
		t.page(w, r, http.StatusBadRequest, &TestIdPData{Alert: "spid.testidp.bad_request"})
		return
	}
	dest, err := t.idp.LogoutResponse(req, t.web.SP.SLO(), q.Get("RelayState"), t.web.now())
	if err != nil {
		t.web.App.Fail(w, r, err)
		return
	}
	http.Redirect(w, r, dest, http.StatusSeeOther) // #nosec G710 -- the SP's own logout address
}
