package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/cards"
)

// cardsCmd runs `civico cards import|envelopes|key`.
func (c *cli) cardsCmd(args []string) error {
	if len(args) == 0 {
		return usagef("cards needs a command: import FILE.csv, envelopes FILE.csv, key [--rotate]")
	}
	cfg, err := loadConfig(c.env)
	if err != nil {
		return err
	}
	verb := args[0]
	fs := c.flags("cards " + verb)
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory (CIVICO_DATA_DIR)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "database URL (CIVICO_DATABASE_URL)")
	rotate := fs.Bool("rotate", false, "make a new key (key): envelopes sent to the former one still open")
	rest := args[1:]
	file := ""
	switch verb {
	case "import", "envelopes":
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return usagef("cards %s needs a CSV file", verb)
		}
		file, rest = rest[0], rest[1:]
	case "key":
	default:
		return usagef("unknown `civico cards %s`: expected import, envelopes or key", verb)
	}
	if err := parse(fs, rest); err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	d, err := c.open(ctx, cfg, newLogger(cfg, c.stderr), false)
	if err != nil {
		return err
	}
	defer d.Close()
	log := auditLog(d)
	svc := &cards.Service{DB: d, Registry: &cards.Registry{DB: d, Audit: log}, Audit: log}
	switch verb {
	case "import":
		return c.cardsImport(ctx, file, func(name string, data []byte) (int, error) {
			list, err := cards.ParseRegistry(name, data, time.Now())
			if err != nil {
				return 0, err
			}
			_, err = svc.Registry.Import(ctx, name, data, list, "cli", c.countBar(len(list), "importing cards"))
			return len(list), err
		}, "cards")
	case "envelopes":
		return c.cardsImport(ctx, file, func(name string, data []byte) (int, error) {
			list, err := svc.ParseEnvelopes(ctx, name, data)
			if err != nil {
				return 0, err
			}
			_, err = svc.ImportEnvelopes(ctx, name, data, list, "cli", c.countBar(len(list), "importing envelopes"))
			return len(list), err
		}, "envelopes")
	}
	box, err := cliSealer(cfg, cards.KeyPurpose)
	if err != nil {
		return err
	}
	svc.Keys = &cards.Keys{DB: d, Box: box}
	key, made, err := svc.Keys.Current(ctx, *rotate, log, "cli")
	if err != nil {
		return err
	}
	if made {
		fmt.Fprintf(c.stderr, "made a new key %s: send its recipient to the issuing service\n", key.ID)
	}
	fmt.Fprintln(c.stdout, key.Recipient)
	return nil
}

// cardsImport reads file and imports it; a refusal lists every wrong line
// with the file, the line, the column and the reason.
func (c *cli) cardsImport(_ context.Context, file string, imp func(name string, data []byte) (int, error), what string) error {
	data, err := os.ReadFile(file) // #nosec G304 G703 -- the file the operator named on the command line
	if err != nil {
		return usagef("%v", err)
	}
	if len(data) > cards.MaxFile {
		return fmt.Errorf("%s: larger than %d MiB", file, cards.MaxFile>>20)
	}
	n, err := imp(filepath.Base(file), data)
	var le cards.LineErrors
	switch {
	case errors.As(err, &le):
		msgs := cardsMessages()
		for _, e := range le {
			text, ok := msgs[e.Message]
			if !ok {
				text = e.Message
			}
			text = strings.ReplaceAll(text, "{{.First}}", fmt.Sprint(e.First))
			fmt.Fprintf(c.stderr, "%s, line %d, %s: %s\n", file, e.Line, e.Column, text)
		}
		return fmt.Errorf("%d wrong lines: nothing imported", len(le))
	case errors.Is(err, cards.ErrDuplicate):
		return errors.New("this file was imported before: nothing imported")
	case err != nil:
		return err
	}
	fmt.Fprintf(c.stdout, "imported %d %s from %s\n", n, what, file)
	return nil
}

// cardsMessages are the feature's English messages, for the command line.
func cardsMessages() map[string]string {
	var m map[string]string
	if b, err := cards.Messages.ReadFile("locales/en.json"); err == nil {
		_ = json.Unmarshal(b, &m)
	}
	return m
}
