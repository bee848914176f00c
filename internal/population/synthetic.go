package population

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/civico-pa/civico/internal/cf"
)

// Synthetic invents a register of about n residents in households, the
// same for the same n and seed: made-up names drawn from common Italian
// names, birth dates and places, citizenships, addresses on the districts
// given, fiscal codes computed from them (any likeness to a real person's
// code is chance). It fills the demo town and the benchmarks; it is never
// anyone's data.
func Synthetic(n int, seed uint64, districts []string) []Person {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed)) // #nosec G404 -- made-up demo residents, reproducible from the seed on purpose: no secret
	// ref is the register's day: fixed, so that the same seed gives the
	// same people whatever the day.
	ref := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	var out []Person
	pick := func(list []string) string { return list[rng.IntN(len(list))] }
	person := func(family, sex string, from, to int, household, relation, address, district string) (Person, bool) {
		if to <= from {
			return Person{}, false
		}
		given := pick(maleNames)
		if sex == "F" {
			given = pick(femaleNames)
		}
		born := time.Date(ref.Year()-from-rng.IntN(to-from), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
		place := birthPlaces[0]
		if r := rng.IntN(100); r < 10 {
			place = foreignPlaces[rng.IntN(len(foreignPlaces))]
		} else if r < 70 {
			place = birthPlaces[rng.IntN(len(birthPlaces))]
		}
		code, err := cf.Make(family, given, sex, born, place.code)
		if err != nil || seen[string(code)] {
			return Person{}, false
		}
		seen[string(code)] = true
		citizenship := place.citizenship
		if citizenship != "italiana" && rng.IntN(3) == 0 {
			citizenship = "italiana" // naturalised
		}
		return Person{FiscalCode: string(code), District: district, Sex: sex, BirthDate: born.Format("2006-01-02"),
			FamilyName: family, GivenName: given, BirthPlace: place.name, Citizenship: citizenship,
			Address: address, Household: household, Relation: relation}, true
	}
	for h := 1; len(out) < n; h++ {
		household := fmt.Sprintf("S%06d", h)
		district := pick(districts)
		address := fmt.Sprintf("%s %d", pick(streets), 1+rng.IntN(180))
		family := pick(familyNames)
		sex := pick([]string{"F", "M"})
		head, ok := person(family, sex, 22, 90, household, HeadOfHousehold, address, district)
		if !ok {
			continue
		}
		out = append(out, head)
		headAge := ref.Year() - atoiYear(head.BirthDate)
		if rng.IntN(100) < 60 {
			other := map[string]string{"F": "M", "M": "F"}[sex]
			if p, ok := person(pick(familyNames), other, max(20, headAge-8), headAge+6, household, "coniuge", address, district); ok {
				out = append(out, p)
			}
		}
		if headAge < 65 && rng.IntN(100) < 55 {
			for range 1 + rng.IntN(3) {
				csex := pick([]string{"F", "M"})
				relation := "figlio"
				if csex == "F" {
					relation = "figlia"
				}
				if p, ok := person(family, csex, max(0, headAge-42), headAge-20, household, relation, address, district); ok {
					out = append(out, p)
				}
			}
		}
	}
	return out[:n]
}

func atoiYear(date string) int {
	y := 0
	for _, c := range date[:4] {
		y = y*10 + int(c-'0')
	}
	return y
}

type place struct{ code, name, citizenship string }

// birthPlaces are Italian places (the first is the demo town), with their
// cadastral codes; foreignPlaces states, with their citizenship.
var birthPlaces = []place{
	{"C707", "Cinisello Balsamo (MI)", "italiana"}, {"F205", "Milano (MI)", "italiana"}, {"F704", "Monza (MB)", "italiana"},
	{"A794", "Bergamo (BG)", "italiana"}, {"B157", "Brescia (BS)", "italiana"}, {"L219", "Torino (TO)", "italiana"},
	{"H501", "Roma (RM)", "italiana"}, {"F839", "Napoli (NA)", "italiana"}, {"G273", "Palermo (PA)", "italiana"},
	{"A944", "Bologna (BO)", "italiana"}, {"D612", "Firenze (FI)", "italiana"}, {"A662", "Bari (BA)", "italiana"},
}

var foreignPlaces = []place{
	{"Z129", "Romania", "rumena"}, {"Z100", "Albania", "albanese"}, {"Z330", "Marocco", "marocchina"},
	{"Z210", "Cina", "cinese"}, {"Z216", "Filippine", "filippina"}, {"Z336", "Egitto", "egiziana"},
}

var (
	familyNames = []string{"Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco",
		"Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa", "Giordano", "Rizzo", "Lombardi", "Moretti",
		"Barbieri", "Fontana", "Santoro", "Mariani", "Rinaldi", "Caruso", "Ferrara", "Galli", "Martini", "Leone",
		"Longo", "Gentile", "Martinelli", "Vitale", "Lombardo", "Serra", "Coppola", "De Santis", "D'Angelo", "Marchetti"}
	maleNames = []string{"Marco", "Luca", "Giuseppe", "Francesco", "Alessandro", "Andrea", "Matteo", "Lorenzo", "Davide", "Simone",
		"Giovanni", "Antonio", "Roberto", "Stefano", "Paolo", "Giorgio", "Riccardo", "Tommaso", "Federico", "Pietro"}
	femaleNames = []string{"Giulia", "Francesca", "Sara", "Chiara", "Anna", "Martina", "Laura", "Valentina", "Elena", "Alessia",
		"Maria", "Paola", "Silvia", "Federica", "Elisa", "Sofia", "Aurora", "Giorgia", "Beatrice", "Alice"}
	streets = []string{"Via Roma", "Via Garibaldi", "Via Mazzini", "Via Verdi", "Via Manzoni", "Via Dante", "Viale Fulvio Testi",
		"Via Cavour", "Via XXV Aprile", "Via Risorgimento", "Piazza Gramsci", "Via Frova", "Via Libertà", "Via Monte Ortigara", "Via Sardegna"}
)
