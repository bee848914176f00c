package forms

import (
	"context"
	"strconv"
	"strings"
	"unicode"

	"github.com/civico-pa/civico/internal/db"
)

// MaxQueryWords bounds the words a search of the public index looks for.
const MaxQueryWords = 6

// Words are what a search looks for: the query's words in lower case, at
// least two letters each, at most MaxQueryWords; a word of five letters
// or more loses its last vowel, so that "multa" finds "multe" and
// "residenza" "residenze" (Italian changes the ending for the plural).
func Words(q string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(q), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		r := []rune(w)
		if len(r) < 2 {
			continue
		}
		if len(r) >= 5 && strings.ContainsRune("aeiou", r[len(r)-1]) {
			r = r[:len(r)-1]
		}
		out = append(out, string(r))
		if len(out) == MaxQueryWords {
			break
		}
	}
	return out
}

// likePattern is a LIKE pattern matching text containing w.
func likePattern(w string) string { return db.Containing(w) }

// Published returns page n (from 1) of the forms residents see, each with
// its latest version, by title, and how many there are. With words, only
// the forms whose title, description or service (serviceOf: the ids of
// the services whose title holds a word) hold every word.
func (s *Store) Published(ctx context.Context, words []string, serviceOf func(word string) []string, n, perPage int) ([]*Form, int, error) {
	where := ` WHERE NOT f.archived`
	var args []any
	mark := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	for _, w := range words {
		p := mark(likePattern(w))
		cond := `LOWER(f.title) LIKE ` + p + ` ESCAPE '\' OR LOWER(f.description) LIKE ` + p + ` ESCAPE '\'`
		if serviceOf != nil {
			if ids := serviceOf(w); len(ids) > 0 {
				marks := make([]string, len(ids))
				for i, id := range ids {
					marks[i] = mark(id)
				}
				cond += ` OR f.service_id IN (` + strings.Join(marks, ", ") + `)`
			}
		}
		where += ` AND (` + cond + `)`
	}
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM forms f`+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	if total == 0 || (n-1)*perPage >= total {
		return nil, total, nil
	}
	q := selectFormVersion + where + ` AND` + isLatest + ` ORDER BY f.title, f.id LIMIT ` + strconv.Itoa(perPage) + ` OFFSET ` + strconv.Itoa((n-1)*perPage)
	forms, _, err := s.scanAll(ctx, q, args...)
	return forms, total, err
}
