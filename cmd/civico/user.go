package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/town"
)

// user manages back-office accounts from the server's command line: the
// first administrator has to come from somewhere.
func (c *cli) user(args []string) error {
	if len(args) == 0 {
		return usagef("expected `civico user add-operator|grant|revoke|list`")
	}
	verb, args := args[0], args[1:]
	cfg, err := loadConfig(c.env)
	if err != nil {
		return err
	}
	fs := c.flags("user " + verb)
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory (CIVICO_DATA_DIR)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "database URL (CIVICO_DATABASE_URL)")
	email := fs.String("email", "", "the operator's email address")
	var roles stringList
	switch verb {
	case "add-operator":
		fs.Var(&roles, "role", "a role: "+strings.Join(identity.Roles, ", ")+" (repeatable)")
	case "grant", "revoke":
		fs.Var(&roles, "role", "the role")
	case "list":
	default:
		return usagef("unknown `civico user %s`; expected add-operator, grant, revoke or list", verb)
	}
	fiscal := fs.String("fiscal-code", "", "the operator's codice fiscale, to log in with the smart card (add-operator)")
	given := fs.String("given-name", "", "given name (add-operator)")
	family := fs.String("family-name", "", "family name (add-operator)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if verb != "list" && *email == "" {
		return usagef("--email is required")
	}
	if verb != "list" && len(roles) == 0 {
		return usagef("--role is required (one of %s)", strings.Join(identity.Roles, ", "))
	}
	for _, r := range roles {
		if !identity.ValidRole(r) {
			return usagef("--role %q: expected one of %s", r, strings.Join(identity.Roles, ", "))
		}
	}
	ctx := context.Background()
	log := newLogger(cfg, c.stderr)
	d, err := c.open(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer d.Close()
	svc := newIdentityService(cfg, d, town.NewStore(d, cfg.Caches.Town), nil)

	switch verb {
	case "add-operator":
		password := identity.GeneratePassword()
		a, err := svc.CreateOperator(ctx, identity.NewOperator{Email: *email, FiscalCode: *fiscal, GivenName: *given, FamilyName: *family, Roles: roles,
			ChangePassword: true}, password, "cli")
		var fe identity.FieldErrors
		switch {
		case errors.As(err, &fe):
			for field := range fe {
				return usagef("--%s is not valid", strings.ReplaceAll(field, "_", "-"))
			}
		case errors.Is(err, identity.ErrEmailTaken):
			return usagef("--email %s: an account with this address exists", *email)
		case errors.Is(err, identity.ErrFiscalTaken):
			return usagef("--fiscal-code %s: an account with this fiscal code exists", *fiscal)
		case err != nil:
			return err
		}
		fmt.Fprintf(c.stdout, "operator %s created with roles %s\ninitial password (shown once): %s\n", a.Email, strings.Join(a.Roles, ", "), password)
		fmt.Fprintln(c.stdout, "At the first password login the operator sets up an authenticator app (TOTP) and chooses their own password.")
		return nil
	case "grant", "revoke":
		a, err := svc.Store.ByEmail(ctx, *email)
		if errors.Is(err, identity.ErrNotFound) {
			return usagef("--email %s: no such operator", *email)
		}
		if err != nil {
			return err
		}
		for _, r := range roles {
			if err := svc.SetRole(ctx, a.ID, r, verb == "grant", "cli"); err != nil {
				if errors.Is(err, identity.ErrNotFound) {
					return usagef("--email %s is not an operator", *email)
				}
				return err
			}
		}
		fmt.Fprintf(c.stdout, "%s: %s %s\n", a.Email, verb, strings.Join(roles, ", "))
		return nil
	default:
		ops, err := svc.Store.Operators(ctx)
		if err != nil {
			return err
		}
		for _, a := range ops {
			second := "totp"
			if a.TOTPSecret == "" {
				second = "totp not set up"
			}
			if a.PasswordChange {
				second += ", password to change"
			}
			fmt.Fprintf(c.stdout, "%s\t%s\t%s\n", a.Email, strings.Join(a.Roles, ","), second)
		}
		return nil
	}
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
