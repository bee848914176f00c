package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/civico-pa/civico/internal/db"
)

// The hijack journeys: a stranger tries, in a browser, to have an account
// that a resident's card or address will later open, in both directions.
// They drive the demo's real card (Luca Ferrari's) through the NSS database
// and Chromium policy of card_test.go.

// Pre-account hijacking, first way: a stranger registers, through the
// whole mail flow, with the card holder's names, and tries to claim the
// holder's fiscal code: the forms have no field for it, and one added to
// them by hand is ignored. The stranger saves a phone number in their
// profile. An account registered before fiscal codes had to be proven may
// hold one typed into the old form, as a claim: the stranger's is made one
// of those, in the database. The holder then logs in with the card in
// another browser and lands in their own account: the personal area shows
// their name and proven fiscal code, not the stranger's address or phone;
// the claim is gone from the stranger's account.
func TestHijackByFiscalCode(t *testing.T) {
	requireE2E(t)
	d := startDemo(t)
	conn := d.openDB(t)
	const (
		strangerEmail    = "sconosciuto@example.invalid"
		strangerPassword = "Ombrello-Giallo-sul-tram-7"
		strangerPhone    = "+39 333 1234567"
	)
	given, family, _ := strings.Cut(demoCardName, " ")
	claim := field{"fiscal_code", demoCardFiscalCode}

	// The stranger registers with the holder's names, adding the holder's
	// fiscal code to every form on the way.
	stranger := newBrowser(t)
	link := requestRegistration(stranger, d, strangerEmail, claim)
	completeRegistration(stranger, link, given, family, strangerPassword, claim)
	wantNoFiscalCodeField(t, stranger, "the personal area")
	stranger.step("typing a phone number", chromedp.SendKeys(chromedp.CSS("#f-phone"), strangerPhone))
	stranger.forge(`main form[action="/profilo"]`, claim)
	clickAndLoad(stranger, "saving the profile", chromedp.CSS(`main form[action="/profilo"] button[type="submit"]`), 200)
	stranger.wantText(`main .alert-success[role="status"]`, "Dati salvati.")
	stranger.wantText("main dl", "Non verificato in questo accesso")
	strangerMe := readMe(stranger, d.Portal)
	if strangerMe.FiscalCode != "" || strangerMe.Sources["fiscal_code"] != "" || strangerMe.Email != strangerEmail {
		t.Fatalf("the stranger's /api/v1/me: %s", strangerMe.raw)
	}
	if code, src := fiscalCodeOf(t, conn, strangerEmail); code != "" {
		t.Fatalf("the stranger's account holds the fiscal code %s (source %q): a fiscal code a form sent was taken", code, src)
	}

	// An account from before the change: the fiscal code typed into the
	// old registration form, kept as the claim it is.
	res, err := conn.ExecContext(context.Background(), `UPDATE accounts SET fiscal_code = $1, fiscal_code_source = 'self' WHERE email = $2`,
		demoCardFiscalCode, strangerEmail)
	if err != nil {
		t.Fatalf("giving the stranger's account the claim of an old registration: %v", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("giving the stranger's account the claim of an old registration: %d rows (%v)", n, err)
	}

	// The holder logs in with the card, in a browser of their own.
	holder := cardBrowser(t, d, demoCardFile, demoCardFiscalCode)
	cardLogin(holder, d)
	holder.wantText(`header [data-element="personal-area-login"]`, demoCardName)
	holder.open(d.TLS+"/profilo", 200)
	holder.wantText("main .lead", "Ciao "+demoCardName+".")
	holder.wantText("main dl", demoCardFiscalCode)
	holder.wantText("main dl", "dalla carta")
	main := holder.text("main")
	for _, what := range []string{strangerEmail, "333 1234567"} {
		if strings.Contains(main, what) {
			t.Errorf("the card holder's personal area shows the stranger's %q", what)
		}
	}
	if phone := eval[string](holder, `document.getElementById("f-phone").value`); phone != "" {
		t.Errorf("the card holder's profile holds the phone number %q, which the stranger saved", phone)
	}
	holderMe := readMe(holder, d.TLS)
	if holderMe.ID == strangerMe.ID || holderMe.FiscalCode != demoCardFiscalCode || holderMe.Email != "" ||
		holderMe.Assurance != "high" || holderMe.Sources["fiscal_code"] != "cns" {
		t.Fatalf("the card holder's /api/v1/me: %s; the stranger's: %s", holderMe.raw, strangerMe.raw)
	}

	// The claim is gone; the stranger keeps their own account, no more.
	if code, src := fiscalCodeOf(t, conn, strangerEmail); code != "" {
		t.Errorf("after the holder's card login the stranger's account still holds %s (source %q)", code, src)
	}
	stranger.open(d.Portal+"/profilo", 200)
	stranger.wantText("main dl", strangerEmail)
	stranger.wantText("main dl", "Non verificato in questo accesso")
	if m := readMe(stranger, d.Portal); m.ID != strangerMe.ID || m.FiscalCode != "" || m.Sources["fiscal_code"] != "" {
		t.Errorf("the stranger's /api/v1/me after the holder's card login: %s", m.raw)
	}
}

// Pre-account hijacking, second way: a stranger asks to register the
// victim's address (the mail goes to the victim; nothing is created), logs
// in with their own card and tries to link the victim's account to it with
// a guessed password, before the victim registers and after: refused both
// times, with the message beside the field. The victim completes the
// registration from the mail and sees an account without any fiscal code
// (the personal area says none is verified in this login, and the data
// download holds none), which their password still opens.
func TestHijackByAddress(t *testing.T) {
	requireE2E(t)
	d := startDemo(t)
	conn := d.openDB(t)
	const (
		victimEmail    = "vittoria.neri@example.invalid"
		victimPassword = "Quarzo-Tram-Sesto-91"
	)

	// The stranger, whose card is Luca Ferrari's, asks for the victim's
	// address: the link goes to the victim, and nothing exists yet.
	stranger := cardBrowser(t, d, demoCardFile, demoCardFiscalCode)
	link := requestRegistration(stranger, d, victimEmail)
	if n := accountsWith(t, conn, victimEmail); n != 0 {
		t.Fatalf("%d accounts with %s before anyone followed the mail's link", n, victimEmail)
	}

	// With the card, the stranger's own account; linking the victim's
	// address with a guess is refused.
	cardLogin(stranger, d)
	stranger.open(d.TLS+"/profilo", 200)
	stranger.wantText("main .lead", "Ciao "+demoCardName+".")
	tryLink := func(when, guess string) {
		t.Helper()
		linkAccount(stranger, victimEmail, guess, 422)
		stranger.wantText(`main .alert-danger[role="alert"]`, "Alcuni campi non sono corretti")
		stranger.wantText("#f-link_email-error", "Email o password non corretti.")
		wantErrorBeside(t, stranger, "f-link_email", victimEmail)
		if v := eval[string](stranger, `document.getElementById("f-link_password").value`); v != "" {
			t.Errorf("%s: the refused password is still in its field", when)
		}
		if m := readMe(stranger, d.TLS); m.Email != "" || m.FiscalCode != demoCardFiscalCode {
			t.Fatalf("%s: the stranger's card session after the refusal: %s", when, m.raw)
		}
		stranger.open(d.TLS+"/profilo", 200)
	}
	tryLink("before the victim registered", "Vittoria-Neri-1990")

	// The victim follows the mail's link and registers.
	victim := newBrowser(t)
	completeRegistration(victim, link, "Vittoria", "Neri", victimPassword)
	if n := accountsWith(t, conn, victimEmail); n != 1 {
		t.Fatalf("%d accounts with %s after the victim registered, want 1", n, victimEmail)
	}

	// Now that the account exists, the same guess is refused the same way.
	tryLink("after the victim registered", "Vittoria-Neri-1991")

	// The victim's account carries no fiscal code.
	victim.open(d.Portal+"/profilo", 200)
	victim.wantText("main .lead", "Ciao Vittoria Neri.")
	victim.wantText("main dl", victimEmail)
	victim.wantText("main dl", "Non verificato in questo accesso")
	if strings.Contains(victim.text("main"), demoCardFiscalCode) {
		t.Errorf("the victim's personal area shows the stranger's fiscal code")
	}
	m := readMe(victim, d.Portal)
	if m.FiscalCode != "" || m.Sources["fiscal_code"] != "" || m.Email != victimEmail || m.Sources["email"] != "email_link" || m.GivenName != "Vittoria" {
		t.Errorf("the victim's /api/v1/me: %s", m.raw)
	}
	victim.open(d.Portal+"/profilo", 200)
	raw := evalAsync[string](victim, `fetch("/profilo/dati.json").then(r => r.ok ? r.text() : "status " + r.status)`)
	var export struct {
		Account struct {
			FiscalCode string            `json:"fiscal_code"`
			Email      string            `json:"email"`
			Sources    map[string]string `json:"sources"`
		} `json:"account"`
	}
	if err := json.Unmarshal([]byte(raw), &export); err != nil {
		t.Fatalf("/profilo/dati.json: %v\n%s", err, raw)
	}
	if a := export.Account; a.FiscalCode != "" || a.Sources["fiscal_code"] != "" || a.Email != victimEmail {
		t.Errorf("the victim's data download: %s", strings.Join(strings.Fields(raw), " "))
	}

	// The stranger's guesses did not lock the victim out.
	clickAndLoad(victim, "logging out", `//main//form[@action="/esci"]//button`, 200)
	passwordLogin(victim, d.Portal, victimEmail, victimPassword, 200)
	if m := readMe(victim, d.Portal); m.Email != victimEmail || m.FiscalCode != "" {
		t.Errorf("the victim's password login: %s", m.raw)
	}
}

// fiscalCodeOf is the fiscal code the account of email holds in the demo's
// database, and what it says proved it.
func fiscalCodeOf(t *testing.T, conn *db.DB, email string) (code, source string) {
	t.Helper()
	err := conn.QueryRowContext(context.Background(), `SELECT COALESCE(fiscal_code, ''), fiscal_code_source FROM accounts WHERE email = $1`,
		email).Scan(&code, &source)
	if errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("no account with %s in the demo's database", email)
	}
	if err != nil {
		t.Fatalf("reading the account of %s: %v", email, err)
	}
	return code, source
}

// accountsWith counts the accounts of email in the demo's database.
func accountsWith(t *testing.T, conn *db.DB, email string) int {
	t.Helper()
	var n int
	if err := conn.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM accounts WHERE email = $1`, email).Scan(&n); err != nil {
		t.Fatalf("counting the accounts of %s: %v", email, err)
	}
	return n
}
