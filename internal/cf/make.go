package cf

import (
	"fmt"
	"strings"
	"time"
)

// Make computes the codice fiscale of a person from their family and given
// names, sex ("F" or "M"), birth date and the cadastral code of their
// birthplace, by the Agenzia delle Entrate's rules: three letters of the
// family name (its consonants, then its vowels, then X), three of the given
// name (the 1st, 3rd and 4th consonant when it has four or more), the
// year's last two digits, the month's letter, the day (plus 40 for women),
// the place and the check letter. Names are taken in upper case without
// accents, spaces or apostrophes. It cannot know of omocodia (a code the
// Agenzia changed because two people would share it).
func Make(family, given, sex string, birth time.Time, place string) (Code, error) {
	if sex != "F" && sex != "M" {
		return "", fmt.Errorf("%w: sex %q, want F or M", ErrFormat, sex)
	}
	place = strings.ToUpper(place)
	if len(place) != 4 || !isLetter(place[0]) || strings.Trim(place[1:], "0123456789") != "" {
		return "", fmt.Errorf("%w: birthplace %q, want a letter and three digits", ErrFormat, place)
	}
	day := birth.Day()
	if sex == "F" {
		day += 40
	}
	first15 := nameLetters(family, false) + nameLetters(given, true) +
		fmt.Sprintf("%02d%c%02d", birth.Year()%100, monthLetters[birth.Month()-1], day) + place
	return complete(first15, birth.AddDate(1, 0, 0))
}

// nameLetters are the three letters a name contributes.
func nameLetters(name string, given bool) string {
	var cons, vow []byte
	for _, r := range strings.ToUpper(name) {
		switch r {
		case 'À', 'Á':
			r = 'A'
		case 'È', 'É':
			r = 'E'
		case 'Ì', 'Í':
			r = 'I'
		case 'Ò', 'Ó':
			r = 'O'
		case 'Ù', 'Ú':
			r = 'U'
		}
		if r < 'A' || r > 'Z' {
			continue
		}
		if strings.ContainsRune("AEIOU", r) {
			vow = append(vow, byte(r))
		} else {
			cons = append(cons, byte(r))
		}
	}
	if given && len(cons) >= 4 {
		return string([]byte{cons[0], cons[2], cons[3]})
	}
	s := string(cons) + string(vow) + "XXX"
	return s[:3]
}
