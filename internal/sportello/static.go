package sportello

import (
	_ "embed"
)

// script is the Sportello's one script, an enhancement of its pages.
//
//go:embed static/sportello.js
var script []byte

// ScriptPath is where the script is served; pages work without it.
const ScriptPath = "/servizi-online/static/sportello.js"
