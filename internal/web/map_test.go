package web

import (
	"math"
	"strings"
	"testing"
)

func TestParseMapTiles(t *testing.T) {
	for raw, origin := range map[string]string{
		"https://tile.openstreetmap.org/{z}/{x}/{y}.png":         "https://tile.openstreetmap.org",
		"https://tiles.example.org:8443/osm/{z}/{x}/{y}.png?k=1": "https://tiles.example.org:8443",
		"http://127.0.0.1:8099/{z}/{x}/{y}.png":                  "http://127.0.0.1:8099",
	} {
		m, err := ParseMapTiles(raw, "")
		if err != nil || m.Origin != origin || m.Attribution == "" {
			t.Errorf("%s: %+v, %v", raw, m, err)
		}
	}
	if m, err := ParseMapTiles("", ""); m != nil || err != nil {
		t.Errorf("no URL: %+v, %v", m, err)
	}
	for _, bad := range []string{
		"http://tile.openstreetmap.org/{z}/{x}/{y}.png", // plain http off the loopback
		"https://tile.openstreetmap.org/{z}/{x}.png",    // no {y}
		"https://tile.openstreetmap.org/{z}/{x}/{y}/{y}.png",
		"https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png",
		"https://tiles.example.org/{z}/{x}/{y}.png; script-src *",
		"https://tiles.example.org/{z}/{x}/{y}.png 'unsafe-inline'",
		"ftp://tiles.example.org/{z}/{x}/{y}.png",
		"//tiles.example.org/{z}/{x}/{y}.png",
		"https://user:pw@tiles.example.org/{z}/{x}/{y}.png",
		"javascript:{z}{x}{y}",
	} {
		if m, err := ParseMapTiles(bad, ""); err == nil {
			t.Errorf("%q accepted: %+v", bad, m)
		}
	}
}

// The map's tiles cover the window around the point, the point at its
// centre: the tile holding it, at its offset inside that tile.
func TestMapAround(t *testing.T) {
	m, _ := ParseMapTiles("https://tiles.example.org/{z}/{x}/{y}.png", "© OpenStreetMap")
	mp := m.Around(45.5553, 9.2172)
	if mp == nil || mp.X != mapWidth/2 || mp.Y != mapHeight/2 {
		t.Fatalf("map: %+v", mp)
	}
	n := math.Exp2(MapZoom)
	px := (9.2172 + 180) / 360 * n * 256
	py := (1 - math.Asinh(math.Tan(45.5553*math.Pi/180))/math.Pi) / 2 * n * 256
	want := "https://tiles.example.org/17/" + itoa(int(px/256)) + "/" + itoa(int(py/256)) + ".png"
	found := false
	for _, tile := range mp.Tiles {
		if tile.URL == want {
			found = true
			if dx, dy := float64(mp.X-tile.X)-math.Mod(px, 256), float64(mp.Y-tile.Y)-math.Mod(py, 256); math.Abs(dx) > 1 || math.Abs(dy) > 1 {
				t.Errorf("the point is %v, %v pixels off its place in its tile", dx, dy)
			}
		}
		if tile.X <= -256 || tile.X >= mapWidth || tile.Y <= -256 || tile.Y >= mapHeight {
			t.Errorf("a tile outside the window: %+v", tile)
		}
	}
	if !found || len(mp.Tiles) < 6 || len(mp.Tiles) > 12 {
		t.Errorf("%d tiles, the point's (%s) among them: %v", len(mp.Tiles), want, found)
	}
	if (*MapTiles)(nil).Around(45, 9) != nil || m.Around(0, 0) != nil || m.Around(math.NaN(), 9) != nil || m.Around(89, 9) != nil {
		t.Error("a map without a tile server, or of no place")
	}
}

func itoa(n int) string {
	s := ""
	for {
		s = string(rune('0'+n%10)) + s
		if n /= 10; n == 0 {
			return s
		}
	}
}

func TestDirections(t *testing.T) {
	if got, want := Directions(45.5553, 9.2172), "https://www.openstreetmap.org/directions?route=%3B45.555300%2C9.217200&to=45.555300%2C9.217200"; got != want {
		t.Errorf("Directions = %s, want %s", got, want)
	}
	if got := GeoURI(45.5553, 9.2172); got != "geo:45.555300,9.217200" {
		t.Errorf("GeoURI = %s", got)
	}
	if csp := withImgSrc(contentSecurityPolicy, "https://tiles.example.org", "x; script-src *"); !strings.Contains(csp, "img-src 'self' data: https://tiles.example.org;") ||
		strings.Contains(csp, "script-src *") {
		t.Errorf("policy: %s", csp)
	}
}
