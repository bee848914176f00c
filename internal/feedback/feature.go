package feedback

import (
	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/identity"
)

// ResultRoles may read the ratings: how many, their stars and reasons.
var ResultRoles = []string{"urp", "admin", "statistics"}

// CommentRoles may also read the comments readers write: the office that
// answers the public (URP) and the administrators. A comment is free text
// and may name a person; statistics sees only the numbers.
var CommentRoles = []string{"urp", "admin"}

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
			m.Guarded(assurance.Low, ResultRoles...).HandleFunc("GET "+DetailPath, fb.Detail)
			h.BackOffice(identity.Section{Label: "backoffice.ratings", Href: "/backoffice/valutazioni", Roles: ResultRoles})
			return nil
		},
	}
}
