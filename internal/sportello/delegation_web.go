package sportello

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/web"
)

// The desk's delegations: the list, the form that records one with its
// two files, the revocation, and the files (each reading audited).

const dgPath = "/backoffice/deleghe"

// delegationFiles are the two files of the desk's form.
var delegationFiles = &Definition{Fields: []Field{{Name: "form", Type: TypeFile}, {Name: "document", Type: TypeFile}}}

func (h *Web) delegationRoutes(desk web.Registrar) {
	desk.HandleFunc("GET "+dgPath, h.delegations)
	desk.HandleFunc("POST "+dgPath, h.recordDelegation)
	desk.HandleFunc("POST "+dgPath+"/{id}/revoca", h.revokeDelegation)
	desk.HandleFunc("GET "+dgPath+"/{id}/documenti/{doc}", h.delegationDocument)
}

// DelegationsData is the content of the desk's delegations page.
type DelegationsData struct {
	List     []Delegation
	Pager    web.Pager
	Services []Service
	Bases    []Basis
	Today    string
	Values   map[string]string
	Chosen   map[string]bool
	Errors   problem.Fields
	Index    []ErrorLink
	Message  string
	Alert    string
	// Revoking is the delegation whose revocation was refused, with its
	// error (Errors["reason"]).
	Revoking string
}

func (h *Web) delegations(w http.ResponseWriter, r *http.Request) {
	d := &DelegationsData{Values: map[string]string{}, Chosen: map[string]bool{}}
	switch r.URL.Query().Get("fatto") {
	case "registrata":
		d.Message = "sportello.delegations.recorded"
	case "revocata":
		d.Message = "sportello.delegations.revoked"
	}
	h.renderDelegations(w, r, http.StatusOK, d)
}

func (h *Web) renderDelegations(w http.ResponseWriter, r *http.Request, status int, d *DelegationsData) {
	n := page(r)
	list, total, err := h.Store.Delegations(r.Context(), n)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	if d.Services, err = h.onlineServices(r); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d.List, d.Pager, d.Bases, d.Today = list, newPager(n, total, nil, dgPath), Bases, Day(time.Now())
	lang := h.App.I18n.Lang(r)
	for _, name := range []string{"holder_fiscal_code", "holder_given_name", "holder_family_name", "delegate_fiscal_code", "basis", "services", "valid_until", "form", "document"} {
		if msg, bad := d.Errors[name]; bad && d.Revoking == "" {
			d.Index = append(d.Index, ErrorLink{ID: "f-dg-" + name, Label: h.App.I18n.T(lang, "sportello.delegations."+name), Message: h.App.I18n.T(lang, msg)})
		}
	}
	p := h.App.NewPage(r, "sportello.delegations.title")
	p.Breadcrumb = []web.Crumb{{Label: p.T("backoffice.title"), Href: "/backoffice"}, {Label: p.Title}}
	p.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, "sportello_bo_delegations", p)
}

func (h *Web) recordDelegation(w http.ResponseWriter, r *http.Request) {
	op, _ := identity.Current(r.Context())
	post := h.receive(w, r, op.ID, delegationFiles)
	if post == nil {
		return
	}
	v := post.values
	n := NewDelegation{HolderFiscalCode: v.Get("holder_fiscal_code"), HolderGivenName: v.Get("holder_given_name"), HolderFamilyName: v.Get("holder_family_name"),
		DelegateFiscalCode: v.Get("delegate_fiscal_code"), Basis: Basis(v.Get("basis")), Services: v["services"], ValidUntil: v.Get("valid_until"),
		Operator: op.ID, Remote: web.RemoteAddr(r)}
	if f := post.files["form"]; f != nil {
		n.Form = f.ID
	}
	if f := post.files["document"]; f != nil {
		n.Document = f.ID
	}
	_, err := h.Store.RecordDelegation(r.Context(), n)
	var fe problem.Fields
	if errors.As(err, &fe) || len(post.fileErrs) > 0 {
		if fe == nil {
			fe = problem.Fields{}
		}
		for name, msg := range post.fileErrs {
			fe[name] = "sportello.error." + msg
		}
		d := &DelegationsData{Errors: fe, Alert: "sportello.error.form", Values: map[string]string{}, Chosen: map[string]bool{}}
		for _, k := range []string{"holder_fiscal_code", "holder_given_name", "holder_family_name", "delegate_fiscal_code", "basis", "valid_until"} {
			d.Values[k] = v.Get(k)
		}
		for _, s := range v["services"] {
			d.Chosen[s] = true
		}
		// The files stay the operator's uploads, to be sent again: the
		// form cannot keep them.
		h.renderDelegations(w, r, http.StatusUnprocessableEntity, d)
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	web.Redirect(w, r, dgPath, url.Values{"fatto": {"registrata"}})
}

func (h *Web) revokeDelegation(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 16<<10) {
		return
	}
	op, _ := identity.Current(r.Context())
	id := r.PathValue("id")
	err := h.Store.RevokeDelegation(r.Context(), id, op.ID, r.PostForm.Get("reason"), web.RemoteAddr(r))
	var fe problem.Fields
	switch {
	case errors.As(err, &fe):
		h.renderDelegations(w, r, http.StatusUnprocessableEntity, &DelegationsData{Errors: fe, Alert: "sportello.error.form", Revoking: id,
			Values: map[string]string{"reason": r.PostForm.Get("reason")}, Chosen: map[string]bool{}})
	case err != nil:
		h.App.Fail(w, r, err)
	default:
		web.Redirect(w, r, dgPath, url.Values{"fatto": {"revocata"}})
	}
}

// delegationDocument sends one of a delegation's two files ("delega" or
// "documento"): reading it is audited.
func (h *Web) delegationDocument(w http.ResponseWriter, r *http.Request) {
	g, err := h.Store.Delegation(r.Context(), r.PathValue("id"))
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	which := r.PathValue("doc")
	file := map[string]string{"delega": g.FormAttachment, "documento": g.DocumentAttachment}[which]
	if file == "" || h.Store.Files == nil {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	op, _ := identity.Current(r.Context())
	if err := h.Store.Audit.Write(r.Context(), nil, audit.Entry{Actor: "account:" + op.ID, Action: "sportello.delegation.document.read",
		Subject: "delegation:" + g.ID, Remote: web.RemoteAddr(r), Details: map[string]string{"document": which}}); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	f, info, err := h.Store.Files.OpenDelegation(r.Context(), g.ID, file)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	defer f.Close()
	hd := w.Header()
	hd.Set("Content-Type", info.MediaType)
	hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": info.Filename}))
	hd.Set("Content-Security-Policy", "sandbox")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "private, no-store")
	http.ServeContent(w, r, "", g.RecordedAt, f)
}

// state is a delegation's state today, for the desk's list.
func (d Delegation) State(today string) string {
	switch {
	case d.RevokedAt != nil:
		return "revoked"
	case d.ValidUntil < today:
		return "expired"
	}
	return "in_force"
}

// ServiceTitles are the titles of the services a delegation covers.
func (d *DelegationsData) ServiceTitles(g Delegation) []string {
	var out []string
	for _, id := range g.Services {
		i := slices.IndexFunc(d.Services, func(s Service) bool { return s.ID == id })
		if i < 0 {
			out = append(out, id) // no longer online: its identifier
			continue
		}
		out = append(out, d.Services[i].Title)
	}
	return out
}
