package news_test

import (
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/news"
	"github.com/civico-pa/civico/internal/web"
)

// Every message the templates and the code name exists in every language.
func TestMessagesAreDefined(t *testing.T) {
	x, err := web.NewI18n(web.Messages, news.Messages)
	if err != nil {
		t.Fatal(err)
	}
	for lang, missing := range x.Untranslated() {
		if len(missing) > 0 {
			t.Errorf("%s lacks translations of %v", lang, missing)
		}
	}
	check := func(where, id string) {
		for _, lang := range web.Languages {
			if !x.Has(lang, id) {
				t.Errorf("%s uses %q, undefined in %s", where, id, lang)
			}
		}
	}
	literal := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	fs.WalkDir(news.Templates, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(news.Templates, p)
		for _, m := range literal.FindAllStringSubmatch(string(b), -1) {
			check(p, m[1])
		}
		return nil
	})
	// Ids in the code, and the families templates build with print.
	auditAction := regexp.MustCompile(`^news\.(created|updated|published|scheduled|unpublished)$`)
	inGo := regexp.MustCompile(`"(news\.[a-z0-9_.]+[a-z0-9_])"`)
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, _ := os.ReadFile(f)
		for _, m := range inGo.FindAllStringSubmatch(string(b), -1) {
			if !auditAction.MatchString(m[1]) {
				check(f, m[1])
			}
		}
	}
	for _, s := range []string{news.StateDraft, news.StateScheduled, news.StatePublished} {
		check("state", "news.state."+s)
		check("saved", "news.admin.saved."+s)
	}
	for _, f := range []string{"title", "summary", "body", "category", "topics", "publish_at", "action", "email"} {
		check("error summary", "news.field."+f)
	}
}

// Every page, in both languages, with its errors: no message is missing.
func TestPagesAskForDefinedMessages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d)
		it := s.publish(t, news.Input{Title: "Una notizia"})
		op, _ := s.operator(t, "urp@comune.example.it", "urp")
		for _, lang := range web.Languages {
			h := []string{"Cookie", "lang=" + lang}
			for _, p := range []string{"/novita", "/novita/notizie", it.Path(), "/novita/iscriviti", "/novita/conferma?token=x", "/novita/disiscriviti?token=x"} {
				op.get(p, h...)
				s.browser(t).get(p, h...)
			}
			for _, p := range []string{"/backoffice/notizie", "/backoffice/notizie/nuova", "/backoffice/notizie/" + it.ID, "/backoffice/notizie/" + it.ID + "?salvato=1"} {
				op.get(p, h...)
			}
			op.do("POST", "/backoffice/notizie/nuova", url.Values{"action": {"x"}, "publish_at": {"x"}, "topics": {"x"}}, h...)
			op.do("POST", "/backoffice/notizie/nuova", url.Values{"action": {"schedule"}}, h...)
			op.do("POST", "/novita/iscriviti", url.Values{"email": {"x"}, "topics": {"x"}}, h...)
			op.do("POST", "/novita/iscriviti", url.Values{"email": {"a@example.org"}}, h...)
			op.do("POST", "/novita/conferma", url.Values{"token": {"x"}}, h...)
			op.do("POST", "/novita/disiscriviti", url.Values{"token": {"x"}}, h...)
		}
		if m := s.app.I18n.Missing(); len(m) > 0 {
			t.Errorf("pages asked for undefined messages: %v", m)
		}
	})
}
