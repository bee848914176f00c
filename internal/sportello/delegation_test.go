package sportello

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/attachments/attachmentstest"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/mail"
	"github.com/civico-pa/civico/internal/problem"
	tokens "github.com/civico-pa/civico/internal/token"
)

// cardResident is a resident whose card login proved their fiscal code.
func cardResident(t testing.TB, id, given, family string, birth time.Time) (*identity.Account, *identity.Session) {
	t.Helper()
	code, err := cf.Make(family, given, "M", birth, "F205")
	if err != nil {
		t.Fatal(err)
	}
	return &identity.Account{ID: id, GivenName: given, FamilyName: family, NameSource: identity.SourceCNS,
			FiscalCode: string(code), FiscalCodeSource: identity.SourceCNS},
		&identity.Session{Assurance: assurance.High}
}

// wrongCheck is code with another check character.
func wrongCheck(code string) string {
	if code[15] == 'A' {
		return code[:15] + "B"
	}
	return code[:15] + "A"
}

// upload is an operator's upload of a small PDF.
func upload(t testing.TB, f *Attachments, operator, name string) string {
	t.Helper()
	info, err := f.Put(context.Background(), operator, name, bytes.NewReader(attachmentstest.PDF(name)))
	if err != nil {
		t.Fatal(err)
	}
	return info.ID
}

// A delegation recorded by the desk lets the delegate, with a login that
// proves their fiscal code, start and submit an application for the
// holder, for the services it covers and no other; the application names
// the holder as applicant, the delegate as who acted, and the
// delegation. The delegate reaches it only while the delegation is in
// force: once revoked it is not in their list, not found, no step of
// theirs goes through and no mail reaches them; the holder sees it all
// along. Every change is audited.
func TestDelegationLetsTheDelegateActOnlyWithinIt(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestStore(t, d)
		files := newAttachments(t, d)
		s.Files = files
		const other = "altro-servizio"
		s.Services = func(context.Context) ([]Service, error) {
			return []Service{{ID: svc, Title: "Permesso di prova", MaxDays: 30, Assurance: assurance.High, Active: true},
				{ID: other, Title: "Altro", MaxDays: 30, Assurance: assurance.High, Active: true}}, nil
		}
		if _, err := s.Forms.Seed(ctx, other, testDef(), "test"); err != nil {
			t.Fatal(err)
		}
		delegateAcc, delegateSe := cardResident(t, "acc-delegate", "Luca", "Ferrari", time.Date(1978, 6, 15, 0, 0, 0, 0, time.UTC))
		// The delegate's account has a confirmed address: the steps are
		// mailed there while the delegation is in force.
		const mailbox = "luca.ferrari@example.org"
		if _, err := d.ExecContext(ctx, `INSERT INTO accounts (id, kind, email, email_verified_at, created_at, updated_at)
			VALUES ($1, 'resident', $2, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`, delegateAcc.ID, mailbox); err != nil {
			t.Fatal(err)
		}
		s.Notifier = &Notifier{Outbox: &mail.Outbox{DB: d}, Accounts: &identity.Store{DB: d}}
		mails := func() int {
			var n int
			if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM mail_outbox WHERE to_addr = $1`, mailbox).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		holderAcc, holderSe := cardResident(t, "acc-holder", "Giuseppe", "Ferrari", time.Date(1940, 2, 3, 0, 0, 0, 0, time.UTC))
		strangerAcc, strangerSe := cardResident(t, "acc-stranger", "Anna", "Colombo", time.Date(1982, 8, 22, 0, 0, 0, 0, time.UTC))
		today := Day(time.Now())
		until := time.Now().AddDate(1, 0, 0).Format(time.DateOnly)

		// What the desk must give: every error at once, nothing kept.
		good := NewDelegation{HolderFiscalCode: holderAcc.FiscalCode, HolderGivenName: "Giuseppe", HolderFamilyName: "Ferrari",
			DelegateFiscalCode: delegateAcc.FiscalCode, Basis: BasisWritten, Services: []string{svc}, ValidUntil: until,
			Form: upload(t, files, "op-1", "delega.pdf"), Document: upload(t, files, "op-1", "carta-identita.pdf"), Operator: "op-1", Remote: "test"}
		for name, c := range map[string]struct {
			edit func(*NewDelegation)
			want problem.Fields
		}{
			"the same person": {func(n *NewDelegation) { n.DelegateFiscalCode = n.HolderFiscalCode },
				problem.Fields{"delegate_fiscal_code": "sportello.error.delegate_self"}},
			"a wrong code and no name": {func(n *NewDelegation) { n.HolderFiscalCode, n.HolderGivenName = wrongCheck(n.HolderFiscalCode), " " },
				problem.Fields{"holder_fiscal_code": "sportello.error.cf_check", "holder_given_name": "sportello.error.required"}},
			"no service, another basis": {func(n *NewDelegation) { n.Services, n.Basis = nil, "verbal" },
				problem.Fields{"services": "sportello.error.services", "basis": "sportello.error.basis"}},
			"a service not in the catalogue": {func(n *NewDelegation) { n.Services = []string{svc, "inesistente"} },
				problem.Fields{"services": "sportello.error.services"}},
			"ended yesterday": {func(n *NewDelegation) { n.ValidUntil = time.Now().AddDate(0, 0, -2).Format(time.DateOnly) },
				problem.Fields{"valid_until": "sportello.error.delegation_past"}},
			"for four years": {func(n *NewDelegation) { n.ValidUntil = time.Now().AddDate(4, 0, 0).Format(time.DateOnly) },
				problem.Fields{"valid_until": "sportello.error.delegation_long"}},
			"without the documents": {func(n *NewDelegation) { n.Form, n.Document = "", "" },
				problem.Fields{"form": "sportello.error.delegation_file", "document": "sportello.error.delegation_file"}},
			"another operator's upload": {func(n *NewDelegation) { n.Operator = "op-2" },
				problem.Fields{"form": "sportello.error.delegation_file"}},
		} {
			n := good
			c.edit(&n)
			_, err := s.RecordDelegation(ctx, n)
			var fe problem.Fields
			if !errors.As(err, &fe) || len(fe) != len(c.want) {
				t.Fatalf("%s: %v (%#v), want %v", name, err, fe, c.want)
			}
			for k, v := range c.want {
				if fe[k] != v && !(name == "another operator's upload" && fe["document"] == v) {
					t.Errorf("%s: %s is %q, want %q", name, k, fe[k], v)
				}
			}
		}
		if list, total, err := s.Delegations(ctx, 1); err != nil || total != 0 || len(list) != 0 {
			t.Fatalf("refused delegations were kept: %d %v", total, err)
		}
		dg, err := s.RecordDelegation(ctx, good)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{dg.FormAttachment, dg.DocumentAttachment} {
			if _, err := files.Info(ctx, f, "op-1"); problem.KindOf(err) != problem.NotFound {
				t.Fatalf("the delegation's file is still the operator's upload: %v", err)
			}
			rc, _, err := files.OpenDelegation(ctx, dg.ID, f)
			if err != nil {
				t.Fatalf("the delegation's file: %v", err)
			}
			_ = rc.Close()
		}
		if in, err := s.DelegationsFor(ctx, delegateAcc.FiscalCode, svc); err != nil || len(in) != 1 || in[0].ID != dg.ID || !in[0].InForce(today) {
			t.Fatalf("the delegate's delegations for the service: %v %v", in, err)
		}
		if in, _ := s.DelegationsFor(ctx, delegateAcc.FiscalCode, other); len(in) != 0 {
			t.Fatalf("a delegation for a service it does not name: %v", in)
		}

		// Not for another service, not for someone else, not without a
		// proven fiscal code.
		if _, err := s.StartFor(ctx, other, delegateAcc, delegateSe, tokens.ID(), dg.ID, "test"); !errors.Is(err, ErrDelegation) {
			t.Fatalf("a service the delegation does not cover: %v", err)
		}
		if _, err := s.StartFor(ctx, svc, strangerAcc, strangerSe, tokens.ID(), dg.ID, "test"); !errors.Is(err, ErrDelegation) {
			t.Fatalf("someone else with the delegation's id: %v", err)
		}
		if _, err := s.StartFor(ctx, svc, delegateAcc, &identity.Session{Assurance: assurance.Low}, tokens.ID(), dg.ID, "test"); !errors.Is(err, ErrDelegation) {
			t.Fatalf("the delegate with a password login: %v", err)
		}

		// The delegate acts for the holder.
		a, err := s.StartFor(ctx, svc, delegateAcc, delegateSe, tokens.ID(), dg.ID, "test")
		if err != nil {
			t.Fatal(err)
		}
		if a.DelegationID != dg.ID || a.Acting == nil || a.Acting.FiscalCode != delegateAcc.FiscalCode || a.Acting.Name() != "Luca Ferrari" ||
			a.Applicant.FiscalCode.Value != holderAcc.FiscalCode || a.Applicant.Name() != "Giuseppe Ferrari" || a.FiscalCode != holderAcc.FiscalCode {
			t.Fatalf("the application made for the holder: %+v acting %+v", a.Applicant, a.Acting)
		}
		delegate, holder, stranger := OwnerOf(delegateAcc, delegateSe), OwnerOf(holderAcc, holderSe), OwnerOf(strangerAcc, strangerSe)
		// The holder's names stay the desk's whatever the delegate posts.
		if _, err := s.Save(ctx, a.ID, delegate, DraftEdit{Applicant: &Applicant{GivenName: Attribute{Value: "Pippo"}, FamilyName: Attribute{Value: "Ferrari"},
			Phone: Attribute{Value: "+39 333 1234567"}}, Answers: Answers{"tipo": {"a"}, "conferma": {"yes"}}, Fields: []string{"tipo", "conferma"}}, "test"); err != nil {
			t.Fatal(err)
		}
		sent, err := s.Submit(ctx, a.ID, delegate, "test")
		if err != nil || sent.Protocol == "" || sent.Applicant.GivenName.Value != "Giuseppe" || sent.Applicant.Phone.Value != "+39 333 1234567" {
			t.Fatalf("submitted for the holder: %+v %v", sent, err)
		}
		if _, err := s.Act(ctx, a.ID, nil, Step{Action: Take, Actor: Office, ActorID: "op-1"}); err != nil {
			t.Fatal(err)
		}
		if n := mails(); n != 2 { // registered, taken
			t.Fatalf("%d mails to the delegate while the delegation is in force, want 2", n)
		}
		mine := func(o Owner) []string {
			list, total, err := s.Mine(ctx, o, 1)
			if err != nil || total != len(list) {
				t.Fatalf("Mine: %d of %d, %v", len(list), total, err)
			}
			var ids []string
			for _, x := range list {
				ids = append(ids, x.ID)
			}
			return ids
		}
		for who, o := range map[string]Owner{"the delegate": delegate, "the holder": holder} {
			if !slices.Contains(mine(o), a.ID) {
				t.Fatalf("%s does not find the application in their list", who)
			}
			if _, err := s.Get(ctx, a.ID, o); err != nil {
				t.Fatalf("%s reading it: %v", who, err)
			}
		}
		if _, err := s.Get(ctx, a.ID, stranger); !errors.Is(err, ErrNotFound) || slices.Contains(mine(stranger), a.ID) {
			t.Fatalf("a stranger reading it: %v", err)
		}
		// The delegate's own application is theirs, delegation or not.
		own, err := s.Start(ctx, svc, delegateAcc, delegateSe, tokens.ID(), "test")
		if err != nil {
			t.Fatal(err)
		}

		// The download of one's data: the holder's has the application
		// made in their name, the delegate's does not.
		m := &Module{Store: s}
		for who, c := range map[string]struct {
			acc  *identity.Account
			want bool
		}{"the holder": {holderAcc, true}, "the delegate": {delegateAcc, false}} {
			out, err := m.export(ctx, c.acc)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := json.Marshal(out)
			if got := strings.Contains(string(raw), a.ID); got != c.want {
				t.Fatalf("%s's data download holds the application: %v, want %v", who, got, c.want)
			}
		}

		// Revoked: gone from the delegate, there for the holder.
		if err := s.RevokeDelegation(ctx, dg.ID, "op-1", " ", "test"); !errors.As(err, new(problem.Fields)) {
			t.Fatalf("revoked without a reason: %v", err)
		}
		if err := s.RevokeDelegation(ctx, dg.ID, "op-1", "Revocata dal delegante allo sportello", "test"); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeDelegation(ctx, dg.ID, "op-1", "di nuovo", "test"); problem.KindOf(err) != problem.Conflict {
			t.Fatalf("revoked twice: %v", err)
		}
		if err := s.RevokeDelegation(ctx, tokens.ID(), "op-1", "nessuna", "test"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("revoking a delegation that does not exist: %v", err)
		}
		if _, err := s.Get(ctx, a.ID, delegate); !errors.Is(err, ErrNotFound) {
			t.Fatalf("the revoked delegate reads it: %v", err)
		}
		if slices.Contains(mine(delegate), a.ID) {
			t.Fatal("the revoked delegate still lists it")
		}
		if n, list, err := s.Awaiting(ctx, delegate, 10); err != nil || n != 1 /* their own draft */ || slices.ContainsFunc(list, func(x Summary) bool { return x.ID == a.ID }) {
			t.Fatalf("the revoked delegate's desk: %d %v %v", n, list, err)
		}
		if _, err := s.Act(ctx, a.ID, &delegate, Step{Action: Message, Actor: Resident, ActorID: delegateAcc.ID, Note: "ancora io"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("the revoked delegate writes: %v", err)
		}
		if _, err := s.StartFor(ctx, svc, delegateAcc, delegateSe, tokens.ID(), dg.ID, "test"); !errors.Is(err, ErrDelegation) {
			t.Fatalf("a new application under the revoked delegation: %v", err)
		}
		if _, err := s.Get(ctx, a.ID, holder); err != nil || !slices.Contains(mine(holder), a.ID) {
			t.Fatalf("the holder after the revocation: %v", err)
		}
		if _, err := s.Act(ctx, a.ID, &holder, Step{Action: Message, Actor: Resident, ActorID: holderAcc.ID, Note: "Sono il titolare"}); err != nil {
			t.Fatalf("the holder writes: %v", err)
		}
		if _, err := s.Act(ctx, a.ID, nil, Step{Action: Message, Actor: Office, ActorID: "op-1", Note: "Ricevuto"}); err != nil {
			t.Fatal(err)
		}
		if n := mails(); n != 2 {
			t.Fatalf("%d mails to the delegate after the revocation, want still 2", n)
		}
		if _, err := s.Get(ctx, own.ID, delegate); err != nil {
			t.Fatalf("the delegate's own application after the revocation: %v", err)
		}

		// Audited: recorded, the draft started under it, revoked.
		var acts []string
		for _, subject := range []string{"delegation:" + dg.ID, "application:" + a.ID} {
			records, err := (&audit.Log{DB: d}).List(ctx, audit.ListFilter{Subject: subject, Limit: 50})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range records {
				acts = append(acts, r.Action)
				if r.Action == "sportello.draft.started" && r.Details["delegation"] != dg.ID {
					t.Errorf("the start's audit entry does not name the delegation: %v", r.Details)
				}
			}
		}
		for _, want := range []string{"sportello.delegation.recorded", "sportello.delegation.revoked", "sportello.draft.started", "sportello.application.submitted"} {
			if !slices.Contains(acts, want) {
				t.Errorf("audit lacks %s: %v", want, acts)
			}
		}
	})
}

// A delegation past its last day is as a revoked one for the delegate.
func TestExpiredDelegationReachesNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestStore(t, d)
		files := newAttachments(t, d)
		s.Files = files
		delegateAcc, delegateSe := cardResident(t, "acc-delegate", "Luca", "Ferrari", time.Date(1978, 6, 15, 0, 0, 0, 0, time.UTC))
		parent := OwnerOf(delegateAcc, delegateSe)
		child, err := cf.Make("Ferrari", "Sofia", "F", time.Date(2012, 9, 5, 0, 0, 0, 0, time.UTC), "C707")
		if err != nil {
			t.Fatal(err)
		}
		dg, err := s.RecordDelegation(ctx, NewDelegation{HolderFiscalCode: string(child), HolderGivenName: "Sofia", HolderFamilyName: "Ferrari",
			DelegateFiscalCode: parent.FiscalCode, Basis: BasisParent, Services: []string{svc}, ValidUntil: Day(time.Now().AddDate(0, 0, 1)),
			Form: upload(t, files, "op-1", "atto-nascita.pdf"), Document: upload(t, files, "op-1", "documento-minore.pdf"), Operator: "op-1"})
		if err != nil {
			t.Fatal(err)
		}
		a, err := s.StartFor(ctx, svc, delegateAcc, delegateSe, tokens.ID(), dg.ID, "test")
		if err != nil {
			t.Fatal(err)
		}
		// Two days later: past its last day.
		s.Now = func() time.Time { return time.Now().AddDate(0, 0, 2) }
		if _, err := s.Get(ctx, a.ID, parent); !errors.Is(err, ErrNotFound) {
			t.Fatalf("an expired delegation's application: %v", err)
		}
		if list, _, err := s.Mine(ctx, parent, 1); err != nil || len(list) != 0 {
			t.Fatalf("an expired delegation's list: %v %v", list, err)
		}
		if _, err := s.StartFor(ctx, svc, delegateAcc, delegateSe, tokens.ID(), dg.ID, "test"); !errors.Is(err, ErrDelegation) {
			t.Fatalf("a start under an expired delegation: %v", err)
		}
	})
}
