package cards

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/attachments"
	"github.com/civico-pa/civico/internal/attachments/attachmentstest"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/sealed"
)

const (
	luca  = "FRRLCU78H15C707K"
	elena = "MRCLNE81C62F205E"
)

func registryFile(lines ...string) []byte {
	return []byte("seriale;codice_fiscale;data_emissione;data_scadenza;stato\n" + strings.Join(lines, "\n") + "\n")
}

func TestParseRegistry(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	good := registryFile("6120016461039008;"+luca+";2024-01-10;2030-01-10;ATTIVA", "6120016461039009;"+strings.ToLower(elena)+";2023-05-02;2029-05-02;revocata")
	list, err := ParseRegistry("carte.csv", good, now)
	if err != nil || len(list) != 2 || list[1].FiscalCode != elena || list[1].Status != Revoked {
		t.Fatalf("ParseRegistry = %+v, %v", list, err)
	}
	cases := []struct {
		name string
		data []byte
		want LineError
	}{
		{"bad header", []byte("serial;cf\n1;2\n"), LineError{File: "carte.csv", Line: 1, Column: "header", Message: "cards.error.header"}},
		{"no lines", registryFile()[:58], LineError{File: "carte.csv", Line: 2, Column: "file", Message: "cards.error.empty"}},
		{"bad serial", registryFile("6120016461039008;"+luca+";2024-01-10;2030-01-10;ATTIVA", "61A;"+luca+";2024-01-10;2030-01-10;ATTIVA"),
			LineError{File: "carte.csv", Line: 3, Column: "seriale", Message: "cards.error.serial"}},
		{"serial twice", registryFile("6120016461039008;"+luca+";2024-01-10;2030-01-10;ATTIVA", "6120016461039008;"+elena+";2024-01-10;2030-01-10;ATTIVA"),
			LineError{File: "carte.csv", Line: 3, Column: "seriale", Message: "cards.error.serial_twice", First: 2}},
		{"bad fiscal code", registryFile("6120016461039008;FRRLCU78H15C707A;2024-01-10;2030-01-10;ATTIVA"),
			LineError{File: "carte.csv", Line: 2, Column: "codice_fiscale", Message: "cards.error.fiscal_code"}},
		{"bad date", registryFile("6120016461039008;" + luca + ";10/01/2024;2030-01-10;ATTIVA"),
			LineError{File: "carte.csv", Line: 2, Column: "data_emissione", Message: "cards.error.date"}},
		{"issued tomorrow", registryFile("6120016461039008;" + luca + ";2026-12-04;2030-01-10;ATTIVA"),
			LineError{File: "carte.csv", Line: 2, Column: "data_emissione", Message: "cards.error.issued_future"}},
		{"expires before issue", registryFile("6120016461039008;" + luca + ";2024-01-10;2023-01-10;ATTIVA"),
			LineError{File: "carte.csv", Line: 2, Column: "data_scadenza", Message: "cards.error.expiry_order"}},
		{"bad status", registryFile("6120016461039008;" + luca + ";2024-01-10;2030-01-10;BLOCCATA"),
			LineError{File: "carte.csv", Line: 2, Column: "stato", Message: "cards.error.status"}},
		{"columns", registryFile("6120016461039008;" + luca + ";2024-01-10;2030-01-10"),
			LineError{File: "carte.csv", Line: 2, Column: "line", Message: "cards.error.columns"}},
		{"not utf-8", append(registryFile("6120016461039008;"+luca+";2024-01-10;2030-01-10;ATTIVA"), 0xff),
			LineError{File: "carte.csv", Line: 1, Column: "file", Message: "cards.error.encoding"}},
	}
	for _, tt := range cases {
		list, err := ParseRegistry("carte.csv", tt.data, now)
		var le LineErrors
		if !errors.As(err, &le) || len(le) == 0 || le[0] != tt.want || list != nil {
			t.Errorf("%s: %+v, %v; want %+v", tt.name, list, err, tt.want)
		}
	}
}

// site is the cards' service on a database, with a key and a registry.
type site struct {
	d   *db.DB
	svc *Service
	log *audit.Log
	key *Key
}

func newSite(t testing.TB, d *db.DB, lines ...string) *site {
	t.Helper()
	ctx := context.Background()
	box, err := sealed.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	log := &audit.Log{DB: d}
	s := &site{d: d, log: log, svc: &Service{DB: d, Registry: &Registry{DB: d, Audit: log}, Keys: &Keys{DB: d, Box: box}, Audit: log,
		Attachments: attachments.NewStore(d, t.TempDir(), nil), Place: "URP, Piazza Gramsci 1"}}
	if s.key, _, err = s.svc.Keys.Current(ctx, false, log, "cli"); err != nil {
		t.Fatal(err)
	}
	if len(lines) > 0 {
		data := registryFile(lines...)
		list, err := ParseRegistry("carte.csv", data, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.svc.Registry.Import(ctx, "carte.csv", data, list, "cli", nil); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// envelopes imports one envelope per secret, returning their ids.
func (s *site) envelopes(t testing.TB, recipient string, secrets ...Secret) []string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	b.WriteString("seriale;busta\n")
	for _, sec := range secrets {
		c, err := Seal(sec, recipient)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s;%s\n", sec.Serial, base64.StdEncoding.EncodeToString(c))
	}
	list, err := s.svc.ParseEnvelopes(ctx, "buste.csv", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.ImportEnvelopes(ctx, "buste.csv", []byte(b.String()), list, "cli", nil); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, sec := range secrets {
		var id string
		if err := s.d.QueryRowContext(ctx, `SELECT id FROM card_envelopes WHERE serial = $1 AND status = 'pending' ORDER BY imported_at DESC LIMIT 1`, sec.Serial).Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func holderDelivery(id string) Delivery {
	return Delivery{EnvelopeID: id, Collector: Holder, DocType: "cie", DocNumber: "CA12345AB", DocExpiry: time.Now().AddDate(2, 0, 0).Format(time.DateOnly),
		DocIssuer: "Comune di Cinisello Balsamo", Receipt: Attestation, Attested: true, OperatorID: "op1", OperatorName: "Paola Urp"}
}

func (s *site) envelopeState(t *testing.T, id string) (string, bool) {
	t.Helper()
	var status string
	var cipher *string
	if err := s.d.QueryRowContext(context.Background(), `SELECT status, ciphertext FROM card_envelopes WHERE id = $1`, id).Scan(&status, &cipher); err != nil {
		t.Fatal(err)
	}
	return status, cipher != nil
}

func (s *site) actions(t *testing.T, action string) int {
	t.Helper()
	list, err := s.log.List(context.Background(), audit.ListFilter{Action: action, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

func TestRegistryImport(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newSite(t, d, "6120016461039008;"+luca+";2024-01-10;2030-01-10;ATTIVA", "6120016461039009;"+elena+";2023-05-02;2029-05-02;ATTIVA")
		if c, err := s.svc.Registry.Card(ctx, "6120016461039009"); err != nil || c.Status != Active || c.FiscalCode != elena {
			t.Fatalf("card = %+v, %v", c, err)
		}
		// The same file again is refused; a later file changes a state.
		data := registryFile("6120016461039008;"+luca+";2024-01-10;2030-01-10;ATTIVA", "6120016461039009;"+elena+";2023-05-02;2029-05-02;ATTIVA")
		list, _ := ParseRegistry("carte.csv", data, time.Now())
		if _, err := s.svc.Registry.Import(ctx, "carte.csv", data, list, "cli", nil); !errors.Is(err, ErrDuplicate) {
			t.Errorf("a file imported twice: %v", err)
		}
		data = registryFile("6120016461039009;" + elena + ";2023-05-02;2029-05-02;REVOCATA")
		list, _ = ParseRegistry("revoche.csv", data, time.Now())
		done := 0
		if _, err := s.svc.Registry.Import(ctx, "revoche.csv", data, list, "cli", func(n int) { done = n }); err != nil || done != 1 {
			t.Fatal(err, done)
		}
		if c, _ := s.svc.Registry.Card(ctx, "6120016461039009"); c.Status != Revoked {
			t.Errorf("after the revocation file: %s", c.Status)
		}
		if mine, _ := s.svc.Registry.Of(ctx, luca); len(mine) != 1 || mine[0].Serial != "6120016461039008" {
			t.Errorf("Luca's cards: %+v", mine)
		}
		if n := s.actions(t, "cards.registry.imported"); n != 2 {
			t.Errorf("%d imports in the audit log, want 2", n)
		}
	})
}

func TestDeliveryDecryptsPrintsAndDestroysOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newSite(t, d, "6120016461039008;"+luca+";2024-01-10;2030-01-10;ATTIVA")
		ids := s.envelopes(t, s.key.Recipient, Secret{Ref: "B-0001", Serial: "6120016461039008", FiscalCode: luca, PIN: "48213", PUK: "90817263"})

		// Wrong fields: each named, nothing changed.
		bad := holderDelivery(ids[0])
		bad.DocExpiry, bad.DocNumber, bad.Attested = "2001-01-01", "x", false
		_, _, err := s.svc.Deliver(ctx, bad)
		var fe problem.Fields
		if !errors.As(err, &fe) || fe["doc_expiry"] != "cards.error.doc_expired" || fe["doc_number"] == "" || fe["attested"] == "" {
			t.Fatalf("wrong fields: %v", err)
		}
		delegate := holderDelivery(ids[0])
		delegate.Collector, delegate.DelegateName, delegate.DelegateFiscalCode = Delegate, "Elena Marchetti", elena
		if _, _, err := s.svc.Deliver(ctx, delegate); !errors.As(err, &fe) || fe["delegation"] != "cards.error.delegation" {
			t.Fatalf("a delegate without the delegation: %v", err)
		}
		if st, has := s.envelopeState(t, ids[0]); st != "pending" || !has {
			t.Fatalf("after refusals: %s, ciphertext %v", st, has)
		}

		// Eight operators at once: exactly one delivery.
		var wg sync.WaitGroup
		var mu sync.Mutex
		var letters [][]byte
		var others []error
		start := make(chan struct{})
		for range 8 {
			wg.Go(func() {
				<-start
				_, letter, err := s.svc.Deliver(ctx, holderDelivery(ids[0]))
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					letters = append(letters, letter)
				} else {
					others = append(others, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if len(letters) != 1 || !bytes.HasPrefix(letters[0], []byte("%PDF-")) {
			t.Fatalf("%d letters from 8 deliveries at once (%v)", len(letters), others)
		}
		for _, err := range others {
			if !errors.Is(err, ErrNotPending) {
				t.Errorf("a second delivery: %v, want ErrNotPending", err)
			}
		}
		if st, has := s.envelopeState(t, ids[0]); st != "delivered" || has {
			t.Errorf("after the delivery: %s, ciphertext kept %v", st, has)
		}
		var n int
		d.QueryRowContext(ctx, `SELECT COUNT(*) FROM card_deliveries WHERE envelope_id = $1`, ids[0]).Scan(&n)
		if n != 1 {
			t.Errorf("%d deliveries recorded", n)
		}
		for _, a := range []string{"cards.pin.identified", "cards.pin.decrypted", "cards.pin.destroyed", "cards.pin.delivered"} {
			if got := s.actions(t, a); got != 1 {
				t.Errorf("%d %s in the audit log, want 1", got, a)
			}
		}
		if _, err := s.log.Verify(ctx); err != nil {
			t.Errorf("the audit chain: %v", err)
		}
		mine, err := s.svc.Mine(ctx, luca, 10)
		if err != nil || len(mine) != 1 || mine[0].Place != "URP, Piazza Gramsci 1" || mine[0].DocNumber != "CA12345AB" {
			t.Errorf("Luca's deliveries: %+v, %v", mine, err)
		}
		if other, _ := s.svc.Mine(ctx, elena, 10); len(other) != 0 {
			t.Errorf("Elena sees Luca's delivery: %+v", other)
		}
	})
}

func TestTamperedSwappedAndReplayedEnvelopesAreRefused(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newSite(t, d, "6120016461039008;"+luca+";2024-01-10;2030-01-10;ATTIVA", "6120016461039009;"+elena+";2023-05-02;2029-05-02;ATTIVA",
			"6120016461039010;"+elena+";2023-05-02;2029-05-02;SOSPESA")
		lucaSecret := Secret{Ref: "B-0001", Serial: "6120016461039008", FiscalCode: luca, PIN: "48213", PUK: "90817263"}
		ids := s.envelopes(t, s.key.Recipient, lucaSecret)

		// Tampered: one byte of the ciphertext changed.
		var enc string
		d.QueryRowContext(ctx, `SELECT ciphertext FROM card_envelopes WHERE id = $1`, ids[0]).Scan(&enc)
		raw, _ := base64.StdEncoding.DecodeString(enc)
		raw[len(raw)-3] ^= 1
		if _, err := d.ExecContext(ctx, `UPDATE card_envelopes SET ciphertext = $1 WHERE id = $2`, base64.StdEncoding.EncodeToString(raw), ids[0]); err != nil {
			t.Fatal(err)
		}
		if _, letter, err := s.svc.Deliver(ctx, holderDelivery(ids[0])); !errors.Is(err, ErrRefusedEnvelope) || letter != nil {
			t.Fatalf("a tampered envelope: %v", err)
		}
		if st, has := s.envelopeState(t, ids[0]); st != "refused" || has {
			t.Errorf("a tampered envelope is left %s, ciphertext kept %v", st, has)
		}

		// For another card: Luca's envelope filed under Elena's card.
		sealedFor := lucaSecret
		sealedFor.Ref = "B-0002"
		c, _ := Seal(sealedFor, s.key.Recipient)
		file := "seriale;busta\n6120016461039009;" + base64.StdEncoding.EncodeToString(c) + "\n"
		list, err := s.svc.ParseEnvelopes(ctx, "buste.csv", []byte(file))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.svc.ImportEnvelopes(ctx, "buste.csv", []byte(file), list, "cli", nil); err != nil {
			t.Fatal(err)
		}
		var swapped string
		d.QueryRowContext(ctx, `SELECT id FROM card_envelopes WHERE serial = '6120016461039009'`).Scan(&swapped)
		if _, _, err := s.svc.Deliver(ctx, holderDelivery(swapped)); !errors.Is(err, ErrRefusedEnvelope) {
			t.Errorf("an envelope of another card: %v", err)
		}

		// Sent for another key (not the town's): refused.
		other := newSite(t, dbtest.SQLite(t))
		foreign := s.envelopes(t, other.key.Recipient, Secret{Ref: "B-0003", Serial: "6120016461039008", FiscalCode: luca, PIN: "11111", PUK: "22222222"})
		if _, _, err := s.svc.Deliver(ctx, holderDelivery(foreign[0])); !errors.Is(err, ErrRefusedEnvelope) {
			t.Errorf("an envelope for another key: %v", err)
		}

		// Replayed: the same envelope file again is refused at import; the
		// same envelope number re-encrypted is refused at delivery.
		again := s.envelopes(t, s.key.Recipient, Secret{Ref: "B-0004", Serial: "6120016461039008", FiscalCode: luca, PIN: "48213", PUK: "90817263"})
		if _, _, err := s.svc.Deliver(ctx, holderDelivery(again[0])); err != nil {
			t.Fatal(err)
		}
		replay := s.envelopes(t, s.key.Recipient, Secret{Ref: "B-0004", Serial: "6120016461039008", FiscalCode: luca, PIN: "48213", PUK: "90817263"})
		if _, _, err := s.svc.Deliver(ctx, holderDelivery(replay[0])); !errors.Is(err, ErrRefusedEnvelope) {
			t.Errorf("a replayed envelope number: %v", err)
		}
		var sameFile strings.Builder
		c2, _ := Seal(Secret{Ref: "B-0005", Serial: "6120016461039008", FiscalCode: luca, PIN: "48213", PUK: "90817263"}, s.key.Recipient)
		fmt.Fprintf(&sameFile, "seriale;busta\n6120016461039008;%s\n", base64.StdEncoding.EncodeToString(c2))
		list, _ = s.svc.ParseEnvelopes(ctx, "x.csv", []byte(sameFile.String()))
		if _, err := s.svc.ImportEnvelopes(ctx, "x.csv", []byte(sameFile.String()), list, "cli", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.svc.ParseEnvelopes(ctx, "y.csv", []byte(sameFile.String())); err == nil || !strings.Contains(err.Error(), "cards.error.envelope_replayed") {
			t.Errorf("the same envelope received twice: %v", err)
		}
		if n := s.actions(t, "cards.envelope.refused"); n != 4 {
			t.Errorf("%d refusals in the audit log, want 4", n)
		}

		// A suspended card's PIN is not handed out, and its envelope waits.
		susp := s.envelopes(t, s.key.Recipient, Secret{Ref: "B-0006", Serial: "6120016461039010", FiscalCode: elena, PIN: "12345", PUK: "12345678"})
		if _, _, err := s.svc.Deliver(ctx, holderDelivery(susp[0])); !errors.Is(err, ErrCardNotActive) {
			t.Errorf("a suspended card: %v", err)
		}
		if st, has := s.envelopeState(t, susp[0]); st != "pending" || !has {
			t.Errorf("a suspended card's envelope: %s %v", st, has)
		}
	})
}

// A new envelope for a card supersedes the one still waiting (re-issue),
// whose ciphertext goes at once; a delegate's delivery keeps the
// delegation and the scanned receipt.
func TestReissueAndDelegate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newSite(t, d, "6120016461039008;"+luca+";2024-01-10;2030-01-10;ATTIVA", "6120016461039009;"+elena+";2023-05-02;2029-05-02;ATTIVA")
		first := s.envelopes(t, s.key.Recipient, Secret{Ref: "B-0001", Serial: "6120016461039008", FiscalCode: luca, PIN: "48213", PUK: "90817263"})
		elenas := s.envelopes(t, s.key.Recipient, Secret{Ref: "B-0009", Serial: "6120016461039009", FiscalCode: elena, PIN: "77777", PUK: "88888888"})
		// The key rotates: envelopes sent to the former key still open.
		former := s.key.Recipient
		var made bool
		var err error
		if s.key, made, err = s.svc.Keys.Current(ctx, true, s.log, "cli"); err != nil || !made || s.key.Recipient == former {
			t.Fatal(err)
		}
		if _, _, err := s.svc.Deliver(ctx, holderDelivery(elenas[0])); err != nil {
			t.Errorf("an envelope sent to the former key: %v", err)
		}
		second := s.envelopes(t, s.key.Recipient, Secret{Ref: "B-0002", Serial: "6120016461039008", FiscalCode: luca, PIN: "55555", PUK: "66666666"})
		// The import destroys nothing: the first still waits, and is
		// refused while the newer does, without being touched.
		if st, has := s.envelopeState(t, first[0]); st != "pending" || !has {
			t.Errorf("the first envelope after the re-issue's import: %s, ciphertext %v", st, has)
		}
		if _, _, err := s.svc.Deliver(ctx, holderDelivery(first[0])); !errors.Is(err, ErrNewerEnvelope) {
			t.Errorf("the older envelope while a newer waits: %v", err)
		}
		if st, has := s.envelopeState(t, first[0]); st != "pending" || !has {
			t.Errorf("the first envelope after its refused delivery: %s, ciphertext %v", st, has)
		}
		stage := func() *attachments.Staged {
			st, err := s.svc.Attachments.Stage(ctx, bytes.NewReader(attachmentstest.PNG(40, 30)), "delega.png", attachments.Policy{})
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		dl := holderDelivery(second[0])
		dl.Collector, dl.DelegateName, dl.DelegateFiscalCode, dl.Delegation = Delegate, "Elena Marchetti", elena, stage()
		dl.Receipt, dl.Attested, dl.ReceiptScan = Scan, false, stage()
		got, letter, err := s.svc.Deliver(ctx, dl)
		if err != nil || letter == nil {
			t.Fatal(err)
		}
		if got.DelegationAttach == "" || got.ReceiptAttachment == "" {
			t.Errorf("the scans are not kept: %+v", got)
		}
		// The newer delivered, the older's replaced PIN is destroyed.
		if st, has := s.envelopeState(t, first[0]); st != "superseded" || has {
			t.Errorf("the first envelope after the re-issue's delivery: %s, ciphertext %v", st, has)
		}
		if _, _, err := s.svc.Deliver(ctx, holderDelivery(first[0])); !errors.Is(err, ErrNotPending) {
			t.Errorf("a superseded envelope: %v", err)
		}
		list, total, err := s.svc.Attachments.List(ctx, attachments.Record("cards", "delivery", got.ID), 10, 0)
		if err != nil || total != 2 || len(list) != 2 {
			t.Errorf("the delivery's attachments: %d, %v", total, err)
		}
		rep, err := s.svc.DailyReport(ctx, time.Now().In(romeForTest()).Format(time.DateOnly), 1)
		if err != nil || rep.Total != 2 || rep.Holders != 1 || rep.Delegates != 1 || rep.Scan != 1 || len(rep.List) != 2 {
			t.Errorf("the day's report: %+v, %v", rep, err)
		}
	})
}

func romeForTest() *time.Location {
	l, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		return time.UTC
	}
	return l
}

// A card number is one card with or without the leading zeros a
// spreadsheet drops: the registry keeps it without them, finds it either
// way at login, and the minute's sweep of live sessions answers each
// number as the session gave it. Compared byte for byte, a revoked card
// whose file dropped the zeros would be let in (fail open).
func TestCardNumbersWithLeadingZerosAreOneCard(t *testing.T) {
	for in, want := range map[string]string{"0061200164": "61200164", "61200164": "61200164", "000000": "0", "": "", "00A1": "00A1"} {
		if got := Canonical(in); got != want {
			t.Errorf("Canonical(%q) = %q, want %q", in, got, want)
		}
	}
	if _, err := ParseRegistry("carte.csv", registryFile("00612001646;"+luca+";2024-01-10;2030-01-10;ATTIVA", "612001646;"+elena+";2024-01-10;2030-01-10;ATTIVA"), time.Now()); err == nil {
		t.Error("one card twice in a file, once with zeros, was accepted")
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newSite(t, d, "00612001646;"+luca+";2024-01-10;2030-01-10;REVOCATA", "612001647;"+elena+";2024-01-10;2030-01-10;ATTIVA")
		for _, n := range []string{"612001646", "00612001646", "0000612001646"} {
			if c, err := s.svc.Registry.Card(ctx, n); err != nil || c.Serial != "612001646" || c.Status != Revoked {
				t.Errorf("Card(%s) = %+v, %v", n, c, err)
			}
			m := &Module{Svc: s.svc}
			if err := m.CheckCard(ctx, identity.CardHolder{FiscalCode: luca, CardNumber: n}); err == nil {
				t.Errorf("the revoked card %s was let in", n)
			}
		}
		refused, err := s.svc.Registry.Refused(ctx, []string{"612001646", "0612001646", "612001647", "0612001647"})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(refused)
		if strings.Join(refused, ",") != "0612001646,612001646" {
			t.Errorf("refused %v, want both spellings of the revoked card and neither of the active one", refused)
		}
	})
}

// The migration that made numbers canonical moves rows written before it:
// of one card's rows the last updated wins, and its envelopes follow it.
func TestMigrationMakesPaddedNumbersCanonical(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		newSite(t, d, "612001650;"+luca+";2024-01-10;2030-01-10;ATTIVA")
		var imp string
		if err := d.QueryRowContext(ctx, `SELECT import_id FROM cards WHERE serial = '612001650'`).Scan(&imp); err != nil {
			t.Fatal(err)
		}
		old, newer := time.Now().Add(-time.Hour).UTC(), time.Now().UTC()
		for _, r := range []struct {
			serial, code, status string
			at                   time.Time
		}{{"000612001650", luca, "REVOCATA", newer}, {"0612001651", elena, "ATTIVA", old}, {"00612001651", elena, "SOSPESA", newer}} {
			if _, err := d.ExecContext(ctx, `INSERT INTO cards (serial, fiscal_code, issued_on, expires_on, status, import_id, updated_at) VALUES ($1, $2, '2024-01-10', '2030-01-10', $3, $4, $5)`,
				r.serial, r.code, r.status, imp, r.at); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := d.ExecContext(ctx, `INSERT INTO card_envelopes (id, serial, sha256, ciphertext, status, import_id, imported_at) VALUES ('e1', '0612001651', 'x', 'y', 'pending', $1, $2)`, imp, old); err != nil {
			t.Fatal(err)
		}
		sqlText, err := migrationFiles.ReadFile("migrations/0222_cards_canonical_serial.sql")
		if err != nil {
			t.Fatal(err)
		}
		for _, stmt := range strings.Split(string(sqlText), ";\n") {
			if strings.TrimSpace(stripComments(stmt)) == "" {
				continue
			}
			if _, err := d.ExecContext(ctx, stmt); err != nil {
				t.Fatalf("%v\n%s", err, stmt)
			}
		}
		got := map[string]string{}
		rows, err := d.QueryContext(ctx, `SELECT serial, status FROM cards`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var serial, status string
			if err := rows.Scan(&serial, &status); err != nil {
				t.Fatal(err)
			}
			got[serial] = status
		}
		_ = rows.Close()
		if len(got) != 2 || got["612001650"] != "REVOCATA" || got["612001651"] != "SOSPESA" {
			t.Errorf("cards after the migration: %v", got)
		}
		var env string
		if err := d.QueryRowContext(ctx, `SELECT serial FROM card_envelopes WHERE id = 'e1'`).Scan(&env); err != nil || env != "612001651" {
			t.Errorf("the envelope's card: %q, %v", env, err)
		}
	})
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}
