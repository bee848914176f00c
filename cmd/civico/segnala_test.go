package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/segnala"
	"github.com/civico-pa/civico/internal/web"
)

// Segnala disservizio through the server as built: an anonymous resident
// reports with a mail address; a wrong form changes nothing and keeps what
// was typed; the report is off the public list until the mailed link is
// confirmed (its GET changes nothing); the office answers, the reporter is
// told by mail, the audit log has it, the public page shows the answer and
// never the address; a stale answer is refused; expired unconfirmed
// reports are purged.
func TestSegnalaJourney(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		base := s.plain.URL
		const mailbox = "giulia.riva@example.org"
		anon := s.browser(t, nil)
		res, body := anon.do("GET", base+segnala.NewPath, nil)
		if res.StatusCode != 200 || !strings.Contains(body, `name="email"`) {
			t.Fatalf("report form: %d", res.StatusCode)
		}
		bad := url.Values{"category": {"nessuna"}, "address": {"Via Libertà 12"}, "description": {"corto"}, "email": {"not-an-address"}}
		res, body = anon.do("POST", base+segnala.NewPath, bad)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-category-error"`) ||
			!strings.Contains(body, `id="f-description-error"`) || !strings.Contains(body, `id="f-email-error"`) ||
			!strings.Contains(body, `id="f-privacy-error"`) || !strings.Contains(body, `value="Via Libertà 12"`) || strings.Contains(body, `id="f-address-error"`) {
			t.Fatalf("a wrong report: %d\n%s", res.StatusCode, body)
		}
		if n := s.count(t, "segnala_reports"); n != 0 {
			t.Fatalf("a wrong report left %d rows", n)
		}
		report := url.Values{"category": {"illuminazione"}, "address": {"Via Libertà 12"},
			"description": {"Il lampione davanti al civico 12 è spento da una settimana.\nDi sera la strada è buia."}, "email": {mailbox}, "privacy": {"1"}}
		if res, _ = anon.do("POST", base+segnala.NewPath, report); res.StatusCode != 200 {
			t.Fatalf("report: %d", res.StatusCode)
		}
		if _, body = anon.do("GET", base+segnala.Path, nil); strings.Contains(body, "Via Libertà 12") {
			t.Error("an unconfirmed report is on the public list")
		}
		mails := s.deliverTo(t, mailbox)
		token := tokenOf(t, mails[0])
		if res, body = anon.do("GET", base+segnala.ConfirmPath+"?token="+token, nil); res.StatusCode != 200 || !strings.Contains(body, "lampione") {
			t.Fatalf("confirmation page: %d", res.StatusCode)
		}
		if _, body = anon.do("GET", base+segnala.Path, nil); strings.Contains(body, "Via Libertà 12") {
			t.Error("opening the mailed link (a GET) published the report")
		}
		res, _ = anon.do("POST", base+segnala.ConfirmPath, url.Values{"token": {token}})
		loc := res.Header.Get("Location")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, segnala.Path+"/") {
			t.Fatalf("confirm: %d %s", res.StatusCode, loc)
		}
		if res, _ = anon.do("POST", base+segnala.ConfirmPath, url.Values{"token": {token}}); res.StatusCode != http.StatusBadRequest {
			t.Errorf("the link used twice: %d", res.StatusCode)
		}
		id := strings.TrimPrefix(strings.SplitN(loc, "?", 2)[0], segnala.Path+"/")
		res, body = anon.do("GET", base+segnala.Path+"/"+id, nil)
		if res.StatusCode != 200 || !strings.Contains(body, "Di sera la strada è buia.") || strings.Contains(body, mailbox) {
			t.Fatalf("public page: %d (or it shows the address)", res.StatusCode)
		}
		if _, body = anon.do("GET", base+segnala.Path, nil); !strings.Contains(body, "Via Libertà 12") {
			t.Error("the confirmed report is not on the public list")
		}

		// The office.
		if res, _ = anon.do("GET", base+segnala.OfficePath, nil); res.StatusCode != http.StatusSeeOther {
			t.Errorf("the office's queue without login: %d", res.StatusCode)
		}
		op := operatorBrowser(t, s, "urp@comune.example.it", "urp")
		if res, body = op.do("GET", base+segnala.OfficePath, nil); res.StatusCode != 200 || !strings.Contains(body, id) {
			t.Fatalf("queue: %d", res.StatusCode)
		}
		res, body = op.do("GET", base+segnala.OfficePath+"/"+id, nil)
		if res.StatusCode != 200 || !strings.Contains(body, mailbox) {
			t.Fatalf("office detail: %d", res.StatusCode)
		}
		version := regexpFind(t, body, `name="version" value="(\d+)"`)
		res, body = op.do("POST", base+segnala.OfficePath+"/"+id, url.Values{"status": {segnala.Resolved}, "answer": {""}, "version": {version}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-answer-error"`) {
			t.Fatalf("resolved without an answer: %d", res.StatusCode)
		}
		answer := "Il lampione è stato riparato il 3 dicembre."
		if res, _ = op.do("POST", base+segnala.OfficePath+"/"+id, url.Values{"status": {segnala.Resolved}, "answer": {answer}, "version": {version}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("answer: %d", res.StatusCode)
		}
		if res, _ = op.do("POST", base+segnala.OfficePath+"/"+id, url.Values{"status": {segnala.Rejected}, "answer": {"no"}, "version": {version}}); res.StatusCode != http.StatusConflict {
			t.Errorf("an answer to a version changed meanwhile: %d", res.StatusCode)
		}
		if _, body = anon.do("GET", base+segnala.Path+"/"+id, nil); !strings.Contains(body, answer) {
			t.Error("the public page lacks the answer")
		}
		found := false
		for _, m := range s.deliverTo(t, mailbox) {
			found = found || strings.Contains(m.Text, answer)
		}
		if !found {
			t.Error("the reporter was not told the answer")
		}
		var n int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'segnala.reply' AND subject = $1`, "segnala:"+id).Scan(&n); err != nil || n != 1 {
			t.Errorf("audit entries of the answer: %d (%v)", n, err)
		}

		// Another report left unconfirmed is purged after its link expires.
		if res, _ = anon.do("POST", base+segnala.NewPath, report); res.StatusCode != 200 {
			t.Fatalf("second report: %d", res.StatusCode)
		}
		store := &segnala.Store{DB: d, Now: func() time.Time { return time.Now().Add(segnala.ConfirmTTL + time.Minute) }}
		if err := store.Purge(ctx); err != nil {
			t.Fatal(err)
		}
		if got := s.count(t, "segnala_reports"); got != 1 {
			t.Errorf("after the purge %d reports, want the confirmed one", got)
		}
	})
}

// photo is a small photograph of the given format ("png" or "jpeg").
func photo(t *testing.T, format string) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := range 64 {
		for y := range 48 {
			img.Set(x, y, color.RGBA{uint8(4 * x), uint8(5 * y), 120, 255})
		}
	}
	var b bytes.Buffer
	var err error
	if format == "png" {
		err = png.Encode(&b, img)
	} else {
		err = jpeg.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Photographs with a report, through the server as built: a logged-in
// resident with a confirmed address may attach up to three JPEG or PNG
// photographs, which the office sees and the public page does not; a
// file that is not a photograph, a fourth photograph, or photographs from
// someone who must confirm by mail are refused beside the field with
// nothing saved; another report's address does not open a photograph.
func TestSegnalaPhotos(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		base := s.plain.URL
		report := url.Values{"category": {"strade"}, "address": {"Via Garibaldi 40"},
			"description": {"Una buca profonda davanti al passo carraio, pericolosa per le biciclette."}, "privacy": {"1"}}
		png1, jpg := photo(t, "png"), photo(t, "jpeg")

		anon := s.browser(t, nil)
		if _, body := anon.do("GET", base+segnala.NewPath, nil); strings.Contains(body, `name="photos"`) || strings.Contains(body, "multipart/form-data") {
			t.Error("the anonymous form offers photographs")
		}
		withMail := url.Values{"email": {"passante@example.org"}}
		for k, v := range report {
			withMail[k] = v
		}
		res, body := anon.postFiles(base+segnala.NewPath, withMail, formFile{"photos", "buca.png", png1})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-photos-error"`) {
			t.Fatalf("an anonymous report with a photograph: %d\n%s", res.StatusCode, body)
		}

		b := residentBrowser(t, s, "elena.sala@example.org", "buche-in-via-Garibaldi")
		if _, body := b.do("GET", base+segnala.NewPath, nil); !strings.Contains(body, `name="photos"`) || !strings.Contains(body, `enctype="multipart/form-data"`) {
			t.Fatal("the logged-in resident's form has no photographs' field")
		}
		gif := []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
		for name, files := range map[string][]formFile{
			"a GIF":                {{"photos", "buca.png", png1}, {"photos", "buca.gif", gif}},
			"a program as a photo": {{"photos", "buca.jpg", []byte("MZ\x90\x00 this is not a photograph")}},
			"four photographs":     {{"photos", "1.png", png1}, {"photos", "2.jpg", jpg}, {"photos", "3.png", png1}, {"photos", "4.jpg", jpg}},
		} {
			res, body := b.postFiles(base+segnala.NewPath, report, files...)
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-photos-error"`) || !strings.Contains(body, `value="Via Garibaldi 40"`) {
				t.Errorf("%s: %d, want 422 beside the field with the form kept", name, res.StatusCode)
			}
		}
		if n, a := s.count(t, "segnala_reports"), s.count(t, "attachments"); n != 0 || a != 0 {
			t.Fatalf("refused reports left %d reports and %d attachments", n, a)
		}

		res, _ = b.postFiles(base+segnala.NewPath, report, formFile{"photos", "buca.png", png1}, formFile{"photos", "buca-vicino.jpg", jpg})
		loc := res.Header.Get("Location")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, segnala.Path+"/") {
			t.Fatalf("a report with two photographs: %d %s", res.StatusCode, loc)
		}
		id := strings.TrimPrefix(strings.SplitN(loc, "?", 2)[0], segnala.Path+"/")
		if _, body := anon.do("GET", base+segnala.Path+"/"+id, nil); strings.Contains(body, "/foto/") {
			t.Error("the public page shows the photographs")
		}

		op := operatorBrowser(t, s, "urp@comune.example.it", "urp")
		_, body = op.do("GET", base+segnala.OfficePath+"/"+id, nil)
		links := regexp.MustCompile(`<img class="img-fluid" src="(/backoffice/segnalazioni/`+id+`/foto/[0-9a-f]+)" alt="Foto (\d)"`).FindAllStringSubmatch(body, -1)
		if len(links) != 2 || links[0][2] != "1" || links[1][2] != "2" {
			t.Fatalf("the office's page shows %d photographs, want 2 numbered\n%s", len(links), body)
		}
		for i, want := range [][]byte{png1, jpg} {
			res, got := op.do("GET", base+links[i][1], nil)
			if res.StatusCode != 200 || got != string(want) || res.Header.Get("Content-Security-Policy") != "sandbox" {
				t.Errorf("photograph %d: %d, %d bytes, CSP %q", i+1, res.StatusCode, len(got), res.Header.Get("Content-Security-Policy"))
			}
		}
		photoID := links[0][1][strings.LastIndex(links[0][1], "/")+1:]
		if res, _ := op.do("GET", base+segnala.OfficePath+"/"+strings.Repeat("0", len(id))+"/foto/"+photoID, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("a photograph under another report's address: %d, want 404", res.StatusCode)
		}
		if res, _ := anon.do("GET", base+links[0][1], nil); res.StatusCode != http.StatusSeeOther {
			t.Errorf("a photograph without login: %d, want the login", res.StatusCode)
		}
		if res, _ := b.do("GET", base+links[0][1], nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("a photograph for the reporter (not the office): %d, want 403", res.StatusCode)
		}

		// The reporter's data download lists the photographs, and the
		// reporter alone downloads them from there.
		_, raw := b.do("GET", base+"/profilo/dati.json", nil)
		var data struct {
			Reports []struct {
				ID     string
				Photos []segnala.ExportedPhoto `json:"photos"`
			} `json:"segnalazioni"`
		}
		if err := json.Unmarshal([]byte(raw), &data); err != nil || len(data.Reports) != 1 || len(data.Reports[0].Photos) != 2 {
			t.Fatalf("the data download's reports: %v\n%s", err, raw)
		}
		other := residentBrowser(t, s, "marco.neri@example.org", "un-altro-residente")
		for i, want := range [][]byte{png1, jpg} {
			p := data.Reports[0].Photos[i]
			sum := sha256.Sum256(want)
			if p.SHA256 != hex.EncodeToString(sum[:]) || p.Size != int64(len(want)) || !strings.HasPrefix(p.URL, base+segnala.Path+"/"+id+"/") {
				t.Errorf("photograph %d in the download: %+v", i+1, p)
			}
			if res, got := b.do("GET", p.URL, nil); res.StatusCode != 200 || got != string(want) {
				t.Errorf("the reporter's photograph %d: %d, %d bytes", i+1, res.StatusCode, len(got))
			}
			if res, _ := other.do("GET", p.URL, nil); res.StatusCode != http.StatusNotFound {
				t.Errorf("another resident at the reporter's photograph %d: %d, want 404", i+1, res.StatusCode)
			}
			if res, _ := anon.do("GET", p.URL, nil); res.StatusCode != http.StatusSeeOther {
				t.Errorf("the reporter's photograph %d without login: %d, want the login", i+1, res.StatusCode)
			}
		}
		if res, _ := b.do("GET", base+segnala.OwnPhotoPath(strings.Repeat("0", len(id)), photoID), nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("the reporter's photograph under another report's address: %d, want 404", res.StatusCode)
		}
	})
}

// Where the town has maps, a report may give its place's point: checked
// like any field (a wrong one refused beside it, nothing saved), shown on
// the public page and the office's as a static map from the town's tile
// server. Without maps the form asks for no point.
func TestSegnalaMap(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newTunedIDSite(t, d, func(c *config) {
			c.Maps, _ = web.ParseMapTiles("http://127.0.0.1:9/{z}/{x}/{y}.png", "Test tiles")
		})
		base := s.plain.URL
		b := residentBrowser(t, s, "elena.sala@example.org", "buche-in-via-Garibaldi")
		if _, body := b.do("GET", base+segnala.NewPath, nil); !strings.Contains(body, `name="lat"`) || !strings.Contains(body, `name="lon"`) {
			t.Fatal("the form, with maps, asks for no point")
		}
		report := url.Values{"category": {"illuminazione"}, "address": {"Via Frova 12"}, "lat": {"91"}, "lon": {"9.2172"},
			"description": {"Il lampione davanti al civico 12 è spento da una settimana."}, "privacy": {"1"}}
		res, body := b.do("POST", base+segnala.NewPath, report)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-lat-error"`) || !strings.Contains(body, `value="Via Frova 12"`) {
			t.Fatalf("a report with a latitude out of range: %d\n%s", res.StatusCode, body)
		}
		if n := s.count(t, "segnala_reports"); n != 0 {
			t.Fatalf("a refused point saved %d reports", n)
		}
		report.Set("lat", "45,5553")
		res, _ = b.do("POST", base+segnala.NewPath, report)
		loc := res.Header.Get("Location")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, segnala.Path+"/") {
			t.Fatalf("a report with its point: %d %s", res.StatusCode, loc)
		}
		page := strings.SplitN(loc, "?", 2)[0]
		tile := regexp.MustCompile(`<image href="http://127\.0\.0\.1:9/17/\d+/\d+\.png"`)
		if _, body := s.browser(t, nil).do("GET", base+page, nil); !strings.Contains(body, `class="map-static"`) || !tile.MatchString(body) || !strings.Contains(body, "Test tiles") {
			t.Errorf("the public page shows no map of the point\n%s", body)
		}
		op := operatorBrowser(t, s, "urp@comune.example.it", "urp")
		id := strings.TrimPrefix(page, segnala.Path+"/")
		if _, body := op.do("GET", base+segnala.OfficePath+"/"+id, nil); !tile.MatchString(body) || !strings.Contains(body, `data-element="directions-link"`) {
			t.Errorf("the office's page shows no map or directions")
		}

		plain := newIDSite(t, d)
		pb := residentBrowser(t, plain, "marco.neri@example.org", "un-altro-residente")
		if _, body := pb.do("GET", plain.plain.URL+segnala.NewPath, nil); strings.Contains(body, `name="lat"`) {
			t.Error("the form asks for a point where the town has no maps")
		}
	})
}
