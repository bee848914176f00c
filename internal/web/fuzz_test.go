package web

import (
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// browserView is what a browser makes of a Location value: it drops tabs
// and newlines anywhere (WHATWG URL parser) and reads "\" as "/" in http(s)
// URLs.
func browserView(loc string) string {
	return strings.ReplaceAll(strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(loc), "\\", "/")
}

// FuzzSafeNext: whatever a next= parameter holds, SafeNext returns it
// unchanged or "/", and what it returns is a path on this site as a
// browser reads it: one leading "/", never "//" or "/\" (another host), no
// control characters (CR/LF would split the header; tabs vanish in the
// browser and can turn "/\t/evil" into "//evil"), and a redirect to it
// stays on the site. The seeds in testdata/fuzz/FuzzSafeNext hold the
// known tricks.
func FuzzSafeNext(f *testing.F) {
	f.Add("/servizi?x=1#top")
	f.Fuzz(func(t *testing.T, next string) {
		got := SafeNext(next)
		if got != "/" && got != next {
			t.Fatalf("SafeNext(%q) = %q: neither the input nor /", next, got)
		}
		if SafeNext(got) != got {
			t.Fatalf("SafeNext(%q) = %q, but SafeNext of that is %q", next, got, SafeNext(got))
		}
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.HasPrefix(got, "/\\") {
			t.Fatalf("SafeNext(%q) = %q: not a single leading slash", next, got)
		}
		if strings.ContainsFunc(got, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("SafeNext(%q) = %q: holds a control character", next, got)
		}
		if b := browserView(got); strings.HasPrefix(b, "//") {
			t.Fatalf("SafeNext(%q) = %q, which a browser reads as %q: another host", next, got, b)
		}

		// The way handlers use it: http.Redirect, then the browser resolves
		// the Location against the page.
		w := httptest.NewRecorder()
		http.Redirect(w, httptest.NewRequest(http.MethodGet, "https://comune.example/lingua/en", nil), got, http.StatusSeeOther)
		loc := w.Header().Get("Location")
		ref, err := url.Parse(browserView(loc))
		if err != nil {
			return // no browser follows what does not parse as a URL
		}
		base := &url.URL{Scheme: "https", Host: "comune.example", Path: "/lingua/en"}
		if dest := base.ResolveReference(ref); dest.Scheme != "https" || dest.Host != "comune.example" {
			t.Fatalf("SafeNext(%q) = %q: the redirect (Location %q) leads to %s", next, got, loc, dest)
		}
	})
}

// FuzzAcceptsGzipHeader: the Accept-Encoding reader never panics, says yes
// only when the header names gzip, lets the first gzip member decide,
// ignores optional whitespace around the separators, and reads a
// well-formed header (RFC 9110 qvalues) exactly: gzip is accepted iff its
// q is above 0.
func FuzzAcceptsGzipHeader(f *testing.F) {
	f.Add("gzip, deflate, br", uint16(1000), "br")
	f.Add("deflate;q=0.5, gzip;q=0", uint16(0), "identity")
	f.Add("GZip ; q = 0.001", uint16(1), "*")
	f.Add("br;q=1.0, gzip;q=0.8, *;q=0.1", uint16(800), "zstd deflate")
	f.Add("gzip;level=1;q=0", uint16(0), "")
	f.Add("gzip;q=NaN", uint16(500), "x-gzip")
	f.Fuzz(func(t *testing.T, header string, q uint16, others string) {
		got := acceptsGzipHeader(header)
		if got && !strings.Contains(strings.ToLower(header), "gzip") {
			t.Fatalf("acceptsGzipHeader(%q) = true without gzip in it", header)
		}
		// The first gzip member decides.
		if !acceptsGzipHeader("gzip, " + header) {
			t.Fatalf("%q refused", "gzip, "+header)
		}
		if acceptsGzipHeader("gzip;q=0, " + header) {
			t.Fatalf("%q accepted", "gzip;q=0, "+header)
		}
		// Optional whitespace around "," ";" "=" changes nothing.
		spaced := strings.NewReplacer(",", " , ", ";", " ; ", "=", " = ").Replace(header)
		if again := acceptsGzipHeader(spaced); again != got {
			t.Fatalf("acceptsGzipHeader(%q) = %v but acceptsGzipHeader(%q) = %v", header, got, spaced, again)
		}

		// A well-formed header: other codings (tokens, none of them gzip)
		// with qvalues, and gzip with q = 0.000 to 1 somewhere among them.
		qv := int(q % 1001)
		gzipMember := "GZip;q=" + qvalue(qv)
		var members []string
		for i, tok := range strings.FieldsFunc(others, func(r rune) bool { return !isTokenChar(r) }) {
			if strings.EqualFold(tok, "gzip") {
				continue
			}
			if i%2 == 1 {
				tok += ";q=" + qvalue((qv*7+i*131)%1001)
			}
			members = append(members, tok)
		}
		at := 0
		if len(members) > 0 {
			at = qv % (len(members) + 1)
		}
		members = append(members[:at], append([]string{gzipMember}, members[at:]...)...)
		wellFormed := strings.Join(members, ", ")
		if got, want := acceptsGzipHeader(wellFormed), qv > 0; got != want {
			t.Fatalf("acceptsGzipHeader(%q) = %v, want %v", wellFormed, got, want)
		}
	})
}

// qvalue writes n/1000 as RFC 9110 does: "0", "0.5", "0.125", "1".
func qvalue(n int) string {
	if n >= 1000 {
		return "1"
	}
	s := strings.TrimRight(strconv.Itoa(1000 + n)[1:], "0")
	if s == "" {
		return "0"
	}
	return "0." + s
}

// isTokenChar reports the characters of an RFC 9110 token.
func isTokenChar(r rune) bool {
	return r < 0x7f && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r))
}

// FuzzParsePoint: whatever a form sends as a point (Segnala's report,
// Partecipa's proposal), ParsePoint either refuses it naming the field or
// gives a point a map can show; both empty is no point and no error.
func FuzzParsePoint(f *testing.F) {
	for _, seed := range [][2]string{{"45,5577", "9,2149"}, {"", ""}, {" ", "9"}, {"NaN", "0"}, {"0", "Inf"}, {"1e400", "0"}, {"-85", "180"}, {"85.0000001", "0"}, {"0x1p-2", "0"}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, lat, lon string) {
		y, x, ok, bad, msg := ParsePoint(lat, lon)
		switch {
		case ok:
			if bad != "" || msg != "" || math.IsNaN(y) || math.IsNaN(x) || y < -85 || y > 85 || x < -180 || x > 180 {
				t.Fatalf("ParsePoint(%q, %q) = %v, %v, ok, %q, %q", lat, lon, y, x, bad, msg)
			}
		case bad == "":
			if strings.TrimSpace(lat) != "" || strings.TrimSpace(lon) != "" || msg != "" {
				t.Fatalf("ParsePoint(%q, %q): refused without naming a field", lat, lon)
			}
		case bad == "lat" && msg == "map.bad_lat", bad == "lon" && msg == "map.bad_lon":
		default:
			t.Fatalf("ParsePoint(%q, %q): bad %q with message %q", lat, lon, bad, msg)
		}
	})
}
