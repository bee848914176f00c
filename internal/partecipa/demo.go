package partecipa

import (
	"context"
	"fmt"

	"github.com/civico-pa/civico/internal/assurance"
)

// SeedDemo gives the demo town a few proposals, once: one with its place,
// one that reached its (demo) threshold of 3 supports and was answered,
// one discussed in a thread. Their authors are demo subjects, not people.
func (s *Store) SeedDemo(ctx context.Context) error {
	if _, total, err := s.Proposals(ctx, ProposalQuery{Limit: 1}); err != nil || total > 0 {
		return err
	}
	demo := *s
	demo.Threshold, demo.Limiter = 3, nil
	who := func(n int) *Viewer {
		return &Viewer{Subject: fmt.Sprintf("demo-resident-%d", n), Level: assurance.High, ResidentKnown: true, Resident: true, District: "Centro"}
	}
	var ids []string
	for i, in := range []ProposalInput{
		{Title: "Una fontanella al Parco Nord", Body: "D'estate al Parco Nord manca l'acqua: una fontanella vicino ai giochi dei bambini servirebbe a tutti.",
			Category: "verde", Address: "Via Cilea", Lat: "45.5701", Lon: "9.2079"},
		{Title: "Più rastrelliere per le biciclette in Piazza Gramsci", Body: "Chi arriva in bicicletta non sa dove lasciarla: le rastrelliere ci sono ma sono sempre piene.",
			Category: "mobilita", Address: "Piazza Gramsci"},
		{Title: "La biblioteca aperta la domenica mattina", Body: "Molti lavorano tutta la settimana: aprire la biblioteca la domenica mattina permetterebbe anche a loro di usarla.",
			Category: "cultura"},
	} {
		id, err := demo.CreateProposal(ctx, who(i+1), in, true)
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	for n := 1; n <= 3; n++ {
		if err := demo.Support(ctx, ids[1], who(10+n)); err != nil {
			return err
		}
	}
	if err := demo.Support(ctx, ids[0], who(20)); err != nil {
		return err
	}
	if err := demo.Decide(ctx, ids[1], Decision{Status: StatusProgress, Answer: "Le nuove rastrelliere, per 40 biciclette, saranno installate entro la primavera."}, "demo"); err != nil {
		return err
	}
	first, err := demo.AddComment(ctx, ids[2], "", who(30), "Sarebbe utile anche per gli studenti, che la domenica non hanno dove studiare.")
	if err != nil {
		return err
	}
	_, err = demo.AddComment(ctx, ids[2], first, who(31), "D'accordo: basterebbero le ore dalle 9 alle 13.")
	return err
}
