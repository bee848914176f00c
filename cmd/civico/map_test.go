package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/town"
	"github.com/civico-pa/civico/internal/web"
)

// An office page gives the address with directions and the office's own
// phone; a map only when the town chose a tile server, whose origin alone
// the policy then admits for images.
func TestOfficePageAddressDirectionsAndMap(t *testing.T) {
	d := dbtest.SQLite(t) // rendering and headers: the same on either database
	site := func(tiles string) *httptest.Server {
		env := map[string]string{"CIVICO_MAP_TILES_URL": tiles, "CIVICO_MAP_ATTRIBUTION": "© OpenStreetMap contributors"}
		cfg, err := loadConfig(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		cfg.SecretKey, cfg.AccessLog, cfg.BaseURL, cfg.PartecipaBaseURL = testSecretKey, false, "http://portal.test", "http://partecipa.test"
		towns := town.NewStore(d, time.Minute)
		if err := ensureDemo(context.Background(), towns); err != nil {
			t.Fatal(err)
		}
		if err := ensureDemoCatalog(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		a, err := buildApps(cfg, d, towns, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(a.portal.Handler())
		t.Cleanup(srv.Close)
		return srv
	}
	plain := site("")
	res, page := get(t, plain.URL+"/amministrazione/uffici/biblioteca")
	main := page[strings.Index(page, `<main`):strings.Index(page, `</main>`)]
	if !strings.Contains(main, `href="https://www.openstreetmap.org/directions?route=%3B45.555300%2C9.217200&amp;to=45.555300%2C9.217200"`) ||
		!strings.Contains(main, "Indicazioni stradali") || !strings.Contains(main, "Piazza") && !strings.Contains(main, "Via") {
		t.Error("the office page has no directions to its coordinates")
	}
	if !strings.Contains(main, "Telefono dell&#39;ufficio") || strings.Contains(main, "Centralino") {
		t.Error("the office's phone is not labelled as the office's")
	}
	if strings.Contains(main, "map-static") || !strings.Contains(res.Header.Get("Content-Security-Policy"), "img-src 'self' data:;") {
		t.Errorf("a map or another image origin without a tile server: %s", res.Header.Get("Content-Security-Policy"))
	}

	tiles := site("https://tiles.example.org/osm/{z}/{x}/{y}.png")
	res, page = get(t, tiles.URL+"/amministrazione/uffici/biblioteca")
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data: https://tiles.example.org;") {
		t.Errorf("the policy does not admit the tile server: %s", csp)
	}
	svg := regexp.MustCompile(`(?s)<svg class="map-static"[^>]*role="img" aria-label="Mappa: [^"]+ è al centro"[^>]*>(.*?)</svg>`).FindStringSubmatch(page)
	if svg == nil {
		t.Fatal("no map on the office page")
	}
	imgs := regexp.MustCompile(`<image href="([^"]+)"`).FindAllStringSubmatch(svg[1], -1)
	if len(imgs) < 6 {
		t.Fatalf("%d tiles", len(imgs))
	}
	for _, m := range imgs {
		if !strings.HasPrefix(m[1], "https://tiles.example.org/osm/17/") {
			t.Errorf("a tile from elsewhere: %s", m[1])
		}
	}
	if !strings.Contains(page, "Mappa: © OpenStreetMap contributors") {
		t.Error("the map does not credit its source")
	}
	if _, privacy := get(t, tiles.URL+"/privacy"); !strings.Contains(privacy, "https://tiles.example.org") {
		t.Error("the privacy notice does not say where the map's images come from")
	}
	if _, privacy := get(t, plain.URL+"/privacy"); strings.Contains(privacy, "mappe degli uffici") {
		t.Error("the privacy notice speaks of maps the site does not show")
	}
	// The place pages draw the same map.
	if err := ensureDemoContent(context.Background(), d, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, p := get(t, tiles.URL+"/vivere-il-comune/luoghi/parco-del-grugnotorto"); !strings.Contains(p, `<svg class="map-static"`) {
		t.Error("no map on a place's page")
	}
	for _, bad := range []string{"http://tiles.example.org/{z}/{x}/{y}.png", "https://tiles.example.org/{z}/{x}.png", "https://t.example.org/{z}/{x}/{y}.png; img-src *"} {
		if _, err := loadConfig(func(k string) string { return map[string]string{"CIVICO_MAP_TILES_URL": bad}[k] }); err == nil ||
			!strings.Contains(err.Error(), "CIVICO_MAP_TILES_URL") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// Cards and callouts speak in Titillium Web like the rest: Bootstrap
// Italia sets their text in Lora, a serif face; civico.css sets back every
// such rule of the elements civico uses, after Bootstrap Italia's
// stylesheet and with the same selector.
func TestNoSerifTextBesideTitillium(t *testing.T) {
	bi, err := os.ReadFile("../../internal/web/static/vendor/bootstrap-italia/css/bootstrap-italia.min.css")
	if err != nil {
		t.Fatal(err)
	}
	ownCSS, err := os.ReadFile("../../internal/web/static/civico.css")
	if err != nil {
		t.Fatal(err)
	}
	own := regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAllString(string(ownCSS), "")
	rule := regexp.MustCompile(`([^{}]+)\{[^{}]*font-family:"Lora"[^}]*\}`)
	var serif []string
	for _, m := range rule.FindAllStringSubmatch(string(bi), -1) {
		for _, sel := range strings.Split(m[1], ",") {
			if sel = strings.TrimSpace(sel); sel != ".font-serif" {
				serif = append(serif, sel)
			}
		}
	}
	if len(serif) < 4 {
		t.Fatalf("only %d serif rules found in Bootstrap Italia: the test reads the wrong file", len(serif))
	}
	fixed := map[string]bool{}
	for _, m := range regexp.MustCompile(`([^{}]+)\{font-family:"Titillium Web"[^}]*\}`).FindAllStringSubmatch(own, -1) {
		for _, sel := range strings.Split(m[1], ",") {
			fixed[strings.TrimSpace(sel)] = true
		}
	}
	for _, sel := range serif {
		if !fixed[sel] {
			t.Errorf("Bootstrap Italia sets %q in Lora and civico.css does not set it back", sel)
		}
	}
	_ = web.Languages
}
