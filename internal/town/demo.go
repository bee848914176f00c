package town

import (
	_ "embed"
)

//go:embed cinisello-balsamo.json
var demoProfile []byte

// Demo returns the profile of the demo town, the Comune di Cinisello Balsamo.
func Demo() Profile {
	p, err := ParseJSON(demoProfile)
	if err != nil {
		panic("embedded demo town profile: " + err.Error())
	}
	return p
}
