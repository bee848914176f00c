package sportello

import (
	"context"
	"embed"
	"fmt"
	"path"
	"sort"
	"strings"
)

// The demo town's online forms: six services residents request often,
// each a realistic form (demo/<service>.json), published as version 1.
//
//go:embed demo/*.json
var demoFS embed.FS

// DemoForm is a demo service's form.
type DemoForm struct {
	ServiceID string
	Def       *Definition
}

// Demo reads the demo forms, sorted by service.
func Demo() ([]DemoForm, error) {
	names, err := demoFS.ReadDir("demo")
	if err != nil {
		return nil, err
	}
	var out []DemoForm
	for _, n := range names {
		b, err := demoFS.ReadFile(path.Join("demo", n.Name()))
		if err != nil {
			return nil, err
		}
		def, err := ParseDefinition(b)
		if err != nil {
			return nil, fmt.Errorf("demo form %s: %w", n.Name(), err)
		}
		out = append(out, DemoForm{ServiceID: strings.TrimSuffix(n.Name(), ".json"), Def: def})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ServiceID < out[j].ServiceID })
	return out, nil
}

// SeedDemo publishes the demo forms of the services that have none.
func (s *Forms) SeedDemo(ctx context.Context) (int, error) {
	forms, err := Demo()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range forms {
		done, err := s.Seed(ctx, f.ServiceID, f.Def, "demo")
		if err != nil {
			return n, err
		}
		if done {
			n++
		}
	}
	return n, nil
}
