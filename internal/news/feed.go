package news

import (
	"encoding/xml"
	"io"
	"time"
)

// FeedSize is how many items a feed carries.
const FeedSize = 50

// Atom 1.0 (RFC 4287).
const atomNS = "http://www.w3.org/2005/Atom"

type atomFeed struct {
	XMLName xml.Name    `xml:"feed"`
	NS      string      `xml:"xmlns,attr"`
	Lang    string      `xml:"xml:lang,attr,omitempty"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  atomPerson  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomPerson struct {
	Name string `xml:"name"`
	URI  string `xml:"uri,omitempty"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Text string `xml:",chardata"`
}

type atomCategory struct {
	Term  string `xml:"term,attr"`
	Label string `xml:"label,attr,omitempty"`
}

type atomEntry struct {
	ID         string         `xml:"id"`
	Title      string         `xml:"title"`
	Updated    string         `xml:"updated"`
	Published  string         `xml:"published"`
	Links      []atomLink     `xml:"link"`
	Categories []atomCategory `xml:"category"`
	Summary    atomText       `xml:"summary"`
	Content    atomText       `xml:"content"`
}

// feedInfo is what a feed says of itself.
type feedInfo struct {
	Title   string // "Comune di X — Novità"
	Town    string
	Self    string // absolute URL of the feed
	HTML    string // absolute URL of the page it mirrors
	BaseURL string
	Now     time.Time
}

func atomTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// writeAtom writes the items as an Atom feed. Each entry's id is the item's
// urn:uuid, which no change of title or category alters.
func writeAtom(w io.Writer, f feedInfo, items []Item) error {
	feed := atomFeed{NS: atomNS, Lang: "it", ID: f.Self, Title: f.Title,
		Links:  []atomLink{{Rel: "self", Type: "application/atom+xml", Href: f.Self}, {Rel: "alternate", Type: "text/html", Href: f.HTML}},
		Author: atomPerson{Name: f.Town, URI: f.BaseURL + "/"},
	}
	var newest time.Time
	for _, it := range items {
		updated := latest(it.UpdatedAt, it.PublishAt)
		if updated.After(newest) {
			newest = updated
		}
		e := atomEntry{
			ID: "urn:uuid:" + it.ID, Title: it.Title, Updated: atomTime(updated), Published: atomTime(it.PublishAt),
			Links:      []atomLink{{Rel: "alternate", Type: "text/html", Href: f.BaseURL + it.Path()}},
			Categories: []atomCategory{{Term: it.Category, Label: it.CategoryTitle()}},
			Summary:    atomText{Type: "text", Text: it.Summary},
			Content:    atomText{Type: "text", Text: it.Body},
		}
		for _, t := range it.TopicTerms() {
			e.Categories = append(e.Categories, atomCategory{Term: t.Slug, Label: t.Title})
		}
		feed.Entries = append(feed.Entries, e)
	}
	if newest.IsZero() {
		newest = f.Now
	}
	feed.Updated = atomTime(newest)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(feed); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
