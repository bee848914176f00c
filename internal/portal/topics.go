package portal

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/civico-pa/civico/internal/taxonomy"
	"github.com/civico-pa/civico/internal/web"
)

// Topics are what the topic pages list, asked of the features that
// publish it (cmd/civico joins them): the portal imports none of them.
// A nil field lists nothing of its kind.
type Topics struct {
	// Services lists the services that carry a topic.
	Services func(ctx context.Context, topic string) ([]TopicItem, error)
	// News lists page (from 1) of the published news that carry a topic,
	// newest first, and how many there are in all.
	News func(ctx context.Context, topic string, page, perPage int) ([]TopicItem, int, error)
}

// TopicItem is a content listed on a topic's page. Its texts are the
// town's, in Italian.
type TopicItem struct {
	Href, Title, Summary string
	// Kind is the national category it is published under.
	Kind string
	// Date (02/01/2006) and DateTime (RFC 3339) are a news item's
	// publication; empty for a service.
	Date, DateTime string
}

// TopicNewsPerPage is how many news a topic's page shows at once.
const TopicNewsPerPage = 10

// TopicData is the content of a topic's page.
type TopicData struct {
	Term     taxonomy.Term
	Services []TopicItem
	News     []TopicItem
	// NewsTotal is how many news carry the topic; Page and Pages number
	// the pages of news, Prev and Next lead to their neighbours.
	NewsTotal   int
	Page, Pages int
	Prev, Next  string
}

// Empty reports whether nothing is published under the topic.
func (d *TopicData) Empty() bool { return len(d.Services) == 0 && d.NewsTotal == 0 }

// topic serves a topic's page: its services, then its news, a page at a
// time (?pagina=N).
func (p *Portal) topic(w http.ResponseWriter, r *http.Request) {
	term, ok := taxonomy.Find(taxonomy.Topics, r.PathValue("slug"))
	n, valid := pageNumber(r)
	if !ok || !valid {
		p.App.Error(w, r, http.StatusNotFound)
		return
	}
	d := &TopicData{Term: term, Page: n, Pages: 1}
	if p.Topics.Services != nil {
		list, err := p.Topics.Services(r.Context(), term.Slug)
		if err != nil {
			p.App.Fail(w, r, err)
			return
		}
		d.Services = list
	}
	if p.Topics.News != nil {
		list, total, err := p.Topics.News(r.Context(), term.Slug, n, TopicNewsPerPage)
		if err != nil {
			p.App.Fail(w, r, err)
			return
		}
		d.News, d.NewsTotal = list, total
		d.Pages = max(1, (total+TopicNewsPerPage-1)/TopicNewsPerPage)
	}
	if n > d.Pages {
		p.App.Error(w, r, http.StatusNotFound)
		return
	}
	path := topics.Path + "/" + term.Slug
	if n > 1 {
		d.Prev = pageHref(path, n-1)
	}
	if n < d.Pages {
		d.Next = pageHref(path, n+1)
	}
	page := p.App.NewPage(r, "")
	page.Title = term.Title
	page.Description = page.T("topics.page.description", "Topic", term.Title)
	page.Breadcrumb = []web.Crumb{{Label: page.T(topics.Title), Href: topics.Path}, {Label: term.Title}}
	page.Data = d
	p.App.HTML(w, r, http.StatusOK, "topic", page)
}

// pageNumber reads ?pagina=N; ok is false for anything but a positive
// number.
func pageNumber(r *http.Request) (int, bool) {
	v := r.URL.Query().Get("pagina")
	if v == "" {
		return 1, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 1 && n <= 100000
}

// pageHref is a list page's address with its page number.
func pageHref(path string, n int) string {
	if n <= 1 {
		return path
	}
	return path + "?" + url.Values{"pagina": {strconv.Itoa(n)}}.Encode()
}
