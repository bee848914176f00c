package schools

import (
	"context"
	"fmt"
	"time"
)

// SeedDemo adds the demo town's services of the coming school year when
// there is none: the canteen of three schools, pre- and post-school, the
// school bus on two routes and four weeks of summer camp, every window
// open from a day before now for sixty days (the demo's parents can enrol
// at once).
func (s *Store) SeedDemo(ctx context.Context, now time.Time) error {
	var n int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM schools_services`).Scan(&n); err != nil || n > 0 {
		return err
	}
	by := Actor{Name: "demo"}
	opens, closes := now.Add(-24*time.Hour).In(rome).Format(formTime), now.Add(60*24*time.Hour).In(rome).Format(formTime)
	year := now.In(rome).Year()
	if now.In(rome).Month() < time.September {
		year--
	}
	schoolYear := func(y int) string { return fmt.Sprintf("%d/%d", y, y+1) }
	next := schoolYear(year + 1)
	primary := []string{"P1", "P2", "P3", "P4", "P5"}
	// Tariffs after the acts the reference collects (Manfredonia's
	// canteen per meal, Poggibonsi's transport per year).
	services := []struct {
		in    ServiceInput
		units []UnitInput
	}{
		{ServiceInput{SchoolYear: next, Kind: string(Canteen), Title: "Refezione scolastica", TariffUnit: "meal",
			Description: "Il pranzo nelle scuole dell'infanzia e primarie comunali, con diete per motivi di salute (con certificato medico) o religiosi.",
			Classes:     append([]string{"I1", "I2", "I3"}, primary...), Bands: "6000: 2,00\n9360: 3,50\n15000: 4,00\noltre: 4,50"},
			[]UnitInput{{Label: "Primaria Garibaldi", Capacity: "120"}, {Label: "Primaria Costa", Capacity: "90"}, {Label: "Infanzia Sant'Eusebio", Capacity: "60"}}},
		{ServiceInput{SchoolYear: next, Kind: string(PreSchool), Title: "Pre scuola", TariffUnit: "month", Classes: primary,
			Description: "Accoglienza dalle 7:30 all'inizio delle lezioni.", Bands: "8000: 15,00\n18000: 25,00\noltre: 35,00"},
			[]UnitInput{{Label: "Primaria Garibaldi", Capacity: "30"}, {Label: "Primaria Costa", Capacity: "25"}}},
		{ServiceInput{SchoolYear: next, Kind: string(PostSchool), Title: "Post scuola", TariffUnit: "month", Classes: primary,
			Description: "Dalla fine delle lezioni alle 18:00, con merenda.", Bands: "8000: 25,00\n18000: 40,00\noltre: 55,00"},
			[]UnitInput{{Label: "Primaria Garibaldi", Capacity: "40"}, {Label: "Primaria Costa", Capacity: "30"}}},
		{ServiceInput{SchoolYear: next, Kind: string(Bus), Title: "Trasporto scolastico", TariffUnit: "year", ResidentsOnly: true,
			Classes: append(primary, "S1", "S2", "S3"), Bands: "8000: 120,00\n18000: 130,00\n28000: 160,00\noltre: 200,00",
			Description: "Andata e ritorno tra le fermate e le scuole della linea."},
			[]UnitInput{{Label: "Linea A – Crocetta", Capacity: "45", Stops: "Piazza Gramsci\nVia Frova\nVia Monte Ortigara\nPrimaria Garibaldi"},
				{Label: "Linea B – Sant'Eusebio", Capacity: "45", Stops: "Via Sardegna\nPiazza Costa\nPrimaria Costa"}}},
		{ServiceInput{SchoolYear: schoolYear(year), Kind: string(Camp), Title: "Centro estivo", TariffUnit: "week", Classes: primary,
			Description: "Giochi, laboratori e gite, dalle 8:00 alle 17:00, pranzo compreso.", Bands: "8000: 40,00\n18000: 60,00\noltre: 80,00"},
			[]UnitInput{{Label: "1ª settimana di luglio", Capacity: "50"}, {Label: "2ª settimana di luglio", Capacity: "50"},
				{Label: "3ª settimana di luglio", Capacity: "50"}, {Label: "4ª settimana di luglio", Capacity: "50"}}},
	}
	for _, x := range services {
		x.in.Opens, x.in.Closes = opens, closes
		id, err := s.PutService(ctx, "", x.in, by)
		if err != nil {
			return err
		}
		for _, u := range x.units {
			if _, err := s.AddUnit(ctx, id, u, by); err != nil {
				return err
			}
		}
	}
	return nil
}
