package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/civico-pa/civico/internal/cache"
	"github.com/civico-pa/civico/internal/town"
)

// The layout (header, footer, clarity rating, error pages) shared by every
// application.
//
//go:embed templates
var layoutFS embed.FS

// Crumb is one step of a breadcrumb; the last one has no Href.
type Crumb struct {
	Label string
	Href  string
}

// MenuItem is an entry of an application's main menu. Element is the
// data-element attribute the national conformance check reads.
type MenuItem struct {
	Label   string // message id
	Href    string
	Element string
}

// Chrome is what differs between the applications' shells.
type Chrome struct {
	// App names the application in metrics and logs: "portal", "partecipa".
	App string
	// SiteTitle is a message id; empty shows the town's official name.
	SiteTitle string
	Menu      []MenuItem
	// Feedback shows the clarity rating above the footer.
	Feedback bool
	// PortalURL prefixes the links to the portal's own pages (legal notes,
	// privacy...); empty on the portal itself.
	PortalURL string
	// Login is the path of the login page; empty hides the personal-area link.
	Login string
	// Profile is the logged-in person's page; empty means the portal's
	// /profilo.
	Profile string
}

// Viewer is what the shell shows of the logged-in person.
type Viewer struct {
	Name      string
	Assurance string // "low" or "high"
	Operator  bool
}

// Page is what every template receives: the shell's data and, in Data, the
// page's own typed content.
type Page struct {
	Title       string
	Description string
	Lang        string
	Path        string
	Town        town.Profile
	Chrome      *Chrome
	Static      string
	Breadcrumb  []Crumb
	// Viewer is who is logged in, nil for an anonymous visitor.
	Viewer *Viewer
	// Staff is a page only operators of some role may open (IsStaff): a
	// tool, without the clarity rating and the contacts box meant for
	// residents.
	Staff bool
	// Feedback is the state of the clarity rating after a submission:
	// "", "thanks", "invalid", "again" (this page was rated from this
	// connection today) or "busy" (too many ratings from it this hour).
	Feedback string
	Data     any
	// Maps is the application's tile server (App.Maps), nil for none.
	Maps *MapTiles

	i18n *I18n
	tmpl *template.Template
	// status is the page's HTTP status, known once it is rendered.
	status      int
	ratingToken func(path string) string

	// A content shared by every visitor (App.SharedContent).
	content      template.HTML
	hasContent   bool
	contentKey   string
	contentCache *ContentCache
	contentStamp cache.Stamp
	// fragments is the application's (App.Fragments).
	fragments *FragmentCache

	// Shell is the layout's parts, made by Render before the layout runs.
	Shell Shell
}

// Shell is what the layout (templates/shell/page.html) inserts around a
// page's own templates, made by Go code before it runs: the parts that
// depend only on language, town, application and path come from the
// fragment cache, the logged-in person's links are Page.ViewerLinks. The
// layout reads them as fields: text/template reaches a method of the
// page through a reflective lookup and call at each use, which was most
// of the layout's cost on a page whose content is shared.
type Shell struct {
	SiteTitle, HeadLinks                template.HTML
	HeaderTop, HeaderUser, HeaderBottom template.HTML
	// Content is the page's content shared by every visitor
	// (App.SharedContent), when HasContent.
	Content    template.HTML
	HasContent bool
	// Contacts (not on a staff page), Rating (Page.ShowsRating) and
	// Footer end the page.
	Contacts, Rating, Footer template.HTML
}

// shell makes p.Shell (Render, once p's templates and status are known).
func (p *Page) shell() error {
	s := &p.Shell
	var err error
	part := func(name string, path bool) template.HTML {
		if err != nil {
			return ""
		}
		var h template.HTML
		if path {
			h, err = p.PathFragment(name)
		} else {
			h, err = p.Fragment(name)
		}
		return h
	}
	s.SiteTitle = part("site-title", false)
	s.HeadLinks = part("head-links", false)
	s.HeaderTop = part("header-top", true)
	if p.Chrome != nil && p.Chrome.Login != "" {
		if p.Viewer != nil {
			s.HeaderUser = p.ViewerLinks()
		} else {
			s.HeaderUser = part("header-login", true)
		}
	}
	s.HeaderBottom = part("header-bottom", true)
	s.Content, s.HasContent = p.content, p.hasContent
	if !p.Staff {
		s.Contacts = part("contacts", false)
	}
	if p.ShowsRating() && err == nil {
		s.Rating, err = p.RatingForm()
	}
	s.Footer = part("footer", false)
	return err
}

// T translates a message id into the page's language.
func (p *Page) T(id string, args ...any) string { return p.i18n.T(p.Lang, id, args...) }

// Icon draws a Bootstrap Italia icon from the sprite; it is decorative, the
// text beside it says what it means.
func (p *Page) Icon(name, class string) template.HTML {
	// #nosec G203 -- name and class are escaped, p.Static is the server's own path prefix
	return template.HTML(`<svg class="icon ` + template.HTMLEscapeString(class) + `" aria-hidden="true" focusable="false"><use href="` +
		p.Static + `/vendor/bootstrap-italia/svg/sprites.svg#` + template.HTMLEscapeString(name) + `"></use></svg>`)
}

// ShowsRating reports whether the page carries the clarity rating: on an
// application that shows it, and only on a page for residents (not Staff)
// that answers with success.
// An error page's path may be anything a visitor typed, and the form it
// showed would be a token for rating that path.
func (p *Page) ShowsRating() bool {
	return p.Chrome != nil && p.Chrome.Feedback && !p.Staff && p.status >= 200 && p.status < 400
}

// RatingToken is the token of the rating form, bound to the page's path
// (App.RatingToken).
func (p *Page) RatingToken() string {
	if p.ratingToken == nil {
		return ""
	}
	return p.ratingToken(p.Path)
}

// executeHTML runs a named template into HTML.
func executeHTML(t *template.Template, name string, data any) (template.HTML, error) {
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, data); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil // #nosec G203 -- the output of an html/template, escaped as it was executed
}

// Fragment renders a part of the layout that depends only on the language,
// the town and the application (the footer, the contacts block), once per
// combination: the templates it names must not read anything else of the page.
func (p *Page) Fragment(name string) (template.HTML, error) {
	return p.fragment(fragmentKey{name: name, lang: p.Lang, town: p.Town, chrome: p.Chrome})
}

// PathFragment is Fragment for a part that also depends on the page's path
// and its Data, which must be the same for every request of that path (the
// list of a section's categories).
func (p *Page) PathFragment(name string) (template.HTML, error) {
	return p.fragment(fragmentKey{name: name, lang: p.Lang, town: p.Town, chrome: p.Chrome, path: p.Path})
}

// RatingForm is the clarity rating (template "feedback"), which depends
// only on the language, town, application, path (its token is bound to
// the path) and the state of a rating just sent (Page.Feedback): rendered
// once for each.
func (p *Page) RatingForm() (template.HTML, error) {
	return p.fragment(fragmentKey{name: "feedback", lang: p.Lang, town: p.Town, chrome: p.Chrome, path: p.Path, variant: p.Feedback})
}

// ViewerLinks are the links of the header that show the logged-in person
// (Back office for an operator, the personal area with their name): the
// only part of the layout that differs between residents on the same
// page, so it is written here, at every request, and the rest of the
// header is rendered once per path (templates/header.html). Its texts
// and attributes are escaped as html/template escapes them.
func (p *Page) ViewerLinks() template.HTML {
	v := p.Viewer
	if v == nil || p.Chrome == nil {
		return ""
	}
	var m Markup
	m.Grow(1024)
	if v.Operator {
		label := p.T("layout.backoffice")
		m.Raw("\n              <a class=\"btn btn-outline-light btn-icon me-2\" href=\"")
		m.Href(p.Chrome.PortalURL + "/backoffice")
		m.Raw(`" data-element="backoffice-link">`)
		m.Raw(string(p.Icon("it-settings", "icon-white")))
		m.Raw(`<span class="d-none d-lg-block">`)
		m.Text(label)
		m.Raw(`</span><span class="visually-hidden d-lg-none">`)
		m.Text(label)
		m.Raw(`</span></a>`)
	}
	profile := p.Chrome.Profile
	if profile == "" {
		profile = p.Chrome.PortalURL + "/profilo"
	}
	label := p.T("layout.personal_area")
	m.Raw("\n              <a class=\"btn btn-primary btn-icon btn-full\" href=\"")
	m.Href(profile)
	m.Raw(`" data-element="personal-area-login">`)
	m.Raw(string(p.Icon("it-user", "icon-white")))
	m.Raw(`<span class="d-none d-lg-block">`)
	m.Text(label)
	m.Raw(` · `)
	m.Text(v.Name)
	m.Raw(`</span><span class="visually-hidden d-lg-none">`)
	m.Text(label)
	m.Raw(` · `)
	m.Text(v.Name)
	m.Raw(`</span></a>`)
	return m.HTML()
}

func (p *Page) fragment(key fragmentKey) (template.HTML, error) {
	return p.fragments.Load(key, func() (template.HTML, error) { return executeHTML(p.tmpl, key.name, p) })
}

type fragmentKey struct {
	// variant tells apart the renderings of one fragment that depend on
	// one more value of the page (RatingForm: the rating's state).
	name, lang, path, variant string
	town                      town.Profile
	chrome                    *Chrome
}

// FragmentCache keeps the fragments of the layout (Page.Fragment,
// Page.PathFragment). Key: the fragment's name, language, town profile,
// application and, for a PathFragment, path: all a fragment reads, so an
// entry is never stale (a new town profile is a new key). Purge rule:
// none needed; the TTL only lets the fragments of a former town profile
// go, and the bound keeps made-up paths from growing it (the cost of a
// churned entry is a render, as without the cache).
type FragmentCache = cache.Cache[fragmentKey, template.HTML]

// NewFragmentCache returns a cache of at most max fragments kept ttl each;
// a zero ttl or max returns nil, which keeps nothing.
func NewFragmentCache(ttl time.Duration, max int) *FragmentCache {
	return cache.New[fragmentKey, template.HTML](ttl, max)
}

// OtherLangs lists the languages the page can switch to.
func (p *Page) OtherLangs() []string {
	var out []string
	for _, l := range Languages {
		if l != p.Lang {
			out = append(out, l)
		}
	}
	return out
}

// Active reports whether a menu link leads to the section the page is in.
func (p *Page) Active(href string) bool {
	if href == "/" {
		return p.Path == "/"
	}
	return p.Path == href || strings.HasPrefix(p.Path, href+"/")
}

// Renderer holds every page template of one application in one set of
// templates, parsed once at start with the shared layout: a broken template
// fails the start, not a request. The layout, header, footer and the
// features' partials are parsed once and shared by every page; each page
// adds only its own templates and its copy of the shell
// (templates/shell/page.html), in which "layout", "prose", "content",
// "head" and "body" are renamed for the page ("content@office"). A page
// template is written as before: it defines "content" (and may define
// "head", or "body" for "prose").
type Renderer struct {
	set   *template.Template
	pages map[string]bool
	bufs  sync.Pool
	// langs holds a set for each language when the renderer knows the
	// messages (NewLocalizedRenderer); set is then the default language's.
	langs map[string]*langSet
}

// langSet is one language's templates, parsed at its first page.
type langSet struct {
	load func() (*template.Template, error)
	once sync.Once
	set  *template.Template
	err  error
}

// The answers of the clarity rating's second step, in the national model's
// exact wording: the conformance check compares them letter by letter.
var (
	FeedbackNegative = []string{
		"A volte le indicazioni non erano chiare",
		"A volte le indicazioni non erano complete",
		"A volte non capivo se stavo procedendo correttamente",
		"Ho avuto problemi tecnici",
		"Altro",
	}
	FeedbackPositive = []string{
		"Le indicazioni erano chiare",
		"Le indicazioni erano complete",
		"Capivo sempre che stavo procedendo correttamente",
		"Non ho avuto problemi tecnici",
		"Altro",
	}
)

var funcs = template.FuncMap{
	"negativeAnswers": func() []string { return FeedbackNegative },
	"positiveAnswers": func() []string { return FeedbackPositive },
	"sub":             func(a, b int) int { return a - b },
	// dict builds the argument of a sub-template: dict "Key" value ...
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, fmt.Errorf("dict needs key/value pairs")
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("dict key %v is not a string", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
	"join": strings.Join,
	// localtime shows an instant as the town's wall clock reads it.
	"localtime": LocalTime,
	"list":      func(items ...string) []string { return items },
	// jsonLD inserts JSON produced by encoding/json (which escapes <, > and
	// &) into a <script type="application/ld+json"> block.
	"jsonLD":     func(s string) template.JS { return template.JS(s) }, // #nosec G203 -- s is JSON from encoding/json, which escapes <, > and &: no </script> in it
	"paragraphs": Paragraphs,
	"lower":      strings.ToLower,
	"seq": func(from, to int) []int {
		var s []int
		for i := from; i <= to; i++ {
			s = append(s, i)
		}
		return s
	},
	// telHref turns a phone number as written ("02 660231") into a tel: URI.
	"telHref": func(number string) template.URL {
		n := strings.ReplaceAll(number, " ", "")
		if !strings.HasPrefix(n, "+") {
			n = "+39" + n
		}
		return template.URL("tel:" + n) // #nosec G203 -- the scheme is fixed to tel:, and html/template still escapes the attribute
	},
	// directions is the way to a point on OpenStreetMap; geoHref the
	// point as a geo: URI for the phone's maps application.
	"directions": Directions,
	"geoHref":    func(lat, lon float64) template.URL { return template.URL(GeoURI(lat, lon)) }, // #nosec G203 -- the scheme is fixed to geo: and the rest is two formatted numbers
	"waHref": func(number string) template.URL {
		return template.URL("https://wa.me/39" + strings.ReplaceAll(number, " ", "")) // #nosec G203 -- scheme and host are fixed (https://wa.me/), the attribute is still escaped
	},
}

// TemplateFS is a file system holding templates/pages/*.html and,
// optionally, templates/partials/*.html.
type TemplateFS = fs.FS

// pageNames are the names of the templates that are each page's own: the
// shell's ("layout", "prose") and the page's ("content", "head", "body").
var pageNames = regexp.MustCompile(`(\{\{-?\s*(?:define|template|block)\s+")(layout|prose|content|head|body)(")`)

// definedNames finds the templates a source defines.
var definedNames = regexp.MustCompile(`\{\{-?\s*(?:define|block)\s+"([^"]+)"`)

// ownNames renames a page's own templates in a template source: "content"
// of page office becomes "content@office".
func ownNames(src, page string) string {
	return pageNames.ReplaceAllString(src, "${1}${2}@"+page+"${3}")
}

// NewRenderer parses every "templates/pages/*.html" page of the sources
// (the features served by one application) together with the shared layout
// and the features' "templates/partials/*.html". A page defines a "content"
// template (and may define "head"). A name defined twice, in two pages or
// partials, fails: in one set the later would silently replace the other.
func NewRenderer(sources ...TemplateFS) (*Renderer, error) {
	return NewLocalizedRenderer(nil, sources...)
}

// NewLocalizedRenderer is NewRenderer for the messages of x: each language
// gets its own set, in which every action that is only a translation of
// a literal id ({{.T "id"}} or {{$.T "id"}}, no arguments) is the
// message's text as a string constant. html/template escapes a constant
// for its context exactly as it escaped T's result, so the pages are the
// same, without a reflective call per message (about a third of a
// logged-in page's rendering: docs/RENDERING.md). The default language
// is parsed now, which checks every template; the others at their first
// page. A nil x gives NewRenderer's one set.
func NewLocalizedRenderer(x *I18n, sources ...TemplateFS) (*Renderer, error) {
	r := &Renderer{}
	r.bufs.New = func() any { return new(bytes.Buffer) }
	sources = append([]fs.FS{layoutFS}, sources...)
	var rewrite func(string) string
	if x != nil {
		rewrite = literalMessages(x, Languages[0])
	}
	set, pages, err := parseSet(sources, rewrite)
	if err != nil {
		return nil, err
	}
	r.set, r.pages = set, pages
	if x != nil {
		r.langs = map[string]*langSet{Languages[0]: {set: set}}
		for _, lang := range Languages[1:] {
			r.langs[lang] = &langSet{load: func() (*template.Template, error) {
				set, _, err := parseSet(sources, literalMessages(x, lang))
				return set, err
			}}
		}
	}
	return r, nil
}

// literalAction is an action that only translates a literal message id.
var literalAction = regexp.MustCompile(`\{\{(-\s+|)\$?\.T\s+"([A-Za-z0-9_.@-]+)"(\s+-|\s*)\}\}`)

// literalMessages rewrites a template source's literal translations into
// lang's texts (NewLocalizedRenderer).
func literalMessages(x *I18n, lang string) func(string) string {
	return func(src string) string {
		return literalAction.ReplaceAllStringFunc(src, func(action string) string {
			m := literalAction.FindStringSubmatch(action)
			left, right := "{{", "}}"
			if m[1] != "" {
				left = "{{- "
			}
			if strings.HasSuffix(m[3], "-") {
				right = " -}}"
			}
			return left + strconv.Quote(x.T(lang, m[2])) + right
		})
	}
}

// forLang is the set that renders lang.
func (r *Renderer) forLang(lang string) (*template.Template, error) {
	ls, ok := r.langs[lang]
	if !ok {
		return r.set, nil
	}
	if ls.load != nil {
		ls.once.Do(func() { ls.set, ls.err = ls.load() })
	}
	return ls.set, ls.err
}

// parseSet parses the layout's and the sources' templates into one set,
// each source text through rewrite first when it is not nil; it returns
// the set and the names of its pages.
func parseSet(sources []fs.FS, rewrite func(string) string) (*template.Template, map[string]bool, error) {
	if rewrite == nil {
		rewrite = func(s string) string { return s }
	}
	pages := map[string]bool{}
	set := template.New("").Funcs(funcs)
	layouts, err := fs.Glob(layoutFS, "templates/*.html")
	if err != nil {
		return nil, nil, err
	}
	for _, name := range layouts {
		b, err := fs.ReadFile(layoutFS, name)
		if err != nil {
			return nil, nil, err
		}
		if _, err := set.New(path.Base(name)).Parse(rewrite(string(b))); err != nil {
			return nil, nil, fmt.Errorf("layout: %w", err)
		}
	}
	defined := map[string]string{}
	for _, t := range set.Templates() {
		defined[t.Name()] = "the layout"
	}
	// define parses src (the file name) into the set, after checking that
	// it defines no template another owner's file did (a page and its
	// shell are one owner: the page's "head" replaces the shell's default).
	define := func(owner, name, src string) error {
		for _, m := range definedNames.FindAllStringSubmatch(src, -1) {
			if other, dup := defined[m[1]]; dup && other != owner {
				return fmt.Errorf("template %q defined in %s and in %s", m[1], other, owner)
			}
			defined[m[1]] = owner
		}
		_, err := set.New(name).Parse(rewrite(src))
		return err
	}
	for _, src := range sources {
		partials, err := fs.Glob(src, "templates/partials/*.html")
		if err != nil {
			return nil, nil, err
		}
		for _, name := range partials {
			b, err := fs.ReadFile(src, name)
			if err != nil {
				return nil, nil, err
			}
			if err := define(name, name, string(b)); err != nil {
				return nil, nil, fmt.Errorf("partials: %w", err)
			}
		}
	}
	shell, err := fs.ReadFile(layoutFS, "templates/shell/page.html")
	if err != nil {
		return nil, nil, err
	}
	for _, src := range sources {
		names, err := fs.Glob(src, "templates/pages/*.html")
		if err != nil {
			return nil, nil, err
		}
		for _, name := range names {
			key := strings.TrimSuffix(path.Base(name), ".html")
			if pages[key] {
				return nil, nil, fmt.Errorf("template %s defined twice", key)
			}
			b, err := fs.ReadFile(src, name)
			if err != nil {
				return nil, nil, err
			}
			// The shell first: the page's "head" replaces the shell's
			// empty default.
			if err := define(name, "shell@"+key, ownNames(string(shell), key)); err != nil {
				return nil, nil, fmt.Errorf("page %s: %w", key, err)
			}
			if err := define(name, name, ownNames(string(b), key)); err != nil {
				return nil, nil, fmt.Errorf("page %s: %w", key, err)
			}
			if set.Lookup("content@"+key) == nil {
				return nil, nil, fmt.Errorf("page %s defines no \"content\"", key)
			}
			pages[key] = true
		}
	}
	return set, pages, nil
}

// Has reports whether a page template exists.
func (r *Renderer) Has(name string) bool { return r.pages[name] }

// Render writes the page with the given status. The page is rendered into a
// buffer first, so a template error becomes a clean 500, not half a page.
func (r *Renderer) Render(w http.ResponseWriter, status int, name string, p *Page) error {
	if !r.pages[name] {
		return fmt.Errorf("no page template %q", name)
	}
	t, err := r.forLang(p.Lang)
	if err != nil {
		return fmt.Errorf("render %s in %s: %w", name, p.Lang, err)
	}
	buf := r.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer r.bufs.Put(buf)
	p.tmpl, p.status = t, status
	if !p.hasContent && p.contentCache != nil {
		content, err := executeHTML(t, "content@"+name, p)
		if err != nil {
			return fmt.Errorf("render %s: %w", name, err)
		}
		p.content, p.hasContent = content, true
		p.contentCache.Put(p.contentStamp, p.contentKey, p.content)
	}
	if err := p.shell(); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	if err := t.ExecuteTemplate(buf, "layout@"+name, p); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", p.Lang)
	// The whole page's length: net/http then sends the header and the
	// page in one go, not a header, chunks and a last chunk each in a
	// write of their own (the compression middleware drops the length of
	// a page it compresses).
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, err = w.Write(buf.Bytes())
	return err
}
