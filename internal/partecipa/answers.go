package partecipa

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Answer is the answer to one question: Choices for single and multiple
// choice and a scale (its value), Rank for a ranking (option to position,
// from 1), Rows for a matrix (row to column), Text for a text.
type Answer struct {
	Choices []string          `json:"c,omitempty"`
	Rank    map[string]int    `json:"r,omitempty"`
	Rows    map[string]string `json:"m,omitempty"`
	Text    string            `json:"t,omitempty"`
}

func (a Answer) empty() bool {
	return len(a.Choices) == 0 && len(a.Rank) == 0 && len(a.Rows) == 0 && strings.TrimSpace(a.Text) == ""
}

// Chose reports whether the answer includes the choice key.
func (a Answer) Chose(key string) bool { return slices.Contains(a.Choices, key) }

// Answers are a resident's answers, by question id.
type Answers map[string]Answer

// fieldName is the form field of a question, or of one of its options.
func fieldName(q, sub string) string {
	if sub == "" {
		return "q-" + q
	}
	return "q-" + q + "-" + sub
}

// ReadAnswers reads the answers a form sent, keeping what the resident
// typed even where it is wrong, so a page with errors shows it again.
func ReadAnswers(qs []Question, form url.Values) Answers {
	out := Answers{}
	for _, q := range qs {
		var a Answer
		switch q.Kind {
		case Single, Scale:
			if v := strings.TrimSpace(form.Get(fieldName(q.ID, ""))); v != "" {
				a.Choices = []string{v}
			}
		case Multiple:
			for _, v := range form[fieldName(q.ID, "")] {
				if v = strings.TrimSpace(v); v != "" && !slices.Contains(a.Choices, v) && len(a.Choices) <= maxOptions {
					a.Choices = append(a.Choices, v)
				}
			}
		case Ranking:
			for _, o := range q.Options {
				v := strings.TrimSpace(form.Get(fieldName(q.ID, o.Key)))
				if v == "" {
					continue
				}
				p, err := strconv.Atoi(v)
				if err != nil {
					p = -1
				}
				if a.Rank == nil {
					a.Rank = map[string]int{}
				}
				a.Rank[o.Key] = p
			}
		case Matrix:
			for _, r := range q.Options {
				if v := strings.TrimSpace(form.Get(fieldName(q.ID, r.Key))); v != "" {
					if a.Rows == nil {
						a.Rows = map[string]string{}
					}
					a.Rows[r.Key] = v
				}
			}
		case Short, Long:
			a.Text = strings.TrimSpace(strings.ReplaceAll(form.Get(fieldName(q.ID, "")), "\r\n", "\n"))
		}
		if !a.empty() {
			out[q.ID] = a
		}
	}
	return out
}

// Shown reports whether q is shown, given the answers to the questions
// before it.
func Shown(q *Question, a Answers) bool {
	return q.If == nil || a[q.If.Question].Chose(q.If.Value)
}

// Check keeps the answers to the questions shown, in the questionnaire's
// terms, and says what is wrong with each, by question id (message ids).
// complete asks for every required question shown to be answered (a ballot
// being sent); a draft need only be well formed.
func Check(qs []Question, in Answers, complete bool) (Answers, map[string]string) {
	out, errs := Answers{}, map[string]string{}
	for i := range qs {
		q := &qs[i]
		a, ok := in[q.ID]
		if !Shown(q, out) {
			continue
		}
		if !ok || a.empty() {
			if complete && q.Required {
				errs[q.ID] = "partecipa.a.required"
			}
			continue
		}
		out[q.ID] = a
		if msg := checkAnswer(q, a, complete); msg != "" {
			errs[q.ID] = msg
		}
	}
	return out, errs
}

func checkAnswer(q *Question, a Answer, complete bool) string {
	has := func(list []Option, k string) bool {
		return slices.ContainsFunc(list, func(o Option) bool { return o.Key == k })
	}
	switch q.Kind {
	case Single, Scale:
		if len(a.Choices) != 1 || !has(q.Choices(), a.Choices[0]) {
			return "partecipa.a.bad_choice"
		}
	case Multiple:
		for _, c := range a.Choices {
			if !has(q.Options, c) {
				return "partecipa.a.bad_choice"
			}
		}
		if q.Max > 0 && len(a.Choices) > q.Max {
			return "partecipa.a.too_many"
		}
	case Ranking:
		seen := map[int]bool{}
		for k, p := range a.Rank {
			if !has(q.Options, k) || p < 1 || p > len(q.Options) {
				return "partecipa.a.bad_rank"
			}
			if seen[p] {
				return "partecipa.a.rank_twice"
			}
			seen[p] = true
		}
		// The positions given are 1..k: no gaps.
		for p := 1; p <= len(a.Rank); p++ {
			if !seen[p] {
				return "partecipa.a.rank_gap"
			}
		}
		if complete && q.Required && len(a.Rank) != len(q.Options) {
			return "partecipa.a.rank_all"
		}
	case Matrix:
		for r, c := range a.Rows {
			if !has(q.Options, r) || !has(q.Columns, c) {
				return "partecipa.a.bad_choice"
			}
		}
		if complete && q.Required && len(a.Rows) != len(q.Options) {
			return "partecipa.a.matrix_all"
		}
	case Short:
		if utf8.RuneCountInString(a.Text) > maxShortAnswer || strings.Contains(a.Text, "\n") {
			return "partecipa.a.short_too_long"
		}
	case Long:
		if utf8.RuneCountInString(a.Text) > maxLongAnswer {
			return "partecipa.a.long_too_long"
		}
	}
	return ""
}

// tallyKey is one count a ballot adds to: the question ("" for the
// ballot itself) and the answer ("" for "answered").
type tallyKey struct{ Question, Answer string }

// tallyKeys are the counts a checked ballot adds one to.
func tallyKeys(a Answers) []tallyKey {
	keys := []tallyKey{{}}
	for id, ans := range a {
		keys = append(keys, tallyKey{id, ""})
		for _, c := range ans.Choices {
			keys = append(keys, tallyKey{id, c})
		}
		for o, p := range ans.Rank {
			keys = append(keys, tallyKey{id, o + "#" + strconv.Itoa(p)})
		}
		for r, c := range ans.Rows {
			keys = append(keys, tallyKey{id, r + "=" + c})
		}
	}
	return keys
}
