package feedback

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/civico-pa/civico/internal/web"
)

// FuzzRatingValidate: whatever the rating form posts, Validate does not
// panic and answers nil or ErrInvalid, exactly by the rules the form
// promises: the page is a local path (it is where Submit redirects, so it
// must never lead off the site), 1 to 5 stars, no reason or one from the
// list that matches the stars, a comment of valid UTF-8 up to MaxComment
// characters. An accepted rating stays accepted without its reason, with
// its comment shortened, and with other stars on the same side. The seeds
// are in testdata/fuzz/FuzzRatingValidate.
func FuzzRatingValidate(f *testing.F) {
	f.Add("/", 5, "", "", "it")
	f.Fuzz(func(t *testing.T, path string, stars int, reason, comment, lang string) {
		r := Rating{Path: path, Stars: stars, Reason: reason, Comment: comment, Lang: lang}
		err := r.Validate()
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("%+v: error %v, want nil or ErrInvalid", r, err)
		}
		answers := web.FeedbackPositive
		if stars <= 3 {
			answers = web.FeedbackNegative
		}
		want := web.SafeNext(path) == path && len(path) <= 512 &&
			stars >= 1 && stars <= 5 &&
			(reason == "" || slices.Contains(answers, reason)) &&
			utf8.ValidString(comment) && utf8.RuneCountInString(comment) <= MaxComment
		if (err == nil) != want {
			t.Fatalf("%+v: Validate() = %v, want valid=%v", r, err, want)
		}
		if err != nil {
			return
		}
		// Submit redirects to the path: it must stay on the site.
		if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") || strings.HasPrefix(path, "/\\") ||
			strings.ContainsFunc(path, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("accepted path %q would redirect off the site", path)
		}
		for _, other := range []Rating{
			{Path: path, Stars: stars, Comment: comment},
			{Path: path, Stars: stars, Reason: reason, Comment: string([]rune(comment)[:utf8.RuneCountInString(comment)/2])},
			{Path: path, Stars: sameSide(stars), Reason: reason, Comment: comment},
		} {
			if err := other.Validate(); err != nil {
				t.Fatalf("%+v accepted but %+v refused: %v", r, other, err)
			}
		}
		// A reason that belongs to one side only is refused on the other.
		if reason != "" && !(slices.Contains(web.FeedbackPositive, reason) && slices.Contains(web.FeedbackNegative, reason)) {
			flipped := 5
			if stars > 3 {
				flipped = 1
			}
			if err := (Rating{Path: path, Stars: flipped, Reason: reason}).Validate(); err == nil {
				t.Fatalf("reason %q accepted with %d stars and with %d", reason, stars, flipped)
			}
		}
	})
}

// sameSide returns other stars on the same side (1-3 or 4-5) as stars.
func sameSide(stars int) int {
	if stars <= 3 {
		return stars%3 + 1
	}
	return 9 - stars
}
