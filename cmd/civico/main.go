// Command civico serves a town's digital services: the portal and the
// Partecipa consultation platform, from one binary. Run it without
// arguments for help.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}
