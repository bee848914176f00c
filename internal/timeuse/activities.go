package timeuse

import (
	"strings"

	"github.com/civico-pa/civico/internal/timeuse/analysis"
)

// Activity is one code of the HETUS activity coding list with its
// Italian and English labels.
type Activity struct {
	Code, IT, EN string
}

// Label is the activity's label in lang (Italian unless English).
func (a Activity) Label(lang string) string {
	if lang == "en" {
		return a.EN
	}
	return a.IT
}

// Activities are the codes a diary offers: the list's most detailed codes
// (a code with no longer code under it), and every code for the labels.
type Activities struct {
	all    map[string]Activity
	leaves []Activity
	valid  map[string]bool
}

// NewActivities indexes a coding list (codes of 1 to 3 digits, parents
// before children).
func NewActivities(list []Activity) *Activities {
	a := &Activities{all: map[string]Activity{}, valid: map[string]bool{}}
	for _, x := range list {
		a.all[x.Code] = x
	}
	for _, x := range list {
		leaf := true
		for _, y := range list {
			if len(y.Code) > len(x.Code) && strings.HasPrefix(y.Code, x.Code) {
				leaf = false
				break
			}
		}
		if leaf {
			a.leaves = append(a.leaves, x)
			a.valid[x.Code] = true
		}
	}
	return a
}

// Valid says whether a diary may record code.
func (a *Activities) Valid(code string) bool { return a.valid[code] }

// Get returns a code of the list.
func (a *Activities) Get(code string) (Activity, bool) { x, ok := a.all[code]; return x, ok }

// Label is a code's label in lang, or the code itself.
func (a *Activities) Label(code, lang string) string {
	if x, ok := a.all[code]; ok {
		return x.Label(lang)
	}
	return code
}

// Group is the first-level heading of a code (its first digit).
func (a *Activities) Group(code, lang string) string {
	if code == "" {
		return ""
	}
	return a.Label(code[:1], lang)
}

// Search returns the codes a diary may record that the coding list's
// search finds for q (every word in the Italian or English label, accents
// and case aside, or a code's first digits: analysis.SearchActivities);
// all of them for an empty q. keep is added when it is valid and missing,
// so that a chosen activity stays selectable.
func (a *Activities) Search(q, keep string) []Activity {
	if strings.TrimSpace(q) == "" {
		return a.leaves
	}
	found := map[string]bool{keep: true}
	for _, x := range analysis.SearchActivities(q, len(a.all)) {
		found[x.Code] = true
	}
	var out []Activity
	for _, x := range a.leaves {
		if found[x.Code] {
			out = append(out, x)
		}
	}
	return out
}

// ACL is the HETUS activity coding list of package analysis.
func ACL() *Activities {
	var list []Activity
	for _, x := range analysis.Activities() {
		list = append(list, Activity{Code: x.Code, IT: x.It, EN: x.En})
	}
	return NewActivities(list)
}
