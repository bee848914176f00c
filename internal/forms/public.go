package forms

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/civico-pa/civico/internal/web"
)

// PublicPerPage is how many forms a page of the public index shows.
const PublicPerPage = 20

// maxQuery bounds a search's query, in characters.
const maxQuery = 100

// PublicData is the content of /moduli: the forms residents can download,
// found by a search or all of them.
type PublicData struct {
	Query string
	// QueryError says why the query was refused (a message id).
	QueryError string
	Forms      []PublicForm
	Total      int
	Page       int
	Pages      int
	Prev, Next string
}

// PublicForm is a form as the public index shows it.
type PublicForm struct {
	*Form
	Service Service
}

func (h *Web) publicIndex(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	n, err := strconv.Atoi(r.URL.Query().Get("pagina"))
	if r.URL.Query().Get("pagina") == "" {
		n, err = 1, nil
	}
	if err != nil || n < 1 || n > 10000 {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	d := &PublicData{Query: q, Page: n}
	status := http.StatusOK
	services, err := h.services(r)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	byID := map[string]Service{}
	for _, s := range services {
		byID[s.ID] = s
	}
	var words []string
	switch {
	case utf8.RuneCountInString(q) > maxQuery || !utf8.ValidString(q):
		d.QueryError, status = "forms.public.error.long", http.StatusBadRequest
	case q != "":
		if words = Words(q); len(words) == 0 {
			d.QueryError, status = "forms.public.error.short", http.StatusBadRequest
		}
	}
	if d.QueryError == "" {
		serviceOf := func(word string) []string {
			var ids []string
			for _, s := range services {
				if strings.Contains(strings.ToLower(s.Title), word) {
					ids = append(ids, s.ID)
				}
			}
			return ids
		}
		forms, total, err := h.Store.Published(r.Context(), words, serviceOf, n, PublicPerPage)
		if err != nil {
			h.App.Fail(w, r, err)
			return
		}
		d.Total, d.Pages = total, max(1, (total+PublicPerPage-1)/PublicPerPage)
		if n > d.Pages {
			h.App.Error(w, r, http.StatusNotFound)
			return
		}
		for _, f := range forms {
			s, ok := byID[f.ServiceID]
			if !ok {
				s = Service{ID: f.ServiceID}
			}
			d.Forms = append(d.Forms, PublicForm{Form: f, Service: s})
		}
		link := func(k int) string {
			v := url.Values{}
			if q != "" {
				v.Set("q", q)
			}
			if k > 1 {
				v.Set("pagina", strconv.Itoa(k))
			}
			if len(v) == 0 {
				return "/moduli"
			}
			return "/moduli?" + v.Encode()
		}
		if n > 1 {
			d.Prev = link(n - 1)
		}
		if n < d.Pages {
			d.Next = link(n + 1)
		}
	}
	page := h.App.NewPage(r, "forms.public.title")
	page.Description = page.T("forms.public.lead")
	page.Breadcrumb = []web.Crumb{{Label: page.T("menu.services"), Href: "/servizi"}, {Label: page.Title}}
	page.Data = d
	h.App.HTML(w, r, status, "forms_public", page)
}
