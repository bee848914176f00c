package timeuse

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/throttle"
	"github.com/civico-pa/civico/internal/web"
)

// Paths of the survey in the personal area.
const (
	AreaPath          = "/area-personale/uso-del-tempo"
	QuestionnairePath = AreaPath + "/questionario"
	DiaryPath         = AreaPath + "/diario"
	SendPath          = AreaPath + "/invia"
	// InvitePath is the survey for the holder of an invitation link,
	// without a login: the same pages under another prefix.
	InvitePath = "/uso-del-tempo"
	// InviteLink is where an invitation's link leads (?t=secret).
	InviteLink = InvitePath + "/invito"
	// InviteCookie keeps an opened invitation's secret in the browser.
	InviteCookie = "civico_uso_del_tempo"
)

// base is the survey's prefix for a request: the personal area's, or the
// invitation's.
func base(r *http.Request) string {
	if strings.HasPrefix(r.URL.Path, InvitePath+"/") || r.URL.Path == InvitePath {
		return InvitePath
	}
	return AreaPath
}

// Steps of the survey, as the stepper names them.
var Steps = []string{"timeuse.step.questionnaire", "timeuse.step.weekday", "timeuse.step.weekend", "timeuse.step.send"}

// Web serves the survey's pages.
type Web struct {
	App   *web.App
	Store *Store
	Audit audit.Writer
	// Limiter bounds the invitations a client opens.
	Limiter *throttle.Limiter
	// BaseURL starts the invitations' links.
	BaseURL string
}

// Lists are the answers' codes the forms offer.
type Lists struct {
	Sexes, Employments, Destinations, Educations, PreferredTimes, Places, Transport, WithWhom []string
}

var lists = Lists{Sexes, Employments, Destinations, Educations, PreferredTimes, Places, Transport, WithWhom}

// Data is what every page of the survey shows.
type Data struct {
	L Lists
	// Base is the survey's prefix: the personal area's or the
	// invitation's.
	Base         string
	Step         int
	Steps        []string
	Answers      *Answers
	Participated bool
	Complete     bool
	// The overview: what each step still needs.
	QuestionnaireDone bool
	DayIssues         map[string]int
	Sent              bool

	// The questionnaire.
	Values map[string]string
	Multi  map[string]bool
	Errors Fields

	// A diary day.
	Day, Other string
	DayTypes   []string
	Diary      *Diary
	Rows       []Row
	Issues     []Issue
	Form       map[string]string
	FormErrors Fields
	Options    []Activity
	// ActivityOptions and SecondaryOptions are the lists' <option>s.
	ActivityOptions, SecondaryOptions template.HTML
	Query                             string
	Editing                           int
	OtherMorning                      bool
	Saved                             string
	Alert                             string
}

// Row is an episode as the diary's table shows it.
type Row struct {
	N                                         int
	From, To, Activity, Secondary, Where, Who string
}

// Rows are a diary day's episodes for its table.
func (h *Web) Rows(d *Diary, lang string) []Row {
	if d == nil {
		return nil
	}
	var out []Row
	for i, e := range d.Episodes {
		r := Row{N: i, From: Clock(e.Start), To: Clock(e.End), Activity: h.Store.Acts.Label(e.Activity, lang), Where: e.Location, Who: e.WithWhom}
		if e.Secondary != "" {
			r.Secondary = h.Store.Acts.Label(e.Secondary, lang)
		}
		out = append(out, r)
	}
	return out
}

// subject is who answers: the logged-in account in the personal area,
// the invitation of the browser's cookie under InvitePath (ok false, and
// the page answered, when it has none that works).
func (h *Web) subject(w http.ResponseWriter, r *http.Request) (Subject, bool) {
	if base(r) == AreaPath {
		a, _ := identity.Current(r.Context())
		if a == nil {
			h.App.Error(w, r, http.StatusForbidden)
			return Subject{}, false
		}
		return AccountSubject(a), true
	}
	c, err := r.Cookie(InviteCookie)
	if err != nil {
		h.inviteNotice(w, r, http.StatusForbidden, "timeuse.invite.none")
		return Subject{}, false
	}
	sub, err := h.Store.Invitation(r.Context(), c.Value)
	if errors.Is(err, ErrInvitation) {
		h.inviteNotice(w, r, http.StatusForbidden, "timeuse.invite.invalid")
		return Subject{}, false
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return Subject{}, false
	}
	return sub, true
}

// load reads the resident's state; a resident who has taken part is sent
// to the overview, which thanks them.
func (h *Web) load(w http.ResponseWriter, r *http.Request) (*Answers, bool) {
	acc, ok := h.subject(w, r)
	if !ok {
		return nil, false
	}
	done, err := h.Store.Participated(r.Context(), acc)
	if err != nil {
		h.App.Fail(w, r, err)
		return nil, false
	}
	if done {
		if r.URL.Path == base(r) {
			return nil, true
		}
		web.Redirect(w, r, base(r), nil)
		return nil, false
	}
	a, err := h.Store.Draft(r.Context(), acc)
	if err != nil {
		h.App.Fail(w, r, err)
		return nil, false
	}
	return a, true
}

func (h *Web) page(w http.ResponseWriter, r *http.Request, status int, name, title string, d *Data) {
	p := h.App.NewPage(r, title)
	p.Breadcrumb = []web.Crumb{{Label: p.T("area.title"), Href: "/area-personale"}, {Label: p.T("timeuse.title"), Href: AreaPath}}
	if base(r) == InvitePath {
		p.Breadcrumb = []web.Crumb{{Label: p.T("timeuse.title"), Href: InvitePath}}
	}
	if r.URL.Path == base(r) {
		p.Breadcrumb = p.Breadcrumb[:1]
		p.Breadcrumb = append(p.Breadcrumb, web.Crumb{Label: p.T("timeuse.title")})
	} else {
		p.Breadcrumb = append(p.Breadcrumb, web.Crumb{Label: p.Title})
	}
	d.Steps, d.L, d.Base = Steps, lists, base(r)
	p.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, name, p)
}

// overview is the survey's first page: what it is, its privacy, each
// step's state and the send button.
func (h *Web) overview(w http.ResponseWriter, r *http.Request) {
	a, ok := h.load(w, r)
	if !ok {
		return
	}
	d := &Data{Step: 0, Participated: a == nil, Sent: r.URL.Query().Get("inviato") != "", DayIssues: map[string]int{}}
	if a != nil {
		d.Answers = a
		d.QuestionnaireDone = len(a.Q.Check()) == 0
		for _, day := range Days {
			d.DayIssues[day] = len(a.Diaries[day].Check(h.Store.Acts))
			if dd := a.Diaries[day]; dd == nil || !validDayType(day, dd.DayType) {
				d.DayIssues[day]++
			}
		}
		d.Complete = h.Store.Complete(a)
	}
	status := http.StatusOK
	if msg := r.URL.Query().Get("errore"); msg == "incompleto" {
		d.Alert, status = "timeuse.error.incomplete", http.StatusUnprocessableEntity
	}
	h.page(w, r, status, "timeuse_overview", "timeuse.title", d)
}

// send sends the answers.
func (h *Web) send(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 4<<10) {
		return
	}
	sub, ok := h.subject(w, r)
	if !ok {
		return
	}
	err := h.Store.Submit(r.Context(), sub)
	switch {
	case errors.Is(err, ErrIncomplete):
		web.Redirect(w, r, base(r), url.Values{"errore": {"incompleto"}})
	case errors.Is(err, ErrAnswered):
		web.Redirect(w, r, base(r), nil)
	case err != nil:
		h.App.Fail(w, r, err)
	default:
		web.Redirect(w, r, base(r), url.Values{"inviato": {"1"}})
	}
}

// questionnaireValues are the questionnaire's answers as form values.
func questionnaireValues(q *Questionnaire) (map[string]string, map[string]bool) {
	v := map[string]string{"sex": q.Sex, "employment": q.Employment, "destination": q.Destination, "commute_mode": q.CommuteMode, "education": q.Education}
	if q.Age > 0 {
		v["age"] = strconv.Itoa(q.Age)
	}
	if q.WorkHours > 0 {
		v["work_hours"] = strconv.Itoa(q.WorkHours)
	}
	if q.CommuteMinutes > 0 {
		v["commute_minutes"] = strconv.Itoa(q.CommuteMinutes)
	}
	if q.HouseholdSize > 0 {
		v["household_size"] = strconv.Itoa(q.HouseholdSize)
	}
	if q.Done || q.Commuter {
		v["commuter"] = map[bool]string{true: "yes", false: "no"}[q.Commuter]
	}
	ages := make([]string, len(q.ChildrenAges))
	for i, a := range q.ChildrenAges {
		ages[i] = strconv.Itoa(a)
	}
	v["children_ages"] = strings.Join(ages, ", ")
	multi := map[string]bool{}
	for _, p := range q.Preferred {
		multi[p] = true
	}
	return v, multi
}

func (h *Web) questionnaireForm(w http.ResponseWriter, r *http.Request) {
	a, ok := h.load(w, r)
	if !ok {
		return
	}
	v, multi := questionnaireValues(&a.Q)
	h.page(w, r, http.StatusOK, "timeuse_questionnaire", "timeuse.step.questionnaire", &Data{Step: 1, Answers: a, Values: v, Multi: multi})
}

// number reads a whole number field; a blank field is 0, a wrong one -1.
func number(s string) int {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

func (h *Web) questionnaire(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 16<<10) {
		return
	}
	a, ok := h.load(w, r)
	if !ok {
		return
	}
	f := r.PostForm
	q := Questionnaire{Sex: f.Get("sex"), Age: number(f.Get("age")), Employment: f.Get("employment"), WorkHours: number(f.Get("work_hours")),
		Commuter: f.Get("commuter") == "yes", Destination: f.Get("destination"), CommuteMinutes: number(f.Get("commute_minutes")),
		CommuteMode: f.Get("commute_mode"), HouseholdSize: number(f.Get("household_size")), Education: f.Get("education")}
	for _, p := range f["preferred"] {
		if !slices.Contains(q.Preferred, p) {
			q.Preferred = append(q.Preferred, p)
		}
	}
	errs := q.Check()
	if f.Get("commuter") != "yes" && f.Get("commuter") != "no" {
		errs["commuter"] = "timeuse.error.choose"
	}
	ages, agesOK := ParseAges(f.Get("children_ages"))
	if !agesOK {
		errs["children_ages"] = "timeuse.error.children_ages"
	} else {
		q.ChildrenAges = ages
		if msg, bad := (&Questionnaire{HouseholdSize: q.HouseholdSize, ChildrenAges: ages}).Check()["children_ages"]; bad {
			errs["children_ages"] = msg
		}
	}
	if len(errs) > 0 {
		v := map[string]string{}
		for _, k := range []string{"sex", "age", "employment", "work_hours", "commuter", "destination", "commute_minutes", "commute_mode", "household_size", "children_ages", "education"} {
			v[k] = f.Get(k)
		}
		multi := map[string]bool{}
		for _, p := range q.Preferred {
			multi[p] = true
		}
		h.page(w, r, http.StatusUnprocessableEntity, "timeuse_questionnaire", "timeuse.step.questionnaire", &Data{Step: 1, Answers: a, Values: v, Multi: multi, Errors: errs})
		return
	}
	q.normalise()
	q.Done = true
	a.Q = q
	if !h.save(w, r, a) {
		return
	}
	web.Redirect(w, r, base(r)+"/diario/"+Weekday, nil)
}

// save keeps the draft; false when it answered the request itself.
func (h *Web) save(w http.ResponseWriter, r *http.Request, a *Answers) bool {
	sub, ok := h.subject(w, r)
	if !ok {
		return false
	}
	err := h.Store.SaveDraft(r.Context(), sub, a)
	if errors.Is(err, ErrAnswered) {
		web.Redirect(w, r, base(r), nil)
		return false
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return false
	}
	return true
}
