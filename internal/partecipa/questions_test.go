package partecipa

import (
	"net/url"
	"testing"
)

func TestParseQuestions(t *testing.T) {
	qs, errs := ParseQuestions(testQuestions)
	if len(errs) > 0 {
		t.Fatalf("the test questionnaire: %v", errs)
	}
	if len(qs) != 7 || qs[1].If == nil || qs[1].If.Question != "parco" || qs[2].Max != 2 || qs[3].Min != 1 || qs[3].High != 5 ||
		len(qs[6].Options) != 2 || len(qs[6].Columns) != 2 || !qs[0].Required || qs[0].Text != "Quale parco vorresti rinnovare per primo?" {
		t.Fatalf("read as %+v", qs)
	}
	for _, c := range []struct {
		name, src string
		line      int
		msg       string
	}{
		{"empty", "\n\n", 0, "partecipa.q.empty"},
		{"text first", "Perché?\n[a] long\nTesto", 1, "partecipa.q.outside"},
		{"bad header", "[A B] single", 1, "partecipa.q.bad_header"},
		{"unknown kind", "[a] colour\nTesto", 1, "partecipa.q.bad_kind"},
		{"duplicate id", "[a] long\nUno\n[a] long\nDue", 3, "partecipa.q.duplicate"},
		{"one option", "[a] single\nTesto\n- x: X", 1, "partecipa.q.few_options"},
		{"bad option", "[a] single\nTesto\n- X Y", 3, "partecipa.q.bad_option"},
		{"repeated option", "[a] single\nTesto\n- x: X\n- x: Y", 4, "partecipa.q.duplicate_option"},
		{"column outside a matrix", "[a] single\nTesto\n- x: X\n* y: Y", 4, "partecipa.q.columns_only_matrix"},
		{"matrix without columns", "[a] matrix\nTesto\n- x: X", 1, "partecipa.q.matrix_shape"},
		{"scale without ends", "[a] scale\nTesto", 1, "partecipa.q.no_scale"},
		{"scale upside down", "[a] scale 5-1\nTesto", 1, "partecipa.q.bad_scale"},
		{"condition on a later question", "[a] long if=b:x\nTesto\n[b] single\nB\n- x: X\n- y: Y", 1, "partecipa.q.bad_condition"},
		{"condition on a text", "[a] long\nA\n[b] long if=a:x\nB", 3, "partecipa.q.condition_not_choice"},
		{"condition on no such answer", "[a] single\nA\n- x: X\n- y: Y\n[b] long if=a:z\nB", 5, "partecipa.q.condition_value"},
		{"text after options", "[a] single\nA\n- x: X\n- y: Y\nmore", 5, "partecipa.q.text_after_options"},
		{"more choices than options", "[a] multiple max=3\nA\n- x: X\n- y: Y", 1, "partecipa.q.max_options"},
		{"no text", "[a] long", 1, "partecipa.q.no_text"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, errs := ParseQuestions(c.src)
			for _, e := range errs {
				if e.Line == c.line && e.Msg == c.msg {
					return
				}
			}
			t.Fatalf("errors %v, want %s on line %d", errs, c.msg, c.line)
		})
	}
}

func TestCheckAnswers(t *testing.T) {
	qs, _ := ParseQuestions(testQuestions)
	form := url.Values{"q-parco": {"ghirlanda"}, "q-perche": {"hidden: parco is not nord"}, "q-servizi": {"bagni", "giochi", "luce"},
		"q-voto": {"9"}, "q-ordine-verde": {"1"}, "q-ordine-sport": {"1"}, "q-nome": {"a\nb"}, "q-giudizio-pulizia": {"buona"}}
	got, errs := Check(qs, ReadAnswers(qs, form), true)
	want := map[string]string{"servizi": "partecipa.a.too_many", "voto": "partecipa.a.bad_choice", "ordine": "partecipa.a.rank_twice",
		"nome": "partecipa.a.short_too_long", "giudizio": "partecipa.a.matrix_all"}
	for k, v := range want {
		if errs[k] != v {
			t.Errorf("%s: %q, want %q", k, errs[k], v)
		}
	}
	if len(errs) != len(want) {
		t.Errorf("errors %v", errs)
	}
	if _, ok := got["perche"]; ok {
		t.Error("an answer to a question its condition hides was kept")
	}
	// A draft need not be complete, only well formed.
	if _, errs := Check(qs, Answers{"parco": {Choices: []string{"nord"}}}, false); len(errs) > 0 {
		t.Errorf("a partial draft: %v", errs)
	}
	if _, errs := Check(qs, Answers{"ordine": {Rank: map[string]int{"verde": 2}}}, false); errs["ordine"] != "partecipa.a.rank_gap" {
		t.Errorf("a ranking from 2: %v", errs)
	}
	if r := normalReceipt(" abcd efgh-jkmn pqrs tuvw "); r != "ABCD-EFGH-JKMN-PQRS-TUVW" {
		t.Errorf("a receipt as typed: %q", r)
	}
}
