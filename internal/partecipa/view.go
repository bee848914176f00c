package partecipa

import (
	"strconv"

	"github.com/civico-pa/civico/internal/web"
)

// QuestionView is a question as its form draws it, with the resident's
// answer and its error.
type QuestionView struct {
	Number   int
	ID       string // the element id of the question's fieldset or input
	Name     string // the form field of the question
	Kind     string
	Text     string
	Required bool
	Max      int
	Options  []OptionView
	Columns  []Option
	Rows     []MatrixRowView
	// Positions are a ranking's positions, 1 to its number of options.
	Positions []int
	Value     string // a text's answer
	Maxlen    int
	Error     string // translated
	// Condition says when the question applies (translated), "" if always.
	Condition string
}

// OptionView is a choice with its state.
type OptionView struct {
	Key, Label, ID, Name string
	Checked              bool
	Position             int // a ranking option's chosen position
}

// MatrixRowView is a matrix row: its radios, one per column.
type MatrixRowView struct {
	Label, Name string
	Cells       []OptionView
}

// questionViews draws the questions shown given the answers, in page's
// language; errs are message ids by question.
func questionViews(p *web.Page, qs []Question, a Answers, errs map[string]string) []QuestionView {
	var out []QuestionView
	// A question whose condition the answers already rule out is not
	// drawn; one whose earlier question is unanswered is drawn with its
	// condition beside it.
	for i := range qs {
		q := &qs[i]
		if q.If != nil {
			if _, answered := a[q.If.Question]; answered && !Shown(q, a) {
				continue
			}
		}
		ans := a[q.ID]
		v := QuestionView{Number: i + 1, ID: "q-" + q.ID, Name: fieldName(q.ID, ""), Kind: q.Kind, Text: q.Text, Required: q.Required, Max: q.Max, Columns: q.Columns}
		if m := errs[q.ID]; m != "" {
			v.Error = p.T(m)
		}
		if q.If != nil {
			for j := range qs[:i] {
				if qs[j].ID == q.If.Question {
					label := q.If.Value
					for _, o := range qs[j].Choices() {
						if o.Key == q.If.Value && o.Label != "" {
							label = o.Label
						}
					}
					v.Condition = p.T("partecipa.form.condition", "N", j+1, "Value", label)
				}
			}
		}
		switch q.Kind {
		case Single, Multiple, Scale:
			for _, o := range q.Choices() {
				label := o.Label
				if q.Kind == Scale {
					label = o.Key
					if o.Label != "" {
						label += " – " + o.Label
					}
				}
				v.Options = append(v.Options, OptionView{Key: o.Key, Label: label, ID: v.ID + "-" + o.Key, Name: v.Name, Checked: ans.Chose(o.Key)})
			}
		case Ranking:
			for n := range q.Options {
				v.Positions = append(v.Positions, n+1)
			}
			for _, o := range q.Options {
				v.Options = append(v.Options, OptionView{Key: o.Key, Label: o.Label, ID: v.ID + "-" + o.Key, Name: fieldName(q.ID, o.Key), Position: ans.Rank[o.Key]})
			}
		case Matrix:
			for _, r := range q.Options {
				row := MatrixRowView{Label: r.Label, Name: fieldName(q.ID, r.Key)}
				for _, c := range q.Columns {
					row.Cells = append(row.Cells, OptionView{Key: c.Key, Label: c.Label, ID: v.ID + "-" + r.Key + "-" + c.Key, Name: row.Name, Checked: ans.Rows[r.Key] == c.Key})
				}
				v.Rows = append(v.Rows, row)
			}
		case Short:
			v.Value, v.Maxlen = ans.Text, maxShortAnswer
		case Long:
			v.Value, v.Maxlen = ans.Text, maxLongAnswer
		}
		out = append(out, v)
	}
	return out
}

// ErrorLink is a line of the index of errors above a form.
type ErrorLink struct{ Href, Label, Message string }

func errorIndex(p *web.Page, qs []QuestionView) []ErrorLink {
	var out []ErrorLink
	for _, q := range qs {
		if q.Error != "" {
			out = append(out, ErrorLink{Href: "#" + q.ID, Label: p.T("partecipa.form.question_n", "N", strconv.Itoa(q.Number)), Message: q.Error})
		}
	}
	return out
}
