package protocol

import (
	"database/sql"
	"embed"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/web"
)

// Templates and Messages are the protocol register's back-office pages
// and their translations.
//
//go:embed templates
var Templates embed.FS

//go:embed locales
var Messages embed.FS

// Roles are the operators who keep the protocol register.
var Roles = []string{"protocol"}

// Web serves the protocol register's back office: the exported daily
// registers, for download, and a look-up by number.
type Web struct {
	App      *web.App
	Registry *Registry
	Audit    audit.Writer
}

// Routes is the map of the protocol register's back office.
func (h *Web) Routes() {
	op := h.App.For("protocol").Guarded(assurance.Low, Roles...)
	op.HandleFunc("GET /backoffice/protocollo", h.index)
	op.HandleFunc("GET /backoffice/protocollo/{register}/{file}", h.download)
}

// pageSize is how many daily registers a page lists.
const pageSize = 50

// IndexData is the content of /backoffice/protocollo.
type IndexData struct {
	Register string
	Exports  []Export
	Total    int
	Page     int
	Pages    int
	Prev     string
	Next     string
	// Query is the number looked up; Found its entry; NotFound says none.
	Query    string
	Found    *Registered
	NotFound bool
	Bad      bool
}

func (h *Web) index(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := &IndexData{Register: General, Page: 1}
	if p, err := strconv.Atoi(q.Get("pagina")); err == nil && p > 1 && p < 100000 {
		d.Page = p
	}
	status := http.StatusOK
	if d.Query = strings.TrimSpace(q.Get("numero")); d.Query != "" {
		n, err := ParseNumber(General, d.Query)
		switch {
		case err != nil:
			d.Bad, status = true, http.StatusUnprocessableEntity
		default:
			x, err := h.Registry.Get(r.Context(), n)
			switch {
			case errors.Is(err, ErrNotFound):
				d.NotFound = true
			case err != nil:
				h.App.Fail(w, r, err)
				return
			default:
				d.Found = &x
			}
		}
	}
	var err error
	d.Exports, d.Total, err = h.Registry.Exports(r.Context(), General, pageSize, (d.Page-1)*pageSize)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d.Pages = max(1, (d.Total+pageSize-1)/pageSize)
	if d.Page > 1 {
		d.Prev = "/backoffice/protocollo?" + url.Values{"pagina": {strconv.Itoa(d.Page - 1)}}.Encode()
	}
	if d.Page < d.Pages {
		d.Next = "/backoffice/protocollo?" + url.Values{"pagina": {strconv.Itoa(d.Page + 1)}}.Encode()
	}
	page := h.App.NewPage(r, "protocol.backoffice.title")
	page.Breadcrumb = []web.Crumb{{Label: page.T("backoffice.title"), Href: "/backoffice"}, {Label: page.Title}}
	page.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, "protocol_index", page)
}

// download sends an exported daily register's file; every download is in
// the audit log (the register names the town's correspondents).
func (h *Web) download(w http.ResponseWriter, r *http.Request) {
	register, file := r.PathValue("register"), r.PathValue("file")
	name, ext, ok := strings.Cut(file, ".")
	day := strings.TrimPrefix(name, "registro-giornaliero-"+register+"-")
	if !ok || !registerRE.MatchString(register) || !isDate(day) || name != FileName(register, day) || (ext != "csv" && ext != "pdf") {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	x, found, err := h.Registry.exported(r.Context(), register, day)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	if !found {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	f, err := h.Registry.Open(register, day, ext)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	defer func() { _ = f.Close() }()
	a, _ := identity.Current(r.Context())
	err = h.Registry.DB.Tx(r.Context(), func(tx *sql.Tx) error {
		return h.Audit.Write(r.Context(), tx, audit.Entry{Actor: "account:" + a.ID, Action: "protocol.register_downloaded",
			Subject: register + "/" + day, Remote: web.RemoteAddr(r), Details: map[string]string{"file": file}})
	})
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	sum, media := x.PDFSHA256, "application/pdf"
	if ext == "csv" {
		sum, media = x.CSVSHA256, "text/csv; charset=utf-8"
	}
	hd := w.Header()
	hd.Set("Content-Type", media)
	hd.Set("Content-Disposition", `attachment; filename="`+file+`"`)
	hd.Set("Content-Security-Policy", "sandbox")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "private, no-store")
	hd.Set("ETag", `"`+sum+`"`)
	http.ServeContent(w, r, "", x.ExportedAt, f)
}
