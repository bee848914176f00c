package sportello

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
)

// script is the Sportello's one script, an enhancement of its pages.
//
//go:embed static/sportello.js
var script []byte

var scriptETag = func() string { s := sha256.Sum256(script); return `"` + hex.EncodeToString(s[:8]) + `"` }()

// ScriptPath is where the script is served; pages work without it.
const ScriptPath = "/servizi-online/static/sportello.js"

func serveScript(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, no-cache")
	h.Set("ETag", scriptETag)
	if r.Header.Get("If-None-Match") == scriptETag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(script)
}
