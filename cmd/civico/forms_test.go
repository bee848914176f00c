package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/attachments"
	"github.com/civico-pa/civico/internal/attachments/attachmentstest"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/forms"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/town"
)

// formsSite is the portal with the forms library, its data directory, and
// a store on the same database and directory for the checks.
type formsSite struct {
	d     *db.DB
	apps  *apps
	srv   *httptest.Server
	dir   string
	store *forms.Store
}

func newFormsSite(t testing.TB, d *db.DB) *formsSite { return newTunedFormsSite(t, d, nil) }

// newTunedFormsSite is newFormsSite with some settings changed.
func newTunedFormsSite(t testing.TB, d *db.DB, tune func(*config)) *formsSite {
	t.Helper()
	ctx := context.Background()
	towns := town.NewStore(d, time.Minute)
	if err := ensureDemo(ctx, towns); err != nil {
		t.Fatal(err)
	}
	if err := ensureDemoCatalog(ctx, d); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := testConfig(t)
	cfg.DataDir, cfg.BaseURL, cfg.PartecipaBaseURL = dir, "http://portal.test", "http://partecipa.test"
	if tune != nil {
		tune(&cfg)
	}
	a, err := buildApps(cfg, d, towns, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &formsSite{d: d, apps: a, srv: httptest.NewServer(a.portal.Handler()), dir: dir, store: a.civico.forms.Store}
	t.Cleanup(s.srv.Close)
	return s
}

// login opens a session for the account and returns its cookie value.
func (s *formsSite) login(t testing.TB, accountID string) string {
	t.Helper()
	var token string
	err := s.d.Tx(context.Background(), func(tx *sql.Tx) error {
		var err error
		token, err = s.apps.identity.Sessions.Create(context.Background(), tx, accountID, assurance.Low, "password", "", "test")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func (s *formsSite) operator(t testing.TB, email string, roles ...string) string {
	t.Helper()
	a, err := s.apps.identity.CreateOperator(context.Background(), identity.NewOperator{Email: email, Roles: roles}, "Modulistica-Comunale-2026", "test")
	if err != nil {
		t.Fatal(err)
	}
	return s.login(t, a.ID)
}

// do sends a request with the session (if any) and returns the answer and
// its body; header holds name/value pairs.
func (s *formsSite) do(t testing.TB, method, path, session string, body []byte, header ...string) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, s.srv.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if session != "" {
		req.AddCookie(&http.Cookie{Name: identity.SessionCookie, Value: session})
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

// upload posts a multipart form as a browser does; the file part claims
// to be text/html, which must not matter.
func (s *formsSite) upload(t testing.TB, session, path string, fields map[string]string, filename string, file []byte, header ...string) (*http.Response, string) {
	t.Helper()
	body, ct := attachmentstest.Multipart(fields, filename, "text/html", file)
	res, b := s.do(t, "POST", path, session, body, append([]string{"Content-Type", ct}, header...)...)
	return res, string(b)
}

func sha(b []byte) string { sum := sha256.Sum256(b); return hex.EncodeToString(sum[:]) }

var formIDRE = regexp.MustCompile(`^/backoffice/moduli/([0-9a-f]{32})\?salvato=1$`)

// createForm uploads a new form and returns its id.
func (s *formsSite) createForm(t testing.TB, session, service, title, filename string, file []byte) string {
	t.Helper()
	id, err := s.tryCreateForm(session, service, title, filename, file)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// tryCreateForm is createForm for other goroutines than the test's.
func (s *formsSite) tryCreateForm(session, service, title, filename string, file []byte) (string, error) {
	body, ct := attachmentstest.Multipart(map[string]string{"service": service, "title": title}, filename, "text/html", file)
	req, err := http.NewRequest("POST", s.srv.URL+"/backoffice/moduli", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", ct)
	req.AddCookie(&http.Cookie{Name: identity.SessionCookie, Value: session})
	res, err := noRedirect.Do(req)
	if err != nil {
		return "", err
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := formIDRE.FindStringSubmatch(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || m == nil {
		return "", fmt.Errorf("upload %s: %d %q\n%s", filename, res.StatusCode, res.Header.Get("Location"), page)
	}
	return m[1], nil
}

// storedFiles lists the files under <data dir>/forms, temporary ones apart.
func (s *formsSite) storedFiles(t testing.TB) (stored, temps []string) {
	t.Helper()
	filepath.WalkDir(filepath.Join(s.dir, "forms"), func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		if filepath.Base(filepath.Dir(p)) == "tmp" {
			temps = append(temps, p)
		} else {
			stored = append(stored, e.Name())
		}
		return nil
	})
	return stored, temps
}

func (s *formsSite) rows(t testing.TB) int {
	t.Helper()
	var n, m int
	ctx := context.Background()
	if err := s.d.QueryRowContext(ctx, `SELECT COUNT(*) FROM forms`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := s.d.QueryRowContext(ctx, `SELECT COUNT(*) FROM form_versions`).Scan(&m); err != nil {
		t.Fatal(err)
	}
	return n + m
}

const nido = "iscrizione-nidi-comunali"

func TestFormsUploadDownloadAndVersions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newFormsSite(t, d)
		desk := s.operator(t, "sportello@comune.example.it", "desk")

		res, page := s.do(t, "GET", "/backoffice/moduli", desk, nil)
		for _, want := range []string{`enctype="multipart/form-data"`, `<label for="f-file"`, `<label for="f-service"`, `<option value="` + nido + `"`,
			`aria-describedby="f-file-help"`, "PDF, ODT o DOCX, al massimo 20 MB"} {
			if !strings.Contains(string(page), want) {
				t.Errorf("back office lacks %q", want)
			}
		}
		if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Cache-Control"), "no-store") {
			t.Fatalf("back office: %d, Cache-Control %q", res.StatusCode, res.Header.Get("Cache-Control"))
		}

		v1 := attachmentstest.PDF("Domanda di iscrizione al nido")
		id := s.createForm(t, desk, nido, "Domanda di iscrizione", "Domanda iscrizione nido.pdf", v1)
		res, page = s.do(t, "GET", "/backoffice/moduli/"+id+"?salvato=1", desk, nil)
		if res.StatusCode != 200 || !strings.Contains(string(page), "Modulo salvato.") || !strings.Contains(string(page), "Domanda-iscrizione-nido.pdf") {
			t.Fatalf("form page after upload: %d\n%s", res.StatusCode, page)
		}

		// Anyone downloads it, with the headers of a file that must never
		// be run or rendered as a page of the site.
		file := "/moduli/" + id + "/1/Domanda-iscrizione-nido.pdf"
		res, got := s.do(t, "GET", file, "", nil)
		if res.StatusCode != 200 || !bytes.Equal(got, v1) {
			t.Fatalf("download: %d, %d bytes (want %d)", res.StatusCode, len(got), len(v1))
		}
		for name, want := range map[string]string{
			"Content-Type":            "application/pdf",
			"Content-Disposition":     `attachment; filename="Domanda-iscrizione-nido.pdf"; filename*=UTF-8''Domanda-iscrizione-nido.pdf`,
			"Content-Security-Policy": "sandbox",
			"X-Content-Type-Options":  "nosniff",
			"ETag":                    `"` + sha(v1) + `"`,
			"Cache-Control":           "public, max-age=31536000, immutable",
			"Accept-Ranges":           "bytes",
			"Content-Length":          fmt.Sprint(len(v1)),
		} {
			if got := res.Header.Get(name); got != want {
				t.Errorf("%s: %q, want %q", name, got, want)
			}
		}
		if res.Header.Get("Content-Encoding") != "" || res.Header.Get("Last-Modified") == "" {
			t.Errorf("Content-Encoding %q, Last-Modified %q", res.Header.Get("Content-Encoding"), res.Header.Get("Last-Modified"))
		}
		res, part := s.do(t, "GET", file, "", nil, "Range", "bytes=0-7")
		if res.StatusCode != http.StatusPartialContent || string(part) != "%PDF-1.4" || res.Header.Get("Content-Range") != fmt.Sprintf("bytes 0-7/%d", len(v1)) {
			t.Errorf("range: %d %q %q", res.StatusCode, part, res.Header.Get("Content-Range"))
		}
		if res, _ := s.do(t, "GET", file, "", nil, "If-None-Match", `"`+sha(v1)+`"`); res.StatusCode != http.StatusNotModified {
			t.Errorf("If-None-Match: %d", res.StatusCode)
		}
		if res, body := s.do(t, "HEAD", file, "", nil); res.StatusCode != 200 || len(body) != 0 || res.Header.Get("Content-Type") != "application/pdf" {
			t.Errorf("HEAD: %d, %d bytes", res.StatusCode, len(body))
		}
		if res, latest := s.do(t, "GET", "/moduli/"+id, "", nil); res.StatusCode != 200 || !bytes.Equal(latest, v1) || res.Header.Get("Cache-Control") != "public, no-cache" {
			t.Errorf("unversioned URL: %d, Cache-Control %q", res.StatusCode, res.Header.Get("Cache-Control"))
		}

		// A second version: the unversioned URL serves it, the first stays.
		v2 := attachmentstest.DOCX("Domanda di iscrizione, tariffe 2026")
		res, body := s.upload(t, desk, "/backoffice/moduli/"+id+"/versioni", map[string]string{"note": "tariffe 2026"}, "domanda.docx", v2)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("new version: %d\n%s", res.StatusCode, body)
		}
		res, latest := s.do(t, "GET", "/moduli/"+id, "", nil)
		if !bytes.Equal(latest, v2) || res.Header.Get("Content-Type") != attachments.DOCX.MediaType || res.Header.Get("ETag") != `"`+sha(v2)+`"` ||
			!strings.Contains(res.Header.Get("Content-Disposition"), "filename*=UTF-8''domanda.docx") {
			t.Errorf("latest after a new version: %q %q", res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"))
		}
		if _, old := s.do(t, "GET", file, "", nil); !bytes.Equal(old, v1) {
			t.Error("version 1 changed")
		}
		for path, want := range map[string]string{
			"/moduli/" + id + "/2":                "/moduli/" + id + "/2/domanda.docx",
			"/moduli/" + id + "/2/altro-nome.pdf": "/moduli/" + id + "/2/domanda.docx",
		} {
			if res, _ := s.do(t, "GET", path, "", nil); res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != want {
				t.Errorf("%s: %d -> %q", path, res.StatusCode, res.Header.Get("Location"))
			}
		}
		for _, path := range []string{"/moduli/" + id + "/3/domanda.docx", "/moduli/" + id + "/0/x.pdf", "/moduli/" + id + "/01/domanda.docx",
			"/moduli/ffffffffffffffffffffffffffffffff", "/moduli/..%2F..%2Fetc", "/moduli/" + strings.ToUpper(id)} {
			if res, _ := s.do(t, "GET", path, "", nil); res.StatusCode != http.StatusNotFound {
				t.Errorf("%s: %d, want 404", path, res.StatusCode)
			}
		}

		// Archived: gone from the unversioned URL and the lists, versioned
		// links keep working.
		archive := func(action string) {
			t.Helper()
			form := url.Values{"action": {action}}.Encode()
			if res, _ := s.do(t, "POST", "/backoffice/moduli/"+id+"/archivio", desk, []byte(form), "Content-Type", "application/x-www-form-urlencoded"); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s: %d", action, res.StatusCode)
			}
		}
		archive("archive")
		if res, _ := s.do(t, "GET", "/moduli/"+id, "", nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("unversioned URL of an archived form: %d", res.StatusCode)
		}
		for _, v := range []string{file, "/moduli/" + id + "/2/domanda.docx"} {
			if res, _ := s.do(t, "GET", v, "", nil); res.StatusCode != 200 {
				t.Errorf("%s of an archived form: %d", v, res.StatusCode)
			}
		}
		if listed, _ := s.store.ForService(context.Background(), nido); len(listed) != 0 {
			t.Error("an archived form is listed for the service page")
		}
		if _, page := s.do(t, "GET", "/backoffice/moduli", desk, nil); !strings.Contains(string(page), "Archiviato") {
			t.Error("the back office does not show the form archived")
		}
		archive("restore")
		if res, _ := s.do(t, "GET", "/moduli/"+id, "", nil); res.StatusCode != 200 {
			t.Errorf("unversioned URL after restore: %d", res.StatusCode)
		}

		// A name in another script keeps its letters, percent-encoded.
		odt := attachmentstest.ODT("Delega")
		oid := s.createForm(t, desk, nido, "Delega al ritiro", "Delega più però.odt", odt)
		res, got = s.do(t, "GET", "/moduli/"+oid, "", nil)
		if !bytes.Equal(got, odt) || res.Header.Get("Content-Disposition") != `attachment; filename="Delega-piu-pero.odt"; filename*=UTF-8''Delega-pi%C3%B9-per%C3%B2.odt` ||
			res.Header.Get("Content-Type") != attachments.ODT.MediaType {
			t.Errorf("ODT: %q %q", res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"))
		}
		if res, _ := s.do(t, "GET", "/moduli/"+oid+"/1/Delega-pi%C3%B9-per%C3%B2.odt", "", nil); res.StatusCode != 200 {
			t.Errorf("percent-encoded versioned URL: %d", res.StatusCode)
		}

		// Every upload and archive is in the audit log, which verifies.
		log := &audit.Log{DB: d}
		for action, want := range map[string]int{"form.created": 2, "form.version_added": 1, "form.archived": 1, "form.restored": 1} {
			if recs, err := log.List(context.Background(), audit.ListFilter{Action: action, Limit: 10}); err != nil || len(recs) != want {
				t.Errorf("%s: %d audit entries, want %d (%v)", action, len(recs), want, err)
			}
		}
		if _, err := log.Verify(context.Background()); err != nil {
			t.Error(err)
		}
		stored, temps := s.storedFiles(t)
		if len(stored) != 3 || len(temps) != 0 {
			t.Errorf("stored %v, temporary %v", stored, temps)
		}
	})
}

func TestFormsRefusalsAreExplainedAndStoreNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newFormsSite(t, d)
		urp := s.operator(t, "urp@comune.example.it", "urp")
		ok := map[string]string{"service": nido, "title": "Domanda"}
		with := func(k, v string) map[string]string {
			m := map[string]string{"service": nido, "title": "Domanda"}
			m[k] = v
			return m
		}
		big := make([]byte, forms.DefaultMaxSize+1)
		copy(big, attachmentstest.PDF("troppo grande"))
		cases := []struct {
			name, lang     string
			fields         map[string]string
			filename       string
			file           []byte
			status         int
			field, message string
		}{
			{"html named .pdf", "it", ok, "modulo.pdf", attachmentstest.HTML(), 422, "file", "Il file non è un documento PDF, ODT o DOCX valido"},
			{"renamed exe", "it", ok, "modulo.docx", attachmentstest.EXE(), 422, "file", "Il file non è un documento PDF, ODT o DOCX valido"},
			{"macro-enabled docx", "it", ok, "modulo.docx", attachmentstest.DOCM(), 422, "file", "Il documento contiene macro"},
			{"zip bomb", "it", ok, "bomba.docx", attachmentstest.LyingBomb(1<<40, 1024), 422, "file", "troppo grande una volta decompresso"},
			{"empty file", "it", ok, "vuoto.pdf", []byte{}, 422, "file", "Il file è vuoto."},
			{"no file", "it", ok, "", nil, 422, "file", "Scegli il file da caricare."},
			{"unknown service", "it", with("service", "rilascio-passaporto-lunare"), "modulo.pdf", attachmentstest.PDF("x"), 422, "service", "Scegli un servizio del catalogo."},
			{"empty title", "it", with("title", " "), "modulo.pdf", attachmentstest.PDF("x"), 422, "title", "Scrivi un titolo di almeno 3 caratteri."},
			{"too large", "it", ok, "grande.pdf", big, 413, "file", "Il file è troppo grande: il massimo è 20 MB."},
			{"too large, in English", "en", ok, "grande.pdf", big, 413, "file", "The file is too large: the limit is 20 MB."},
			{"wrong type, in English", "en", ok, "modulo.pdf", attachmentstest.HTML(), 422, "file", "The file is not a valid PDF, ODT or DOCX document"},
		}
		for _, c := range cases {
			res, page := s.upload(t, urp, "/backoffice/moduli", c.fields, c.filename, c.file, "Accept-Language", c.lang)
			if res.StatusCode != c.status {
				t.Errorf("%s: %d, want %d", c.name, res.StatusCode, c.status)
				continue
			}
			errDiv := regexp.MustCompile(`<div class="invalid-feedback d-block" id="f-` + c.field + `-error">([^<]*)</div>`).FindStringSubmatch(page)
			if errDiv == nil || !strings.Contains(errDiv[1], c.message) {
				t.Errorf("%s: no error %q beside the %s field", c.name, c.message, c.field)
			}
			if !regexp.MustCompile(`id="f-` + c.field + `"[^>]*aria-invalid="true"[^>]*aria-describedby="[^"]*f-` + c.field + `-error"`).MatchString(page) {
				t.Errorf("%s: the %s field is not marked invalid and described by its error", c.name, c.field)
			}
			if !strings.Contains(page, `role="alert"`) || !strings.Contains(page, `lang="`+c.lang+`"`) {
				t.Errorf("%s: no alert, or not in %s", c.name, c.lang)
			}
			if c.field != "title" && !strings.Contains(page, `value="Domanda"`) {
				t.Errorf("%s: the title typed is lost", c.name)
			}
		}
		// A refused new version of an existing form is explained on its page.
		id := s.createForm(t, urp, nido, "Domanda", "domanda.pdf", attachmentstest.PDF("buono"))
		res, page := s.upload(t, urp, "/backoffice/moduli/"+id+"/versioni", map[string]string{"note": "prova"}, "x.pdf", attachmentstest.DOCM())
		if res.StatusCode != 422 || !strings.Contains(page, `id="f-file-error"`) || !strings.Contains(page, ">prova</textarea>") {
			t.Errorf("refused version: %d", res.StatusCode)
		}
		res, _ = s.upload(t, urp, "/backoffice/moduli/"+id+"/versioni", nil, "grande.pdf", big)
		if res.StatusCode != 413 {
			t.Errorf("too large version: %d", res.StatusCode)
		}
		if res, _ := s.upload(t, urp, "/backoffice/moduli/ffffffffffffffffffffffffffffffff/versioni", nil, "x.pdf", attachmentstest.PDF("x")); res.StatusCode != 404 {
			t.Errorf("version of an unknown form: %d", res.StatusCode)
		}
		// Malformed requests: a title that is not text (PostgreSQL
		// refuses a NUL or bytes that are not UTF-8), a form not multipart.
		for _, title := range []string{"Domanda\x00", "Domanda \xff"} {
			if res, _ := s.upload(t, urp, "/backoffice/moduli", with("title", title), "modulo.pdf", attachmentstest.PDF("x")); res.StatusCode != 400 {
				t.Errorf("a title %q: %d", title, res.StatusCode)
			}
		}
		if res, _ := s.do(t, "POST", "/backoffice/moduli", urp, []byte("title=x"), "Content-Type", "application/x-www-form-urlencoded"); res.StatusCode != 400 {
			t.Errorf("not multipart: %d", res.StatusCode)
		}
		if res, _ := s.do(t, "POST", "/backoffice/moduli/"+id+"/archivio", urp, []byte("action=burn"), "Content-Type", "application/x-www-form-urlencoded"); res.StatusCode != 400 {
			t.Errorf("unknown archive action: %d", res.StatusCode)
		}

		// Nothing of the refusals is stored: one form, one version, one file.
		if n := s.rows(t); n != 2 {
			t.Errorf("%d rows, want the one form and its version", n)
		}
		stored, temps := s.storedFiles(t)
		if len(stored) != 1 || len(temps) != 0 {
			t.Errorf("stored %v, temporary %v", stored, temps)
		}
		if n, err := s.store.GC(context.Background()); n != 0 || err != nil {
			t.Errorf("GC found %d files to remove (%v)", n, err)
		}
	})
}

func TestFormsBackOfficeNeedsTheRole(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newFormsSite(t, d)
		schools := s.operator(t, "scuole@comune.example.it", "schools")
		resident, err := s.apps.identity.ImportResident(context.Background(), identity.NewResident{Email: "mario@example.org", Password: "tram-per-Sesto-alle-7", GivenName: "Mario", FamilyName: "Rossi"}, "test")
		if err != nil {
			t.Fatal(err)
		}
		residentSession := s.login(t, resident.ID)
		body, ct := attachmentstest.Multipart(map[string]string{"service": nido, "title": "Domanda"}, "a.pdf", "application/pdf", attachmentstest.PDF("x"))
		paths := []struct{ method, path string }{
			{"GET", "/backoffice/moduli"}, {"POST", "/backoffice/moduli"}, {"GET", "/backoffice/moduli/ffffffffffffffffffffffffffffffff"},
			{"POST", "/backoffice/moduli/ffffffffffffffffffffffffffffffff/versioni"}, {"POST", "/backoffice/moduli/ffffffffffffffffffffffffffffffff/archivio"},
		}
		for _, p := range paths {
			var b []byte
			if p.method == "POST" {
				b = body
			}
			res, _ := s.do(t, p.method, p.path, "", b, "Content-Type", ct)
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/accedi?next="+url.QueryEscape(p.path) {
				t.Errorf("anonymous %s %s: %d -> %q", p.method, p.path, res.StatusCode, res.Header.Get("Location"))
			}
			for who, session := range map[string]string{"schools operator": schools, "resident": residentSession} {
				if res, _ := s.do(t, p.method, p.path, session, b, "Content-Type", ct); res.StatusCode != http.StatusForbidden {
					t.Errorf("%s %s %s: %d, want 403", who, p.method, p.path, res.StatusCode)
				}
			}
		}
		// A page of another site cannot make an operator's browser upload.
		desk := s.operator(t, "sportello@comune.example.it", "desk")
		if res, _ := s.do(t, "POST", "/backoffice/moduli", desk, body, "Content-Type", ct, "Sec-Fetch-Site", "cross-site"); res.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site upload: %d, want 403", res.StatusCode)
		}
		for _, role := range forms.Roles {
			if res, _ := s.do(t, "GET", "/backoffice/moduli", s.operator(t, role+"@comune.example.it", role), nil); res.StatusCode != 200 {
				t.Errorf("role %s: %d", role, res.StatusCode)
			}
		}
		if n := s.rows(t); n != 0 {
			t.Errorf("%d rows after refused requests", n)
		}
	})
}

func TestFormsConcurrentUploadsShareOneFile(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newFormsSite(t, d)
		desk := s.operator(t, "sportello@comune.example.it", "desk")
		content := attachmentstest.PaddedPDF("lo stesso modulo", 256<<10)
		const n = 6
		ids, errs := make([]string, n), make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				ids[i], errs[i] = s.tryCreateForm(desk, nido, fmt.Sprintf("Copia %d", i), "copia.pdf", content)
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		stored, temps := s.storedFiles(t)
		if len(stored) != 1 || stored[0] != sha(content) || len(temps) != 0 {
			t.Fatalf("stored %v, temporary %v; want the one file %s", stored, temps, sha(content))
		}
		for _, id := range ids {
			if _, got := s.do(t, "GET", "/moduli/"+id, "", nil); !bytes.Equal(got, content) {
				t.Fatalf("form %s: the shared file differs", id)
			}
		}
	})
}

// BenchmarkFormDownload measures whole HTTP downloads of a 1 MiB PDF
// through the portal's middleware, from a loopback server.
func BenchmarkFormDownload(b *testing.B) {
	s := newFormsSite(b, dbtest.SQLite(b))
	desk := s.operator(b, "sportello@comune.example.it", "desk")
	content := attachmentstest.PaddedPDF("benchmark", 1<<20)
	id := s.createForm(b, desk, nido, "Modulo", "modulo.pdf", content)
	_, v, err := s.store.Version(context.Background(), id, 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		path string
	}{{"versioned", v.URL()}, {"latest", "/moduli/" + id}} {
		b.Run(c.name, func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			b.SetBytes(int64(len(content)))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					res, err := client.Get(s.srv.URL + c.path)
					if err != nil {
						b.Error(err)
						return
					}
					n, _ := io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != 200 || n != int64(len(content)) {
						b.Errorf("%d, %d bytes", res.StatusCode, n)
						return
					}
				}
			})
		})
	}
}

// The service page lists the forms of its service under "Cosa serve", as
// the real page renders them through the catalogue's typed link to the
// forms library: title, type, size, version and date, in either language;
// a service without forms shows no heading.
func TestServicePageListsItsForms(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newFormsSite(t, d)
		desk := s.operator(t, "sportello@comune.example.it", "desk")
		s.createForm(t, desk, nido, "Domanda di iscrizione", "domanda iscrizione.pdf", attachmentstest.PDF("domanda"))
		delega := s.createForm(t, desk, nido, "Delega", "delega.odt", attachmentstest.ODT("delega"))
		body, ct := attachmentstest.Multipart(map[string]string{"note": "seconda"}, "delega.docx", "text/html", attachmentstest.DOCX("delega 2"))
		if res, _ := s.do(t, "POST", "/backoffice/moduli/"+delega+"/versioni", desk, body, "Content-Type", ct); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("second version: %d", res.StatusCode)
		}
		page := func(lang, path string) string {
			t.Helper()
			res, b := s.do(t, "GET", path, "", nil, "Accept-Language", lang)
			if res.StatusCode != 200 {
				t.Fatalf("%s: %d", path, res.StatusCode)
			}
			return string(b)
		}
		it := page("it", "/servizi/educazione-e-formazione/"+nido)
		for _, want := range []string{
			`<h3 class="h5 mt-4" id="moduli">Moduli da scaricare</h3>`,
			`href="/moduli/` + delega + `/2/delega.docx" type="application/vnd.openxmlformats-officedocument.wordprocessingml.document"><span lang="it">Delega</span>`,
			`, versione 2 del `,
			`/1/domanda-iscrizione.pdf" type="application/pdf"><span lang="it">Domanda di iscrizione</span> <span class="text-nowrap">(PDF, `,
			`#it-file-docx"`, `#it-file-pdf"`,
		} {
			if !strings.Contains(it, want) {
				t.Errorf("the service page lacks %q", want)
			}
		}
		if en := page("en", "/servizi/educazione-e-formazione/"+nido); !strings.Contains(en, "Forms to download") || !strings.Contains(en, ", version 2 of ") {
			t.Error("the English service page's forms are not translated")
		}
		if none := page("it", "/servizi/anagrafe-e-stato-civile/carta-identita-elettronica"); strings.Contains(none, "Moduli da scaricare") {
			t.Error("a service without forms shows the heading")
		}
	})
}
