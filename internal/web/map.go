package web

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// MapTiles is the tile server a town chose for the maps of its pages
// (CIVICO_MAP_TILES_URL): a URL template with {z}, {x} and {y}, as
// OpenStreetMap-style servers publish them. Maps are off without one: the
// tiles come from outside, so each visitor's browser asks that server for
// them (the town's privacy notice must say so), and the Content Security
// Policy lets images come from that origin alone.
type MapTiles struct {
	// Template is the tiles' URL template.
	Template string
	// Origin is its scheme, host and port, for the policy's img-src.
	Origin string
	// Attribution is what the tiles' licence asks pages to say.
	Attribution string
}

// MapZoom is the zoom level of the maps: streets and their names.
const MapZoom = 17

// tileSize is the side of a tile in pixels.
const tileSize = 256

// ParseMapTiles checks a tile server's URL template: https (or http on a
// loopback address, for tests), with a host and the three placeholders,
// and nothing that could break out of a policy or an attribute. An empty
// raw is no map (nil).
func ParseMapTiles(raw, attribution string) (*MapTiles, error) {
	if raw == "" {
		return nil, nil
	}
	if strings.ContainsAny(raw, " \t\r\n'\";,<>\\") {
		return nil, errors.New("the URL has a space, a quote or a character a URL does not need")
	}
	for _, p := range []string{"{z}", "{x}", "{y}"} {
		if strings.Count(raw, p) != 1 {
			return nil, fmt.Errorf("the URL must hold %s once, as https://tiles.example.org/{z}/{x}/{y}.png", p)
		}
	}
	u, err := url.Parse(strings.NewReplacer("{z}", "0", "{x}", "0", "{y}", "0").Replace(raw))
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return nil, errors.New("not an absolute URL with a host, as https://tiles.example.org/{z}/{x}/{y}.png")
	}
	if idx := strings.Index(raw, u.Host); idx < 0 || strings.ContainsAny(raw[:idx+len(u.Host)], "{}") {
		return nil, errors.New("the placeholders belong in the path or the query, not in the host")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
			return nil, errors.New("tiles must come over https (http only from a loopback address, for tests)")
		}
	default:
		return nil, errors.New("tiles must come over https")
	}
	if strings.TrimSpace(attribution) == "" {
		attribution = u.Hostname()
	}
	return &MapTiles{Template: raw, Origin: u.Scheme + "://" + u.Host, Attribution: strings.TrimSpace(attribution)}, nil
}

// Map is a static map around a point: the tiles that cover a window
// centred on it, placed in an SVG's coordinates, with the point's marker
// at the centre. It needs no script.
type Map struct {
	Width, Height int
	Tiles         []MapTile
	// X and Y are the marker's position: the window's centre.
	X, Y        int
	Attribution string
}

// MapTile is one tile of a map, at X, Y in the map's coordinates.
type MapTile struct {
	URL  string
	X, Y int
}

// The window of a map, in pixels.
const (
	mapWidth  = 640
	mapHeight = 360
)

// Around is the map of the point lat, lon; nil without a tile server or
// with coordinates no map can show.
func (m *MapTiles) Around(lat, lon float64) *Map {
	if m == nil || math.IsNaN(lat) || math.IsNaN(lon) || lat < -85 || lat > 85 || lon < -180 || lon > 180 || lat == 0 && lon == 0 {
		return nil
	}
	n := float64(int(1) << MapZoom)
	r := lat * math.Pi / 180
	cx := (lon + 180) / 360 * n * tileSize
	cy := (1 - math.Asinh(math.Tan(r))/math.Pi) / 2 * n * tileSize
	left, top := int(math.Floor(cx))-mapWidth/2, int(math.Floor(cy))-mapHeight/2
	out := &Map{Width: mapWidth, Height: mapHeight, X: mapWidth / 2, Y: mapHeight / 2, Attribution: m.Attribution}
	tiles := 1 << MapZoom
	for ty := floorDiv(top, tileSize); ty*tileSize < top+mapHeight; ty++ {
		if ty < 0 || ty >= tiles {
			continue
		}
		for tx := floorDiv(left, tileSize); tx*tileSize < left+mapWidth; tx++ {
			x := ((tx % tiles) + tiles) % tiles
			u := strings.NewReplacer("{z}", strconv.Itoa(MapZoom), "{x}", strconv.Itoa(x), "{y}", strconv.Itoa(ty)).Replace(m.Template)
			out.Tiles = append(out.Tiles, MapTile{URL: u, X: tx*tileSize - left, Y: ty*tileSize - top})
		}
	}
	return out
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// ParsePoint reads a point typed in a form as latitude and longitude in
// decimal degrees (a decimal comma is taken too). Both empty is no point
// (ok false, bad ""); otherwise bad names the field ("lat" or "lon") that
// is not a latitude or longitude a map can show, with its message
// ("map.bad_lat", "map.bad_lon").
func ParsePoint(lat, lon string) (y, x float64, ok bool, bad, msg string) {
	lat, lon = strings.TrimSpace(lat), strings.TrimSpace(lon)
	if lat == "" && lon == "" {
		return 0, 0, false, "", ""
	}
	y, err1 := strconv.ParseFloat(strings.ReplaceAll(lat, ",", "."), 64)
	x, err2 := strconv.ParseFloat(strings.ReplaceAll(lon, ",", "."), 64)
	switch {
	case err1 != nil || math.IsNaN(y) || y < -85 || y > 85:
		return 0, 0, false, "lat", "map.bad_lat"
	case err2 != nil || math.IsNaN(x) || x < -180 || x > 180:
		return 0, 0, false, "lon", "map.bad_lon"
	}
	return y, x, true, "", ""
}

// Directions is an OpenStreetMap page that plans the way to a point from
// wherever the visitor says (its own directions form): a link, so the
// visitor's browser asks nothing of it until they follow it.
func Directions(lat, lon float64) string {
	p := strconv.FormatFloat(lat, 'f', 6, 64) + "," + strconv.FormatFloat(lon, 'f', 6, 64)
	return "https://www.openstreetmap.org/directions?" + url.Values{"route": {";" + p}, "to": {p}}.Encode()
}

// GeoURI is the point as a geo: URI (RFC 5870), which phones open in
// their maps application.
func GeoURI(lat, lon float64) string {
	return "geo:" + strconv.FormatFloat(lat, 'f', 6, 64) + "," + strconv.FormatFloat(lon, 'f', 6, 64)
}

// MapAround is the static map of a point for this page; nil when the town
// configured no tile server.
func (p *Page) MapAround(lat, lon float64) *Map { return p.Maps.Around(lat, lon) }
