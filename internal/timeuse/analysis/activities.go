package analysis

import (
	_ "embed"
	"fmt"
	"strings"

	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

//go:embed activities.tsv
var activitiesTSV string

// ActivityInfo is one entry of the HETUS Activity Coding List: a 1-, 2- or
// 3-digit code with its Italian and English label.
type ActivityInfo struct {
	Code   string // "0", "01", "011": the leading zero is part of the code
	Level  int    // number of digits: 1, 2 or 3
	Parent string // the code one level up; "" for a 1-digit code
	It     string // Italian label
	En     string // English label
}

// Label is the label in lang ("it" or "en"; anything else is Italian).
func (a ActivityInfo) Label(lang string) string {
	if strings.HasPrefix(lang, "en") {
		return a.En
	}
	return a.It
}

var (
	activityList  []ActivityInfo
	activityIndex map[string]int
	// twoDigit maps a two-digit code's numeric value (0-99) to its
	// position among the 2-digit activities, or -1 when the list has no
	// such code.
	twoDigit [100]int
	// twoDigitCodes are the 2-digit codes in list order.
	twoDigitCodes []string
	searchKeys    []string
)

func init() {
	activityIndex = map[string]int{}
	for i := range twoDigit {
		twoDigit[i] = -1
	}
	for n, line := range strings.Split(activitiesTSV, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 || !isDigits(f[0]) || len(f[0]) > 3 {
			panic(fmt.Sprintf("analysis: activities.tsv line %d malformed", n+1))
		}
		a := ActivityInfo{Code: f[0], Level: len(f[0]), It: f[1], En: f[2]}
		if a.Level > 1 {
			a.Parent = a.Code[:a.Level-1]
			if _, ok := activityIndex[a.Parent]; !ok {
				panic(fmt.Sprintf("analysis: activities.tsv line %d: parent %s not listed before", n+1, a.Parent))
			}
		}
		if _, dup := activityIndex[a.Code]; dup {
			panic(fmt.Sprintf("analysis: activities.tsv line %d: %s twice", n+1, a.Code))
		}
		activityIndex[a.Code] = len(activityList)
		activityList = append(activityList, a)
		searchKeys = append(searchKeys, fold(a.Code+" "+a.It+" "+a.En))
		if a.Level == 2 {
			twoDigit[int(a.Code[0]-'0')*10+int(a.Code[1]-'0')] = len(twoDigitCodes)
			twoDigitCodes = append(twoDigitCodes, a.Code)
		}
	}
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Activities returns the whole coding list in its hierarchical order (each
// 1-digit code followed by its 2-digit codes, each followed by its 3-digit
// codes). The slice is a copy: the caller may keep or change it.
func Activities() []ActivityInfo {
	return append([]ActivityInfo(nil), activityList...)
}

// Activity returns the list's entry for code.
func Activity(code string) (ActivityInfo, bool) {
	i, ok := activityIndex[code]
	if !ok {
		return ActivityInfo{}, false
	}
	return activityList[i], true
}

// TwoDigitCodes returns the 2-digit codes of the list in order: the
// activities the indicators are computed for besides the ten 1-digit ones.
func TwoDigitCodes() []string { return append([]string(nil), twoDigitCodes...) }

// CheckCode reports whether code can be an episode's activity: 1 to 3
// digits, the leading zero kept, its 2-digit prefix (if any) a code of the
// list. A 3-digit code the list does not name (another survey's national
// extension) is accepted: the indicators only use its first two digits.
func CheckCode(code string) error {
	if !isDigits(code) || len(code) > 3 {
		return fmt.Errorf("activity %q is not a code of 1 to 3 digits", code)
	}
	if len(code) >= 2 && twoDigit[int(code[0]-'0')*10+int(code[1]-'0')] < 0 {
		return fmt.Errorf("activity %q: %s is not a 2-digit code of the HETUS list", code, code[:2])
	}
	return nil
}

// SearchActivities returns up to limit entries, in list order: when q is
// digits, those whose code starts with q; otherwise those whose code,
// Italian or English label contain every word of q, ignoring case and
// accents ("attivita" finds "attività"). An empty q matches nothing.
func SearchActivities(q string, limit int) []ActivityInfo {
	words := strings.Fields(fold(q))
	if len(words) == 0 || limit <= 0 {
		return nil
	}
	var out []ActivityInfo
	for i, a := range activityList {
		ok := true
		if len(words) == 1 && isDigits(words[0]) {
			ok = strings.HasPrefix(a.Code, words[0])
		} else {
			for _, w := range words {
				if !strings.Contains(searchKeys[i], w) {
					ok = false
					break
				}
			}
		}
		if ok {
			out = append(out, a)
			if len(out) == limit {
				break
			}
		}
	}
	return out
}

func fold(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	r, _, err := transform.String(t, s)
	if err != nil {
		r = s
	}
	return strings.ToLower(r)
}
