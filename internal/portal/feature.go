package portal

import "github.com/civico-pa/civico/internal/feature"

// Feature is the portal's own pages; partecipaURL is where its links to the
// consultation platform lead, topics what the topic pages list.
func Feature(partecipaURL string, topics Topics) feature.Feature {
	return feature.Feature{
		Name: "portal", Messages: Messages, Portal: Templates,
		Wire: func(h *feature.Host) error {
			(&Portal{App: h.Portal, PartecipaURL: partecipaURL, Topics: topics}).Routes()
			return nil
		},
	}
}
