package certificates

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/population"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/sealed"
	"github.com/civico-pa/civico/internal/throttle"
	"github.com/civico-pa/civico/internal/town"
)

const (
	luca  = "FRRLCU78H15C707K"
	elena = "MRCLNE81C62F205S"
	anna  = "CLMNNA82M62F205X" // in the register without what certificates state
)

func testStore(t testing.TB, d *db.DB) *Store {
	t.Helper()
	ctx := context.Background()
	towns := town.NewStore(d, time.Minute)
	if err := towns.Put(ctx, town.Demo()); err != nil {
		t.Fatal(err)
	}
	reg := &population.Register{DB: d}
	people := []population.Person{
		{FiscalCode: luca, District: "Centro", Sex: "M", BirthDate: "1978-06-15", FamilyName: "Ferrari", GivenName: "Luca", BirthPlace: "Cinisello Balsamo (MI)",
			Citizenship: "italiana", Address: "Via Monte Ortigara 31", Household: "F1", Relation: population.HeadOfHousehold},
		{FiscalCode: elena, District: "Centro", Sex: "F", BirthDate: "1981-03-22", FamilyName: "Marchetti", GivenName: "Elena", BirthPlace: "Milano (MI)",
			Citizenship: "italiana", Address: "Via Monte Ortigara 31", Household: "F1", Relation: "coniuge"},
		{FiscalCode: anna, District: "Centro"},
	}
	if err := reg.Put(ctx, people...); err != nil {
		t.Fatal(err)
	}
	box, err := sealed.New(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return &Store{DB: d, Keys: &Keys{DB: d, Box: box}, Register: reg, Towns: towns, Audit: &audit.Log{DB: d},
		Limiter: &throttle.Limiter{DB: d}}
}

func keySet(t testing.TB, s *Store) KeySet {
	t.Helper()
	keys, err := s.Keys.Public(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return Set(keys)
}

// Issuing: each kind states the register's data, the wrong choices come
// back beside their fields, stamp duty is told it is not online; the PDF
// verifies offline and an edit of one byte of its content or of its page
// does not; another holder finds nothing; a rotation keeps the old
// certificates verifiable; revocation is audited once; expiry is the
// kind's.
func TestIssueVerifyRevoke(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := testStore(t, d)
		now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return now }
		req := Request{AccountID: "acc-luca", FiscalCode: luca, Kind: FamilyStatus, Use: "scuola", Disclosure: ShowName}

		for _, c := range []struct {
			change func(*Request)
			field  string
			msg    string
		}{
			{func(r *Request) { r.Kind = "matrimonio" }, "kind", "certificates.error.kind"},
			{func(r *Request) { r.Use = "" }, "use", "certificates.error.use"},
			{func(r *Request) { r.Use = StampDuty }, "use", "certificates.error.stamp_duty"},
			{func(r *Request) { r.Disclosure = "tutto" }, "disclosure", "certificates.error.disclosure"},
		} {
			r := req
			c.change(&r)
			_, err := s.Issue(ctx, r)
			var f problem.Fields
			if !errors.As(err, &f) || f[c.field] != c.msg {
				t.Errorf("%s: %v", c.field, err)
			}
		}
		for fc, msg := range map[string]string{"RSSMRA85T10A562S": "certificates.error.not_resident", anna: "certificates.error.incomplete"} {
			r := req
			r.FiscalCode = fc
			_, err := s.Issue(ctx, r)
			var pe *problem.Error
			if !errors.As(err, &pe) || pe.Message != msg {
				t.Errorf("%s: %v", fc, err)
			}
		}
		var n int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM certificates`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("refused requests stored %d certificates (%v)", n, err)
		}

		fam, err := s.Issue(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if NormalizeID(fam.ID) != fam.ID || len(fam.Content.Household) != 2 || fam.Content.Household[1].GivenName != "Elena" ||
			fam.Content.Holder.Address != "Via Monte Ortigara 31" || fam.ValidUntil == nil || !fam.ValidUntil.Equal(now.AddDate(0, 6, 0)) {
			t.Fatalf("family status: %+v", fam)
		}
		birth := req
		birth.Kind, birth.Disclosure = Birth, ShowAll
		b, err := s.Issue(ctx, birth)
		if err != nil || b.ValidUntil != nil || b.Content.ValidUntil != "" || b.Content.Holder.Address != "" {
			t.Fatalf("birth: %+v %v", b, err)
		}
		if ok, err := s.Authentic(ctx, b); !ok || err != nil {
			t.Fatalf("authentic: %v %v", ok, err)
		}

		// The PDF: the same bytes at each download, verified offline.
		pdf, err := s.Render(ctx, fam, "https://comune.example.it", "Piazza Confalonieri 5")
		if err != nil {
			t.Fatal(err)
		}
		again, _ := s.Render(ctx, fam, "https://comune.example.it", "Piazza Confalonieri 5")
		if !bytes.Equal(pdf, again) || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
			t.Fatal("the PDF differs between downloads")
		}
		keys := keySet(t, s)
		got, err := VerifyPDF(pdf, keys)
		if err != nil || got.ID != fam.ID || got.Holder.FiscalCode != luca {
			t.Fatalf("verify: %+v %v", got, err)
		}
		// One byte of the content (the holder's name, inside the sealed
		// text), one byte of the page, the seal removed, another key.
		tampered := tamperContent(t, pdf)
		if _, err := VerifyPDF(tampered, keys); !errors.Is(err, ErrContent) {
			t.Errorf("content edited: %v", err)
		}
		page := bytes.Clone(pdf)
		i := bytes.Index(page, []byte("stream\n")) + 20
		page[i] ^= 0x01
		if _, err := VerifyPDF(page, keys); !errors.Is(err, ErrFile) {
			t.Errorf("page edited: %v", err)
		}
		if _, err := VerifyPDF(bytes.ReplaceAll(pdf, []byte(sealMarker), []byte("civico-certificato/0 ")), keys); !errors.Is(err, ErrNoSeal) {
			t.Errorf("seal removed: %v", err)
		}
		if _, err := VerifyPDF(pdf, KeySet{}); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("unknown key: %v", err)
		}

		// Owner-scoped.
		if _, err := s.Get(ctx, fam.ID, elena); problem.KindOf(err) != problem.NotFound {
			t.Errorf("another holder: %v", err)
		}
		if list, total, err := s.Mine(ctx, elena, 1, PageSize); err != nil || total != 0 || len(list) != 0 {
			t.Errorf("another holder's list: %d %v", total, err)
		}
		if list, total, err := s.Mine(ctx, luca, 1, PageSize); err != nil || total != 2 || list[0].ID != b.ID && list[0].ID != fam.ID {
			t.Errorf("the holder's list: %d %v", total, err)
		}
		// A page shorter than its size counts itself; a full one, or a
		// later one, asks for the count.
		for _, tt := range []struct{ page, size, n, total int }{{1, 1, 1, 2}, {2, 1, 1, 2}, {3, 1, 0, 2}, {1, 2, 2, 2}, {1, 3, 2, 2}} {
			if list, total, err := s.Mine(ctx, luca, tt.page, tt.size); err != nil || len(list) != tt.n || total != tt.total {
				t.Errorf("page %d of %d: %d of %d, %v", tt.page, tt.size, len(list), total, err)
			}
		}
		if list, err := s.Latest(ctx, luca, 1); err != nil || len(list) != 1 || list[0].IssuedAt.Before(fam.IssuedAt) && list[0].IssuedAt.Before(b.IssuedAt) {
			t.Errorf("the holder's latest: %v %v", list, err)
		}

		// Rotation: new certificates sealed by the new key, old ones verify.
		old := fam.KeyID
		if _, err := s.Keys.Rotate(ctx); err != nil {
			t.Fatal(err)
		}
		res := req
		res.Kind = Residence
		r2, err := s.Issue(ctx, res)
		if err != nil || r2.KeyID == old {
			t.Fatalf("after rotation: key %s (old %s) %v", r2.KeyID, old, err)
		}
		if _, err := VerifyPDF(pdf, keySet(t, s)); err != nil {
			t.Errorf("an old certificate after rotation: %v", err)
		}
		if ok, _ := s.Authentic(ctx, fam); !ok {
			t.Error("an old certificate is no longer authentic")
		}

		// Status: valid, expired six months on (birth never), revoked.
		if fam.StatusAt(now) != Valid || fam.StatusAt(now.AddDate(0, 6, 0)) != Expired || b.StatusAt(now.AddDate(50, 0, 0)) != Valid {
			t.Error("validity")
		}
		var short problem.Fields
		if err := s.Revoke(ctx, r2.ID, "op-1", "no", ""); !errors.As(err, &short) || short["reason"] == "" {
			t.Errorf("a short reason: %v", err)
		}
		if err := s.Revoke(ctx, r2.ID, "op-1", "Rilasciato per errore", "203.0.113.9"); err != nil {
			t.Fatal(err)
		}
		if err := s.Revoke(ctx, r2.ID, "op-1", "Rilasciato per errore", ""); problem.KindOf(err) != problem.Conflict {
			t.Errorf("revoked twice: %v", err)
		}
		if err := s.Revoke(ctx, newID(), "op-1", "Rilasciato per errore", ""); problem.KindOf(err) != problem.NotFound {
			t.Errorf("revoke an unknown certificate: %v", err)
		}
		got2, err := s.Find(ctx, r2.ID)
		if err != nil || got2.StatusAt(now) != Revoked || got2.Reason != "Rilasciato per errore" || got2.RevokedBy != "op-1" {
			t.Fatalf("revoked: %+v %v", got2, err)
		}
		var entries int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'certificates.revoked' AND subject = $1`, "certificate:"+r2.ID).Scan(&entries); err != nil || entries != 1 {
			t.Errorf("revocation audit entries: %d %v", entries, err)
		}

		// Another secret opens no key: nothing is sealed with a wrong one.
		other, _ := sealed.New(bytes.Repeat([]byte{4}, 32))
		s.Keys = &Keys{DB: d, Box: other}
		if _, err := s.Issue(ctx, req); !errors.Is(err, ErrSecretMismatch) {
			t.Errorf("a wrong secret: %v", err)
		}
	})
}

// tamperContent changes one letter of the holder's family name inside the
// sealed content (base64 in the PDF's seal), as an edit of the text would.
func tamperContent(t *testing.T, pdf []byte) []byte {
	t.Helper()
	out := bytes.Clone(pdf)
	start := bytes.Index(out, []byte(" content=")) + len(" content=")
	end := start + bytes.IndexByte(out[start:], ' ')
	i := start + (end-start)/2
	if out[i] == 'A' {
		out[i] = 'B'
	} else {
		out[i] = 'A'
	}
	return out
}

// The identifier: 100 random bits, read back however it is typed.
func TestIdentifier(t *testing.T) {
	id := newID()
	if len(id) != IDLength || NormalizeID(id) != id || NormalizeID(strings.ToLower(GroupID(id))) != id {
		t.Fatalf("id %s", id)
	}
	if NormalizeID("0O1IL") != "" || NormalizeID("ABCD-EFGH-JKMN-PQRS-TVWO") != "ABCDEFGHJKMNPQRSTVW0" || NormalizeID("ABCD-EFGH-JKMN-PQRS-TVWU") != "" {
		t.Error("normalisation")
	}
	seen := map[string]bool{}
	for range 1000 {
		seen[newID()] = true
	}
	if len(seen) != 1000 {
		t.Error("repeated identifiers")
	}
}

// A content that is not the canonical encoding of itself is refused: a
// verifier never accepts a re-encoded text as the sealed one.
func TestCanonical(t *testing.T) {
	c := Content{V: contentVersion, ID: newID(), Kind: Residence, Holder: Person{GivenName: "Luca"}, IssuedAt: "2026-12-03T10:00:00Z", Disclosure: ShowName}
	b := c.Canonical()
	if got, err := ParseContent(b); err != nil || got.ID != c.ID {
		t.Fatalf("parse: %v", err)
	}
	if _, err := ParseContent(bytes.Replace(b, []byte(`{"v":1,`), []byte(`{ "v":1,`), 1)); err == nil {
		t.Error("a spaced encoding accepted")
	}
	if _, err := ParseContent(bytes.Replace(b, []byte(`{"v":1,`), []byte(`{"v":1,"extra":1,`), 1)); err == nil {
		t.Error("an unknown field accepted")
	}
}
