// Command volume gives a running civico a town's volume of applications, for bench/http.sh
// VOLUME=1: N copies of one submitted application (sportello.AddVolume), the first OWNED its
// owner's, the others spread over made-up accounts, in one transaction, then the planner's
// statistics. It reads the database as civico does (CIVICO_DATABASE_URL, CIVICO_DATA_DIR).
//
// Usage: volume -template ID [-n 100000] [-owned 200] [-per-resident 200]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/sportello"
)

func main() {
	template := flag.String("template", "", "id of a submitted application to copy")
	n := flag.Int("n", 100_000, "copies in all")
	owned := flag.Int("owned", 200, "copies of the template's owner")
	per := flag.Int("per-resident", 200, "copies of each made-up account")
	flag.Parse()
	if err := run(*template, *n, *owned, *per); err != nil {
		fmt.Fprintln(os.Stderr, "volume:", err)
		os.Exit(1)
	}
}

func run(template string, n, owned, per int) error {
	if template == "" {
		return fmt.Errorf("-template is required")
	}
	dataDir := os.Getenv("CIVICO_DATA_DIR")
	if dataDir == "" {
		dataDir = "data"
	}
	target, err := db.ParseURL(os.Getenv("CIVICO_DATABASE_URL"), dataDir)
	if err != nil {
		return err
	}
	ctx := context.Background()
	d, err := db.Open(ctx, target)
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	start := time.Now()
	added, err := (&sportello.Store{DB: d}).AddVolume(ctx, sportello.Volume{Template: template, N: n, Owned: owned, PerResident: per})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "volume: %d applications added in %s (%d of the template's owner)\n", added, time.Since(start).Round(time.Millisecond), min(owned, n))
	return nil
}
