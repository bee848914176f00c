package forms_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/civico-pa/civico/internal/attachments"
	"github.com/civico-pa/civico/internal/forms"
)

// The demo's forms are real PDFs, which the library's check by content
// accepts as such, one per service, each named as a PDF.
func TestDemoFormsArePDFs(t *testing.T) {
	if n := len(forms.DemoForms); n < 5 || n > 8 {
		t.Fatalf("%d demo forms, want 5 to 8", n)
	}
	seen := map[string]bool{}
	for _, f := range forms.DemoForms {
		b, err := f.PDF("Comune di Cinisello Balsamo", "Via XXV Aprile 4, 20092 Cinisello Balsamo (MI)")
		if err != nil {
			t.Fatalf("%s: %v", f.Title, err)
		}
		typ, err := attachments.Detect(bytes.NewReader(b), int64(len(b)))
		if err != nil || typ != attachments.PDF {
			t.Errorf("%s: detected as %v, %v", f.Title, typ, err)
		}
		if len(b) < 1500 || filepath.Ext(f.Filename) != ".pdf" || seen[f.Filename] || f.ServiceID == "" || len(f.Sections) < 2 {
			t.Errorf("%s: %d bytes, file %q, service %q, %d sections", f.Title, len(b), f.Filename, f.ServiceID, len(f.Sections))
		}
		seen[f.Filename] = true
		if dir := os.Getenv("CIVICO_DEMO_FORMS_DIR"); dir != "" {
			_ = os.WriteFile(filepath.Join(dir, f.Filename), b, 0o644)
		}
	}
}
