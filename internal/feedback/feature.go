package feedback

import (
	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/identity"
)

// ResultRoles may read the ratings.
var ResultRoles = []string{"urp", "admin", "statistics"}

// Feature is the clarity rating of every public page and its results.
func Feature() feature.Feature {
	return feature.Feature{
		Name: "feedback", Messages: Messages, Portal: Templates,
		Wire: func(h *feature.Host) error {
			// The rating form carries a token of its page's path, under a
			// key of its own derived from the installation secret.
			tokens := Tokens{Key: h.Key("clarity rating tokens")}
			h.Portal.RatingToken = tokens.Sign
			fb := &Handler{App: h.Portal, Store: &Store{DB: h.DB, Limiter: h.Limiter}, Tokens: tokens}
			m := h.Portal.For("feedback")
			m.HandleFunc("POST /valutazione", fb.Submit)
			m.Guarded(assurance.Low, ResultRoles...).HandleFunc("GET /backoffice/valutazioni", fb.Results)
			h.BackOffice(identity.Section{Label: "backoffice.ratings", Href: "/backoffice/valutazioni", Roles: ResultRoles})
			return nil
		},
	}
}
