package portal

import "github.com/civico-pa/civico/internal/feature"

// Feature is the portal's own pages; partecipaURL is where its links to the
// consultation platform lead, sources what its home page shows of the
// other features, topics what the topic pages list.
func Feature(partecipaURL string, sources Sources, topics Topics) feature.Feature {
	return feature.Feature{
		Name: "portal", Messages: Messages, Portal: Templates,
		Wire: func(h *feature.Host) error {
			(&Portal{App: h.Portal, PartecipaURL: partecipaURL, Sources: sources, Topics: topics}).Routes()
			return nil
		},
	}
}
