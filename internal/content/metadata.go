package content

import (
	"encoding/json"
	"time"

	"github.com/civico-pa/civico/internal/web"
)

// placeTypes are the schema.org types of the kinds of places.
var placeTypes = map[string]string{"biblioteca": "Library", "centro-civico": "CivicStructure", "parco": "Park",
	"impianto-sportivo": "SportsActivityLocation", "cultura": "PerformingArtsTheater", "scuola": "School", "mercato": "Place", "altro": "Place"}

// metadata is the schema.org description of an entry's page, for search
// engines and other machines: Place, Event, GovernmentOrganization,
// Person, DigitalDocument.
func metadata(p *web.Page, d *EntryData) string {
	e := d.Entry
	lang := p.Lang
	town := p.Town
	url := e.Path()
	m := map[string]any{"@context": "https://schema.org", "name": e.Title.In(lang).Text, "description": e.Summary.In(lang).Text, "url": url}
	if e.Body.In(lang).Text != "" {
		m["disambiguatingDescription"] = e.Body.In(lang).Text
	}
	address := func(street, postcode string) map[string]any {
		a := map[string]any{"@type": "PostalAddress", "addressLocality": town.Name, "addressCountry": "IT"}
		if street != "" {
			a["streetAddress"] = street
		}
		if postcode != "" {
			a["postalCode"] = postcode
		}
		return a
	}
	place := func(pl *Entry) map[string]any {
		out := map[string]any{"@type": "Place", "name": pl.Title.In(lang).Text, "address": address(pl.Address, pl.PostalCode), "url": pl.Path()}
		if pl.HasCoords {
			out["geo"] = map[string]any{"@type": "GeoCoordinates", "latitude": pl.Lat, "longitude": pl.Lon}
		}
		return out
	}
	contacts := func(e *Entry) {
		if e.Phone != "" {
			m["telephone"] = e.Phone
		}
		if e.Email != "" {
			m["email"] = e.Email
		}
	}
	organization := map[string]any{"@type": "GovernmentOrganization", "name": town.FullName()}
	switch e.Kind {
	case KindPlace:
		for k, v := range place(e) {
			m[k] = v
		}
		m["@type"] = placeTypes[e.Category]
		m["description"] = e.Summary.In(lang).Text
		if o := e.Opening.In(lang).Text; o != "" {
			m["openingHours"] = o
		}
		contacts(e)
		m["isAccessibleForFree"] = true
	case KindEvent:
		m["@type"] = "Event"
		m["startDate"] = e.Start().Format(time.RFC3339)
		m["endDate"] = e.End().Format(time.RFC3339)
		m["eventStatus"] = "https://schema.org/EventScheduled"
		m["eventAttendanceMode"] = "https://schema.org/OfflineEventAttendanceMode"
		m["organizer"] = organization
		if d.Place != nil {
			m["location"] = place(d.Place)
		}
		if c := e.Cost.In(lang).Text; c != "" {
			m["offers"] = map[string]any{"@type": "Offer", "description": c}
		}
	case KindUnit:
		m["@type"] = "GovernmentOrganization"
		m["parentOrganization"] = organization
		if e.Address != "" {
			m["address"] = address(e.Address, "")
		}
		contacts(e)
		var members []map[string]any
		for _, p := range d.Members {
			members = append(members, map[string]any{"@type": "Person", "name": p.Title.IT, "jobTitle": p.Role.In(lang).Text, "url": p.Path()})
		}
		if members != nil {
			m["member"] = members
		}
	case KindPerson:
		m["@type"] = "Person"
		m["jobTitle"] = e.Role.In(lang).Text
		m["name"] = e.Title.IT
		works := organization
		if d.Unit != nil {
			works = map[string]any{"@type": "GovernmentOrganization", "name": d.Unit.Title.In(lang).Text, "url": d.Unit.Path(),
				"parentOrganization": organization}
		}
		m["worksFor"] = works
		contacts(e)
	case KindDocument:
		m["@type"] = "DigitalDocument"
		m["datePublished"] = e.DocDate
		m["genre"] = d.Category.National
		m["publisher"] = organization
		if d.Unit != nil {
			m["author"] = map[string]any{"@type": "GovernmentOrganization", "name": d.Unit.Title.In(lang).Text, "url": d.Unit.Path()}
		}
		m["url"] = e.Website
		m["mainEntityOfPage"] = url
	}
	b, _ := json.Marshal(m)
	return string(b)
}
