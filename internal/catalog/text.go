package catalog

// Content in other languages than Italian: each service and office may
// carry an English version of its texts, field by field. A page in English
// shows the English text where there is one and the Italian elsewhere,
// marked as Italian (lang="it") and said to be so.

// Text is a piece of content and the language it is written in.
type Text struct {
	Value, Lang string
}

func (t Text) String() string { return t.Value }

// pick is the text of a field for a page in lang: the translation if there
// is one, else the Italian.
func pick(lang, italian, translated string) Text {
	if lang != "it" && translated != "" {
		return Text{translated, lang}
	}
	return Text{italian, "it"}
}

// OfficeText are an office's texts in one language.
type OfficeText struct {
	Name          string `json:"name,omitempty"`
	Description   string `json:"description,omitempty"`
	Accessibility string `json:"accessibility,omitempty"`
}

func (t *OfficeText) empty() bool { return t == nil || *t == OfficeText{} }

// ServiceText are a service's texts in one language.
type ServiceText struct {
	Title        string `json:"title,omitempty"`
	Summary      string `json:"summary,omitempty"`
	Description  string `json:"description,omitempty"`
	StatusReason string `json:"status_reason,omitempty"`
	Audience     string `json:"audience,omitempty"`
	HowTo        string `json:"how_to,omitempty"`
	Needed       string `json:"needed,omitempty"`
	Outcome      string `json:"outcome,omitempty"`
	Deadlines    string `json:"deadlines,omitempty"`
	Fees         string `json:"fees,omitempty"`
	Conditions   string `json:"conditions,omitempty"`
}

func (t *ServiceText) empty() bool { return t == nil || *t == ServiceText{} }

type textField struct {
	name  string
	value *string
	max   int
}

// fields are the translatable fields, in the order of the form.
func (t *ServiceText) fields() []textField {
	return []textField{
		{"title", &t.Title, MaxTitle}, {"summary", &t.Summary, MaxSummary}, {"description", &t.Description, MaxLongText},
		{"status_reason", &t.StatusReason, MaxReason}, {"audience", &t.Audience, MaxLongText}, {"how_to", &t.HowTo, MaxLongText},
		{"needed", &t.Needed, MaxLongText}, {"outcome", &t.Outcome, MaxLongText}, {"deadlines", &t.Deadlines, MaxLongText},
		{"fees", &t.Fees, MaxShortText}, {"conditions", &t.Conditions, MaxLongText},
	}
}

func (t *OfficeText) fields() []textField {
	return []textField{{"name", &t.Name, MaxTitle}, {"description", &t.Description, MaxSummary}, {"accessibility", &t.Accessibility, MaxShortText}}
}

// ServiceTexts are a service's texts as a page in one language shows them.
type ServiceTexts struct {
	Title, Summary, Description, StatusReason, Audience, HowTo, Needed, Outcome, Deadlines, Fees, Conditions Text
	// Italian is set on a page in another language where some text is
	// shown in Italian; All, when none of it is translated.
	Italian, All bool
}

// Texts are the service's texts for a page in lang.
func (s *Service) Texts(lang string) ServiceTexts {
	tr := s.Translations[lang]
	if tr == nil {
		tr = &ServiceText{}
	}
	t := ServiceTexts{
		Title: pick(lang, s.Title, tr.Title), Summary: pick(lang, s.Summary, tr.Summary), Description: pick(lang, s.Description, tr.Description),
		StatusReason: pick(lang, s.StatusReason, tr.StatusReason), Audience: pick(lang, s.Audience, tr.Audience), HowTo: pick(lang, s.HowTo, tr.HowTo),
		Needed: pick(lang, s.Needed, tr.Needed), Outcome: pick(lang, s.Outcome, tr.Outcome), Deadlines: pick(lang, s.Deadlines, tr.Deadlines),
		Fees: pick(lang, s.Fees, tr.Fees), Conditions: pick(lang, s.Conditions, tr.Conditions),
	}
	if lang != "it" {
		all := []Text{t.Title, t.Summary, t.Description, t.Audience, t.HowTo, t.Needed, t.Outcome, t.Deadlines, t.Fees, t.Conditions}
		if !s.Active() {
			all = append(all, t.StatusReason)
		}
		t.All = true
		for _, x := range all {
			if x.Value == "" {
				continue
			}
			t.Italian = t.Italian || x.Lang == "it"
			t.All = t.All && x.Lang == "it"
		}
	}
	return t
}

// TitleIn is the service's title for a page in lang.
func (s *Service) TitleIn(lang string) Text {
	var tr string
	if t := s.Translations[lang]; t != nil {
		tr = t.Title
	}
	return pick(lang, s.Title, tr)
}

// SummaryIn is the service's short description for a page in lang.
func (s *Service) SummaryIn(lang string) Text {
	var tr string
	if t := s.Translations[lang]; t != nil {
		tr = t.Summary
	}
	return pick(lang, s.Summary, tr)
}

// OfficeTexts are an office's texts as a page in one language shows them.
type OfficeTexts struct {
	Name, Description, Accessibility Text
	Italian, All                     bool
}

// Texts are the office's texts for a page in lang.
func (o *Office) Texts(lang string) OfficeTexts {
	tr := o.Translations[lang]
	if tr == nil {
		tr = &OfficeText{}
	}
	t := OfficeTexts{Name: pick(lang, o.Name, tr.Name), Description: pick(lang, o.Description, tr.Description),
		Accessibility: pick(lang, o.Accessibility, tr.Accessibility)}
	if lang != "it" {
		t.All = true
		for _, x := range []Text{t.Name, t.Description, t.Accessibility} {
			if x.Value == "" {
				continue
			}
			t.Italian = t.Italian || x.Lang == "it"
			t.All = t.All && x.Lang == "it"
		}
	}
	return t
}

// NameIn is the office's name for a page in lang.
func (o *Office) NameIn(lang string) Text {
	var tr string
	if t := o.Translations[lang]; t != nil {
		tr = t.Name
	}
	return pick(lang, o.Name, tr)
}
