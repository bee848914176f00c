package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/timeuse/analysis"
)

func TestTimeuseAnalyze(t *testing.T) {
	in, out := t.TempDir(), filepath.Join(t.TempDir(), "out")
	if err := analysis.WriteDataset(in, analysis.Synthetic(2000, 1)); err != nil {
		t.Fatal(err)
	}
	offices := filepath.Join(t.TempDir(), "offices.json")
	if err := os.WriteFile(offices, []byte(`[{"name":"Anagrafe","travel_min":15,"openings":[{"weekday":"monday","from":"09:00","to":"12:00"}]}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"timeuse", "analyze", "--in", in, "--out", out, "--offices", offices}, &stdout, &stderr, func(string) string { return "" }); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "recommended: Anagrafe") {
		t.Errorf("stdout: %s", stdout.String())
	}
	for file, header := range map[string]string{
		"indicators.csv":   "group,day_type,activity,respondents,dpr_min,participation,dpp_min,se_dpr,cv_dpr,suppressed",
		"tempograms.csv":   "group,day_type,slot,activity,share",
		"reachability.csv": "group,office,respondents,share_before,share_after",
	} {
		f, err := os.Open(filepath.Join(out, file))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(f).ReadAll()
		_ = f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(rows[0], ",") != header || len(rows) < 10 {
			t.Errorf("%s: header %v, %d rows", file, rows[0], len(rows))
		}
		if rows[1][0] != "all" {
			t.Errorf("%s: first group %q, want all", file, rows[1][0])
		}
	}

	// Post-stratified to the town's margins; a bad margins file is refused
	// with its line.
	margins := filepath.Join(t.TempDir(), "margins.csv")
	if err := os.WriteFile(margins, []byte("key,value,population\nsex,F,38210\nsex,M,36000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	if code := run([]string{"timeuse", "analyze", "--in", in, "--out", filepath.Join(t.TempDir(), "w"), "--margins", margins}, &stdout, &stderr, func(string) string { return "" }); code != 0 {
		t.Fatalf("with margins: exit %d: %s", code, stderr.String())
	}
	if err := os.WriteFile(margins, []byte("key,value,population\nsex,X,38210\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	if code := run([]string{"timeuse", "analyze", "--in", in, "--out", filepath.Join(t.TempDir(), "w"), "--margins", margins}, &stdout, &stderr, func(string) string { return "" }); code != 1 || !strings.Contains(stderr.String(), "margins line 2, column value") {
		t.Errorf("bad margins: exit %d: %s", code, stderr.String())
	}

	// A malformed file: the line and the reason, exit 1, nothing written.
	ep := filepath.Join(in, "episodes.csv")
	body, _ := os.ReadFile(ep)
	lines := strings.SplitN(string(body), "\n", 4)
	fields := strings.Split(lines[2], ",")
	fields[3] = "0x1" // the activity
	lines[2] = strings.Join(fields, ",")
	if err := os.WriteFile(ep, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	out2 := filepath.Join(t.TempDir(), "out2")
	if code := run([]string{"timeuse", "analyze", "--in", in, "--out", out2}, &stdout, &stderr, func(string) string { return "" }); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "episodes.csv line 3, column activity") {
		t.Errorf("stderr: %s", stderr.String())
	}
	if _, err := os.Stat(out2); !os.IsNotExist(err) {
		t.Error("output written for a malformed dataset")
	}
	// Usage errors.
	if code := run([]string{"timeuse", "analyze", "--in", in}, &stdout, &stderr, func(string) string { return "" }); code != 2 {
		t.Errorf("no --out: exit %d", code)
	}
	if code := run([]string{"timeuse", "nothing"}, &stdout, &stderr, func(string) string { return "" }); code != 2 {
		t.Errorf("unknown verb: exit %d", code)
	}
}
