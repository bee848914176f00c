package main

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/protocol"
)

// The protocol role finds a registration by number and downloads the
// daily registers the job exported; every download is audited; other
// operators and residents are kept out.
func TestProtocolBackOffice(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newFormsSite(t, d)
		g := s.apps.protocol
		yesterday := time.Now().Add(-24 * time.Hour)
		g.Now = func() time.Time { return yesterday }
		var n protocol.Number
		if err := d.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			n, err = g.Register(ctx, tx, protocol.Entry{Direction: protocol.In, Subject: "Richiesta di accesso agli atti",
				Correspondent: "Lucia Bianchi", By: "system:test"})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		g.Now = nil
		// The daily job, as serve runs it.
		for _, task := range s.apps.tasks {
			if task.Feature == "protocol" {
				if err := task.Run(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		keeper := s.operator(t, "protocollo@comune.example.it", "protocol")
		res, body := s.do(t, "GET", "/backoffice/protocollo?numero="+n.String(), keeper, nil)
		page := string(body)
		if res.StatusCode != http.StatusOK || !strings.Contains(page, "Richiesta di accesso agli atti") || !strings.Contains(page, "Lucia Bianchi") {
			t.Fatalf("look-up: %d", res.StatusCode)
		}
		exports, _, err := g.Exports(ctx, protocol.General, 50, 0)
		if err != nil || len(exports) != 1 || exports[0].Entries != 1 {
			t.Fatalf("exports: %+v %v", exports, err)
		}
		day := exports[0].Day
		link := "/backoffice/protocollo/generale/" + protocol.FileName("generale", day) + ".csv"
		if !strings.Contains(page, link) {
			t.Fatalf("the page does not link %s", link)
		}
		res, body = s.do(t, "GET", link, keeper, nil)
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") || !strings.Contains(string(body), n.String()) {
			t.Fatalf("CSV download: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
		}
		res, body = s.do(t, "GET", strings.TrimSuffix(link, ".csv")+".pdf", keeper, nil)
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "%PDF-") {
			t.Fatalf("PDF download: %d", res.StatusCode)
		}
		records, err := (&audit.Log{DB: d}).List(ctx, audit.ListFilter{Action: "protocol.register_downloaded"})
		if err != nil || len(records) != 2 {
			t.Fatalf("audit: %d records, %v", len(records), err)
		}
		for _, bad := range []string{"/backoffice/protocollo/generale/" + protocol.FileName("generale", "2001-01-01") + ".pdf",
			"/backoffice/protocollo/generale/registro.exe", "/backoffice/protocollo/..%2f..%2fetc/passwd"} {
			if res, _ := s.do(t, "GET", bad, keeper, nil); res.StatusCode != http.StatusNotFound {
				t.Errorf("%s: %d", bad, res.StatusCode)
			}
		}
		res, _ = s.do(t, "GET", "/backoffice/protocollo?numero=123", keeper, nil)
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("a malformed number: %d", res.StatusCode)
		}
		desk := s.operator(t, "sportello@comune.example.it", "desk")
		for _, path := range []string{"/backoffice/protocollo", link} {
			if res, _ := s.do(t, "GET", path, desk, nil); res.StatusCode != http.StatusForbidden {
				t.Errorf("a desk operator at %s: %d", path, res.StatusCode)
			}
			if res, _ := s.do(t, "GET", path, "", nil); res.StatusCode != http.StatusSeeOther {
				t.Errorf("anonymous at %s: %d", path, res.StatusCode)
			}
		}
	})
}
