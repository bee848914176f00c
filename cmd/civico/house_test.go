package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/jobs"
	"github.com/civico-pa/civico/internal/oidcop"
	"github.com/civico-pa/civico/internal/web"
)

var update = flag.Bool("update", false, "rewrite docs/ROUTES.md from the applications' route maps")

// Every package with tables, templates or translations is in civico's one
// list of features, with each of them: a package whose registration line is
// removed fails here (and its routes leave the route map below).
func TestEveryFeatureIsInTheList(t *testing.T) {
	features := newCivico(testConfig(t), oidcop.Secret{}, nil).features
	byName := map[string]int{}
	for i, f := range features {
		if _, twice := byName[f.Name]; twice {
			t.Errorf("feature %s is in the list twice", f.Name)
		}
		byName[f.Name] = i
	}
	dirs, err := filepath.Glob("../../internal/*")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, dir := range dirs {
		pkg := filepath.Base(dir)
		if pkg == "web" {
			continue // the shell: its layout and messages are every application's
		}
		for _, part := range []string{"migrations", "templates", "locales"} {
			if info, err := os.Stat(filepath.Join(dir, part)); err != nil || !info.IsDir() {
				continue
			}
			checked++
			i, ok := byName[pkg]
			if !ok {
				t.Errorf("internal/%s has %s but is not in civico's list of features (cmd/civico/features.go)", pkg, part)
				continue
			}
			f := features[i]
			if part == "migrations" && f.Migrations == nil || part == "locales" && f.Messages == nil ||
				part == "templates" && f.Portal == nil && f.Partecipa == nil {
				t.Errorf("feature %s does not carry its %s", pkg, part)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d folders checked: the test looks in the wrong place", checked)
	}
	// The binary's schema is the source tree's, migration for migration.
	want, err := dbtest.Schema(t).Migrations(db.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	got, err := schema().Migrations(db.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	names := func(ms []db.Migration) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Owner+"/"+m.Name)
		}
		return out
	}
	if !slices.Equal(names(got), names(want)) {
		t.Errorf("the binary migrates\n%v\nthe source tree holds\n%v", names(got), names(want))
	}
}

// docs/ROUTES.md is each application's route map as the code builds it:
// every route, the feature that serves it and who may open it. Regenerate
// with: go test ./cmd/civico -run TestRouteMap -update
func TestRouteMap(t *testing.T) {
	a := newApps(t, dbtest.SQLite(t)) // the route map is built in the process, whatever the database
	var b bytes.Buffer
	b.WriteString("# Route map\n\nGenerated from the code by `go test ./cmd/civico -run TestRouteMap -update`; a test fails when it is out of date.\n")
	b.WriteString("Access: `anyone`, or the least level of assurance (`low`, `substantial`, `high`) and the operator roles that open the route.\n")
	for _, app := range []struct {
		name string
		a    *web.App
	}{{"Portal", a.portal}, {"Partecipa", a.partecipa}} {
		fmt.Fprintf(&b, "\n## %s\n\n| route | feature | access |\n| --- | --- | --- |\n", app.name)
		for _, r := range app.a.RouteMap() {
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", r.Pattern, r.Feature, r.Access())
		}
	}
	path := "../../docs/ROUTES.md"
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: generate it with go test ./cmd/civico -run TestRouteMap -update", err)
	}
	if !bytes.Equal(got, b.Bytes()) {
		t.Errorf("docs/ROUTES.md is out of date: regenerate it with go test ./cmd/civico -run TestRouteMap -update")
	}
	if n := strings.Count(b.String(), "| `"); n < 80 {
		t.Errorf("only %d routes in the map", n)
	}
}

// No package reads or writes another's tables: a feature that needs
// another's data goes through its Go API. A table belongs to the package
// whose migration creates it.
func TestNoPackageTouchesAnothersTables(t *testing.T) {
	owner := map[string]string{}
	create := regexp.MustCompile(`CREATE (?:VIRTUAL )?TABLE (?:IF NOT EXISTS )?(\w+)`)
	migrations, _ := filepath.Glob("../../internal/*/migrations/*.sql")
	for _, f := range migrations {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range create.FindAllStringSubmatch(string(b), -1) {
			owner[m[1]] = filepath.Base(filepath.Dir(filepath.Dir(f)))
		}
	}
	// Two tables were created, before migrations lived with their
	// packages, by another package's migration.
	owner["page_feedback"], owner["registry_residents"] = "feedback", "population"
	// river's tables are built by river's migrator, as package jobs's
	// migration steps.
	for _, table := range jobs.Tables {
		owner[table] = "jobs"
	}
	if len(owner) < 20 {
		t.Fatalf("only %d tables found", len(owner))
	}
	sources, _ := filepath.Glob("../../internal/*/*.go")
	cmds, _ := filepath.Glob("*.go")
	for _, f := range append(sources, cmds...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		pkg := filepath.Base(filepath.Dir(f))
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for table, o := range owner {
			if o == pkg {
				continue
			}
			if regexp.MustCompile(`(?i)\b(FROM|JOIN|INTO|UPDATE|TABLE)\s+` + table + `\b`).Match(b) {
				t.Errorf("%s reads or writes %s, a table of package %s: go through that package", f, table, o)
			}
		}
	}
}

// A feature never asks which database it runs on: what differs between
// the engines lives in package db (locks, FOR UPDATE, full-text search,
// migrations' types).
func TestDialectsStayInsideDB(t *testing.T) {
	files, _ := filepath.Glob("../../internal/*/*.go")
	cmds, _ := filepath.Glob("*.go")
	for _, f := range append(files, cmds...) {
		dir := filepath.Base(filepath.Dir(f))
		if strings.HasSuffix(f, "_test.go") || dir == "db" || dir == "dbtest" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(".Dialect")) || bytes.Contains(b, []byte("pg_advisory")) {
			t.Errorf("%s asks which database it runs on: move the difference into package db", f)
		}
	}
}
