package analysis

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const (
	okRespondents = "respondent_id,sex,age,age_band,employment,commuter,children,weight\n" +
		"r1,F,30,25-34,employed,yes,1,1.5\n" +
		"r2,M,70,65-74,retired,no,0,0.75\n"
	okDiaries = "diary_id,respondent_id,day_type,weight\n" +
		"d1,r1,weekday,1.5\n" +
		"d2,r2,sunday,0.75\n"
	okEpisodes = "diary_id,start_min,end_min,activity,secondary,location,with_whom\n" +
		"d1,0,180,011,,11,\n" +
		"d1,180,720,111,,13,\n" +
		"d1,720,1440,011,,11,\n" +
		"d2,0,600,011,,11,\n" +
		"d2,600,1440,821,021,11,2\n"
)

func writeDir(t *testing.T, resp, diaries, episodes string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{RespondentsFile: resp, DiariesFile: diaries, EpisodesFile: episodes} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestReadDataset(t *testing.T) {
	ds, err := ReadDataset(writeDir(t, okRespondents, okDiaries, okEpisodes))
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Respondents) != 2 || len(ds.Diaries) != 2 || len(ds.Episodes) != 5 {
		t.Fatalf("read %d/%d/%d rows", len(ds.Respondents), len(ds.Diaries), len(ds.Episodes))
	}
	if got := ds.Episodes[0]; got.Activity != "011" || got.End != 180 {
		t.Errorf("first episode %+v: the leading zero of 011 must be kept", got)
	}
	if got := ds.Episodes[4]; got.Secondary != "021" || got.WithWhom != "2" {
		t.Errorf("last episode %+v", got)
	}
	// Columns found by name, in any order, extra columns ignored.
	swapped := "weight,day_type,respondent_id,diary_id,note\n1.5,weekday,r1,d1,x\n0.75,sunday,r2,d2,y\n"
	ds2, err := ReadDataset(writeDir(t, okRespondents, swapped, okEpisodes))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ds2.Diaries, ds.Diaries) {
		t.Errorf("reordered columns read as %+v", ds2.Diaries)
	}
}

func TestReadDatasetRefusesMalformed(t *testing.T) {
	cases := []struct {
		name              string
		resp, dia, ep     string
		file, col, reason string
		line              int
	}{
		{"sex", strings.Replace(okRespondents, "r2,M", "r2,X", 1), okDiaries, okEpisodes, RespondentsFile, "sex", "not F or M", 3},
		{"age band inconsistent", strings.Replace(okRespondents, "30,25-34", "30,35-44", 1), okDiaries, okEpisodes, RespondentsFile, "age_band", "does not hold age 30", 2},
		{"weight", strings.Replace(okRespondents, "0.75", "-1", 1), okDiaries, okEpisodes, RespondentsFile, "weight", "positive", 3},
		{"weight not a number", strings.Replace(okRespondents, "1.5", "one", 1), okDiaries, okEpisodes, RespondentsFile, "weight", "not a number", 2},
		{"missing column", strings.Replace(okRespondents, ",commuter", ",commute", 1), okDiaries, okEpisodes, RespondentsFile, "commuter", "no such column", 1},
		{"field count", okRespondents + "r3,F,40\n", okDiaries, okEpisodes, RespondentsFile, "", "wrong number of fields", 4},
		{"duplicate respondent", okRespondents + "r1,F,30,25-34,employed,yes,1,1\n", okDiaries, okEpisodes, RespondentsFile, "respondent_id", "already on line 2", 4},
		{"day type", okRespondents, strings.Replace(okDiaries, "sunday", "holiday", 1), okEpisodes, DiariesFile, "day_type", "not weekday", 3},
		{"unknown respondent", okRespondents, strings.Replace(okDiaries, "d2,r2", "d2,r9", 1), okEpisodes, DiariesFile, "respondent_id", "not in respondents.csv", 3},
		{"diary without episodes", okRespondents, okDiaries + "d3,r1,saturday,1\n", okEpisodes, DiariesFile, "", "no episodes", 4},
		{"activity", okRespondents, okDiaries, strings.Replace(okEpisodes, "111", "1111", 1), EpisodesFile, "activity", "1 to 3 digits", 3},
		{"unknown 2-digit", okRespondents, okDiaries, strings.Replace(okEpisodes, "111", "97", 1), EpisodesFile, "activity", "97 is not a 2-digit code", 3},
		{"end before start", okRespondents, okDiaries, strings.Replace(okEpisodes, "d1,180,720", "d1,180,170", 1), EpisodesFile, "end_min", "not after start_min", 3},
		{"start not a number", okRespondents, okDiaries, strings.Replace(okEpisodes, "d1,180,720", "d1,3h,720", 1), EpisodesFile, "start_min", "not a whole number", 3},
		{"gap", okRespondents, okDiaries, strings.Replace(okEpisodes, "d1,720,1440", "d1,730,1440", 1), EpisodesFile, "start_min", "no episode from minute 720 to 730", 4},
		{"overlap", okRespondents, okDiaries, strings.Replace(okEpisodes, "d1,720,1440", "d1,700,1440", 1), EpisodesFile, "start_min", "overlap", 4},
		{"short day", okRespondents, okDiaries, strings.Replace(okEpisodes, "d2,600,1440", "d2,600,1400", 1), EpisodesFile, "end_min", "ends at minute 1400", 6},
		{"unknown diary", okRespondents, okDiaries, okEpisodes + "d9,0,1440,011,,,\n", EpisodesFile, "diary_id", "not in diaries.csv", 7},
		{"bare quote", okRespondents, okDiaries, okEpisodes + "d2,0,1440,\"011,,,\n", EpisodesFile, "", "quote", 7},
		{"empty file", okRespondents, "", okEpisodes, DiariesFile, "", "empty", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadDataset(writeDir(t, c.resp, c.dia, c.ep))
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a FormatError", err)
			}
			if fe.File != c.file || fe.Line != c.line || fe.Column != c.col || !strings.Contains(fe.Reason, c.reason) {
				t.Errorf("got %q (file %s line %d column %q), want %s line %d column %q reason ~%q", err, fe.File, fe.Line, fe.Column, c.file, c.line, c.col, c.reason)
			}
		})
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	ds := Synthetic(200, 1)
	ds.Episodes[3].Secondary = "021"
	ds.Episodes[4].WithWhom = "with, a comma \"quoted\""
	dir := filepath.Join(t.TempDir(), "out")
	if err := WriteDataset(dir, ds); err != nil {
		t.Fatal(err)
	}
	back, err := ReadDataset(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Respondents, ds.Respondents) || !reflect.DeepEqual(back.Diaries, ds.Diaries) || !reflect.DeepEqual(back.Episodes, ds.Episodes) {
		t.Error("the dataset read back differs from the one written")
	}
	// An invalid dataset is not written.
	ds.Episodes[0].End = 5000
	if err := WriteDataset(filepath.Join(t.TempDir(), "bad"), ds); err == nil {
		t.Error("an invalid dataset was written")
	}
}

func FuzzReadEpisodes(f *testing.F) {
	f.Add([]byte(okEpisodes))
	f.Add([]byte("diary_id,start_min,end_min,activity,secondary,location,with_whom\nd1,0,1440,\"0\n11\",,,\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		ds := &Dataset{}
		err := readEpisodes(strings.NewReader(string(body)), ds)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) || fe.Line < 1 || fe.Reason == "" {
				t.Fatalf("error without line and reason: %v", err)
			}
			return
		}
		for _, e := range ds.Episodes {
			if col, why := e.check(); why != "" {
				t.Fatalf("accepted an invalid episode %+v (%s: %s)", e, col, why)
			}
		}
	})
}
