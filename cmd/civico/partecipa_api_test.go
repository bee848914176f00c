package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/partecipa"
)

// The Partecipa API and the open-data export, through the server as
// built: consultations and their questions; results refused before
// publication (JSON and CSV), then given as the same lines in both; the
// proposals' list with its filters, a wrong one told by field, a hidden
// proposal reduced to its reason; the OpenAPI document names every path.
func TestPartecipaAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		a := newApps(t, d)
		h := a.partecipa.Handler()
		store := a.civico.partecipa.Store
		ctx := context.Background()
		get := func(path string) (int, string, http.Header) {
			t.Helper()
			req := httptest.NewRequest(http.MethodGet, path, nil)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			return w.Code, w.Body.String(), w.Header()
		}
		id, err := store.Create(ctx, partecipa.Input{Title: "I parchi", Source: journeyQuestions + "\n[idee] long\nAltre idee?\n", MinLevel: "high", ResidentsOnly: true,
			OpensAt: time.Now().Add(-time.Hour), ClosesAt: time.Now().Add(time.Hour)}, "office")
		if err != nil {
			t.Fatal(err)
		}
		if code, body, _ := get("/api/v1/consultations"); code != 200 || strings.Contains(body, id) {
			t.Fatalf("a draft in the list: %d", code)
		}
		if err := store.Open(ctx, id, "office"); err != nil {
			t.Fatal(err)
		}
		for i, choice := range []string{"nord", "ghirlanda", "ghirlanda"} {
			v := &partecipa.Viewer{Subject: "sub-" + choice + string(rune('a'+i)), Level: assurance.High, ResidentKnown: true, Resident: true}
			if _, err := store.Cast(ctx, mustConsultation(t, store, id), v, partecipa.Answers{"parco": {Choices: []string{choice}}, "voto": {Choices: []string{"4"}},
				"idee": {Text: "Una fontana = acqua"}}); err != nil {
				t.Fatal(err)
			}
		}
		var list struct {
			Items []struct {
				ID, Status string
				Questions  []any
			}
			Total    int
			PageSize int `json:"page_size"`
		}
		code, body, _ := get("/api/v1/consultations")
		if code != 200 || json.Unmarshal([]byte(body), &list) != nil || list.Total != 1 || list.PageSize != partecipa.PageSize || list.Items[0].ID != id || list.Items[0].Status != "open" || list.Items[0].Questions != nil {
			t.Fatalf("consultations: %d %s", code, body)
		}
		var one struct {
			Questions []struct{ ID, Kind string }
			MinLevel  string `json:"min_level"`
		}
		if code, body, _ := get("/api/v1/consultations/" + id); code != 200 || json.Unmarshal([]byte(body), &one) != nil || len(one.Questions) != 4 || one.Questions[0].ID != "parco" || one.MinLevel != "high" {
			t.Fatalf("a consultation: %d %s", code, body)
		}
		if code, _, _ := get("/api/v1/consultations/" + strings.Repeat("0", 32)); code != 404 {
			t.Fatalf("no consultation: %d", code)
		}
		// Not live: nothing before publication, in either format.
		if code, body, _ := get("/api/v1/consultations/" + id + "/results"); code != 403 || !strings.Contains(body, `"error":"forbidden"`) || !strings.Contains(body, "non sono ancora pubblici") {
			t.Fatalf("results before publication: %d %s", code, body)
		}
		if code, _, _ := get("/consultazioni/" + id + "/risultati.csv"); code != 403 {
			t.Fatalf("the CSV before publication: %d", code)
		}
		if err := store.Close(ctx, id, "office"); err != nil {
			t.Fatal(err)
		}
		if err := store.Publish(ctx, id, "office"); err != nil {
			t.Fatal(err)
		}
		var res partecipa.ResultsJSON
		code, body, _ = get("/api/v1/consultations/" + id + "/results")
		if code != 200 || json.Unmarshal([]byte(body), &res) != nil || res.Ballots["verified"] != 3 || res.Licence != "CC-BY-4.0" || !strings.HasSuffix(res.Readme, "/dati-aperti") {
			t.Fatalf("results: %d %s", code, body)
		}
		count := map[string]int64{}
		for _, l := range res.Lines {
			count[l.Question+"="+l.Answer] = l.Count
			if l.Answered != 3 && l.Question != "perche" || l.Channel != "verified" {
				t.Errorf("a line: %+v", l)
			}
		}
		if count["parco=nord"] != 1 || count["parco=ghirlanda"] != 2 || count["voto=4"] != 3 || count["idee="] != 3 || strings.Contains(body, "fontana") {
			t.Fatalf("the lines: %v", count)
		}
		code, body, hdr := get("/consultazioni/" + id + "/risultati.csv")
		rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if code != 200 || err != nil || !strings.HasPrefix(hdr.Get("Content-Disposition"), "attachment") || len(rows) != len(res.Lines)+1 ||
			strings.Join(rows[0], ",") != "question,number,kind,text,answer,label,position,column,column_label,channel,count,answered" {
			t.Fatalf("the CSV: %d %v\n%s", code, err, body)
		}
		if code, body, _ := get("/dati-aperti"); code != 200 || !strings.Contains(body, "Creative Commons") || !strings.Contains(body, "<code>column_label</code>") {
			t.Fatalf("the open data's readme: %d", code)
		}
		if code, body, _ := get("/consultazioni/" + id + "/risultati"); code != 200 || !strings.Contains(body, `href="/consultazioni/`+id+`/risultati.csv"`) {
			t.Fatalf("the results page lacks the export: %d", code)
		}

		// Proposals.
		v := &partecipa.Viewer{Subject: "sub-p", Level: assurance.High, ResidentKnown: true, Resident: true}
		var pids []string
		for _, cat := range []string{"verde", "mobilita"} {
			pid, err := store.CreateProposal(ctx, v, partecipa.ProposalInput{Title: "Proposta " + cat, Body: "Una proposta abbastanza lunga da valere.", Category: cat}, false)
			if err != nil {
				t.Fatal(err)
			}
			pids = append(pids, pid)
		}
		var plist struct {
			Items []partecipa.ProposalJSON
			Total int
		}
		if code, body, _ := get("/api/v1/proposals?category=mobilita"); code != 200 || json.Unmarshal([]byte(body), &plist) != nil || plist.Total != 1 ||
			plist.Items[0].ID != pids[1] || *plist.Items[0].Threshold != partecipa.DefaultThreshold || *plist.Items[0].Supports != 0 {
			t.Fatalf("proposals by category: %d %s", code, body)
		}
		if code, body, _ := get("/api/v1/proposals?category=piscine&page=0"); code != 422 || !strings.Contains(body, `"category"`) || !strings.Contains(body, `"page"`) {
			t.Fatalf("a wrong filter: %d %s", code, body)
		}
		if err := store.Hide(ctx, partecipa.KindProposal, pids[0], "Contiene dati personali.", "office"); err != nil {
			t.Fatal(err)
		}
		if code, body, _ := get("/api/v1/proposals/" + pids[0]); code != 200 || !strings.Contains(body, `"hidden": true`) || !strings.Contains(body, "Contiene dati personali.") ||
			strings.Contains(body, "Proposta verde") {
			t.Fatalf("a hidden proposal: %d %s", code, body)
		}
		if code, body, _ := get("/api/v1/proposals"); code != 200 || strings.Contains(body, pids[0]) {
			t.Fatalf("a hidden proposal listed: %d", code)
		}
		var doc struct {
			OpenAPI string         `json:"openapi"`
			Paths   map[string]any `json:"paths"`
		}
		if code, body, _ := get("/api/v1/openapi.json"); code != 200 || json.Unmarshal([]byte(body), &doc) != nil || doc.OpenAPI == "" {
			t.Fatalf("openapi: %d", code)
		}
		for _, p := range []string{"/consultations", "/consultations/{id}", "/consultations/{id}/results", "/proposals", "/proposals/{id}"} {
			if doc.Paths[p] == nil {
				t.Errorf("openapi lacks %s", p)
			}
		}
	})
}

func mustConsultation(t *testing.T, s *partecipa.Store, id string) *partecipa.Consultation {
	t.Helper()
	c, err := s.Get(context.Background(), id, false)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
