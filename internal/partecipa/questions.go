package partecipa

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kinds of question.
const (
	Single   = "single"
	Multiple = "multiple"
	Scale    = "scale"
	Ranking  = "ranking"
	Short    = "short"
	Long     = "long"
	Matrix   = "matrix"
)

var kinds = []string{Single, Multiple, Scale, Ranking, Short, Long, Matrix}

// Limits of a questionnaire and of its answers.
const (
	maxQuestions   = 60
	maxOptions     = 30
	maxSource      = 32 << 10
	maxShortAnswer = 200
	maxLongAnswer  = 4000
	maxScale       = 10
)

// Option is a choice of a question, a row or a column of a matrix.
type Option struct {
	Key   string `json:"key"`
	Label string `json:"label"`
}

// Condition shows a question only when an earlier choice question's
// answer includes a value.
type Condition struct {
	Question string `json:"question"`
	Value    string `json:"value"`
}

// Question is one question of a consultation.
type Question struct {
	ID       string   `json:"id"`
	Kind     string   `json:"kind"`
	Text     string   `json:"text"`
	Required bool     `json:"required,omitempty"`
	Options  []Option `json:"options,omitempty"`
	// Columns are a matrix's answers (its Options are its rows).
	Columns []Option `json:"columns,omitempty"`
	// Max is how many choices a multiple-choice question takes at most.
	Max int `json:"max,omitempty"`
	// Min and High bound a scale.
	Min  int        `json:"min,omitempty"`
	High int        `json:"high,omitempty"`
	If   *Condition `json:"if,omitempty"`
}

// Choosing reports whether the question's answer is a choice among its
// options (what a condition may test).
func (q *Question) Choosing() bool { return q.Kind == Single || q.Kind == Multiple || q.Kind == Scale }

// Option returns the label of the option key, "" if none.
func (q *Question) Option(key string) string {
	for _, o := range q.Options {
		if o.Key == key {
			return o.Label
		}
	}
	return ""
}

// Values are a scale's values, each with its label if the office gave one.
func (q *Question) Values() []Option {
	var out []Option
	for v := q.Min; v <= q.High; v++ {
		k := strconv.Itoa(v)
		out = append(out, Option{Key: k, Label: q.Option(k)})
	}
	return out
}

// Choices are what a choosing question's answers are among: its options,
// or a scale's values.
func (q *Question) Choices() []Option {
	if q.Kind == Scale {
		return q.Values()
	}
	return q.Options
}

// SourceError is a line of a questionnaire that does not read.
type SourceError struct {
	Line int
	// Msg is a message id; Arg its argument.
	Msg, Arg string
}

var (
	headerRE = regexp.MustCompile(`^\[([a-z0-9_]{1,20})\]\s*(.*)$`)
	keyRE    = regexp.MustCompile(`^[a-z0-9_]{1,20}$`)
	scaleRE  = regexp.MustCompile(`^(\d{1,2})-(\d{1,2})$`)
)

// ParseQuestions reads a questionnaire as the office writes it:
//
//	[id] kind [required] [max=N] [MIN-MAX] [if=question:value]
//	The question's text, on one or more lines.
//	- key: an option (a matrix's row)
//	* key: a matrix's column
//
// Questions are separated by their headers. Every error is reported with
// its line.
func ParseQuestions(src string) ([]Question, []SourceError) {
	var qs []Question
	var errs []SourceError
	fail := func(line int, msg, arg string) { errs = append(errs, SourceError{Line: line, Msg: msg, Arg: arg}) }
	if len(src) > maxSource {
		return nil, []SourceError{{Line: 0, Msg: "partecipa.q.too_long"}}
	}
	if !utf8.ValidString(src) {
		return nil, []SourceError{{Line: 0, Msg: "partecipa.q.encoding"}}
	}
	var cur *Question
	var curLine int
	var text []string
	finish := func() {
		if cur == nil {
			return
		}
		cur.Text = strings.Join(text, " ")
		checkQuestion(cur, curLine, qs, fail)
		qs = append(qs, *cur)
		cur, text = nil, nil
	}
	for i, raw := range strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n") {
		n := i + 1
		line := strings.TrimSpace(raw)
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "["):
			finish()
			m := headerRE.FindStringSubmatch(line)
			if m == nil {
				fail(n, "partecipa.q.bad_header", line)
				continue
			}
			cur, curLine = &Question{ID: m[1]}, n
			if slices.ContainsFunc(qs, func(q Question) bool { return q.ID == m[1] }) {
				fail(n, "partecipa.q.duplicate", m[1])
			}
			readHeader(cur, strings.Fields(m[2]), n, qs, fail)
		case cur == nil:
			fail(n, "partecipa.q.outside", "")
		case strings.HasPrefix(line, "- ") || strings.HasPrefix(line, "* "):
			key, label, ok := strings.Cut(strings.TrimSpace(line[2:]), ":")
			key, label = strings.TrimSpace(key), strings.TrimSpace(label)
			if !ok || !keyRE.MatchString(key) || label == "" || len(label) > 300 {
				fail(n, "partecipa.q.bad_option", line)
				continue
			}
			list := &cur.Options
			if line[0] == '*' {
				if cur.Kind != Matrix {
					fail(n, "partecipa.q.columns_only_matrix", "")
					continue
				}
				list = &cur.Columns
			}
			if slices.ContainsFunc(*list, func(o Option) bool { return o.Key == key }) {
				fail(n, "partecipa.q.duplicate_option", key)
				continue
			}
			*list = append(*list, Option{Key: key, Label: label})
		default:
			if len(cur.Options) > 0 || len(cur.Columns) > 0 {
				fail(n, "partecipa.q.text_after_options", "")
				continue
			}
			text = append(text, line)
		}
	}
	finish()
	if len(qs) == 0 && len(errs) == 0 {
		fail(0, "partecipa.q.empty", "")
	}
	if len(qs) > maxQuestions {
		fail(0, "partecipa.q.too_many", strconv.Itoa(maxQuestions))
	}
	return qs, errs
}

func readHeader(q *Question, words []string, n int, before []Question, fail func(int, string, string)) {
	if len(words) == 0 || !slices.Contains(kinds, words[0]) {
		arg := ""
		if len(words) > 0 {
			arg = words[0]
		}
		fail(n, "partecipa.q.bad_kind", arg)
		return
	}
	q.Kind = words[0]
	for _, w := range words[1:] {
		switch {
		case w == "required":
			q.Required = true
		case strings.HasPrefix(w, "max=") && q.Kind == Multiple:
			v, err := strconv.Atoi(w[4:])
			if err != nil || v < 1 || v > maxOptions {
				fail(n, "partecipa.q.bad_word", w)
			}
			q.Max = v
		case scaleRE.MatchString(w) && q.Kind == Scale:
			m := scaleRE.FindStringSubmatch(w)
			q.Min, _ = strconv.Atoi(m[1])
			q.High, _ = strconv.Atoi(m[2])
			if q.Min < 0 || q.High <= q.Min || q.High-q.Min+1 > maxScale+1 {
				fail(n, "partecipa.q.bad_scale", w)
			}
		case strings.HasPrefix(w, "if="):
			id, value, ok := strings.Cut(w[3:], ":")
			i := slices.IndexFunc(before, func(b Question) bool { return b.ID == id })
			switch {
			case !ok || i < 0:
				fail(n, "partecipa.q.bad_condition", w)
			case !before[i].Choosing():
				fail(n, "partecipa.q.condition_not_choice", id)
			case !slices.ContainsFunc(before[i].Choices(), func(o Option) bool { return o.Key == value }):
				fail(n, "partecipa.q.condition_value", w)
			default:
				q.If = &Condition{Question: id, Value: value}
			}
		default:
			fail(n, "partecipa.q.bad_word", w)
		}
	}
}

func checkQuestion(q *Question, n int, _ []Question, fail func(int, string, string)) {
	if q.Kind == "" {
		return // its header failed
	}
	if q.Text == "" {
		fail(n, "partecipa.q.no_text", q.ID)
	}
	if len(q.Text) > 1000 {
		fail(n, "partecipa.q.text_too_long", q.ID)
	}
	if len(q.Options) > maxOptions || len(q.Columns) > maxOptions {
		fail(n, "partecipa.q.too_many_options", q.ID)
	}
	switch q.Kind {
	case Single, Multiple, Ranking:
		if len(q.Options) < 2 {
			fail(n, "partecipa.q.few_options", q.ID)
		}
		if q.Kind == Multiple && q.Max > len(q.Options) {
			fail(n, "partecipa.q.max_options", q.ID)
		}
	case Scale:
		if q.High == 0 {
			fail(n, "partecipa.q.no_scale", q.ID)
		}
		for _, o := range q.Options {
			if v, err := strconv.Atoi(o.Key); err != nil || v < q.Min || v > q.High {
				fail(n, "partecipa.q.scale_label", o.Key)
			}
		}
	case Matrix:
		if len(q.Options) < 1 || len(q.Columns) < 2 {
			fail(n, "partecipa.q.matrix_shape", q.ID)
		}
	case Short, Long:
		if len(q.Options) > 0 {
			fail(n, "partecipa.q.text_no_options", q.ID)
		}
	}
}
