package forms

import (
	"io/fs"
	"os"
	"regexp"
	"testing"

	"github.com/civico-pa/civico/internal/attachments"

	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/web"
)

// messageIDs finds the forms.* message ids a text names literally.
var messageIDs = regexp.MustCompile(`"(forms\.[a-z0-9_.]+)"`)

// Every message the templates and the code name exists in every language,
// and both languages define the same ids. (The catalogue's service page
// names forms.service.*: cmd/civico's TestTemplatesUseDefinedMessages
// checks it with every feature's messages.)
func TestMessagesAreDefined(t *testing.T) {
	x, err := web.NewI18n(web.Messages, identity.Messages, Messages)
	if err != nil {
		t.Fatal(err)
	}
	for lang, missing := range x.Untranslated() {
		if len(missing) > 0 {
			t.Errorf("%s lacks translations of %v", lang, missing)
		}
	}
	texts := map[string]string{}
	fs.WalkDir(Templates, ".", func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			b, _ := fs.ReadFile(Templates, p)
			texts[p] = string(b)
		}
		return err
	})
	for _, p := range []string{"forms.go", "http.go"} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		texts[p] = string(b)
	}
	for p, text := range texts {
		for _, m := range messageIDs.FindAllStringSubmatch(text, -1) {
			for _, lang := range web.Languages {
				if !x.Has(lang, m[1]) {
					t.Errorf("%s uses %q, undefined in %s", p, m[1], lang)
				}
			}
		}
	}
	for _, err := range []error{attachments.ErrTooLarge, attachments.ErrEmpty, attachments.ErrType, attachments.ErrMacro, attachments.ErrExpands} {
		if id := FileMessage(err); !x.Has("it", id) || !x.Has("en", id) {
			t.Errorf("FileMessage(%v) = %q, undefined", err, id)
		}
	}
}
