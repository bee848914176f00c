package main

import (
	"context"
	"database/sql"
	"encoding/csv"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/catalog"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/timeuse"
	"github.com/civico-pa/civico/internal/timeuse/analysis"
)

// episode is the form of one diary episode.
func episode(start, end, activity, where, who string) url.Values {
	return url.Values{"start": {start}, "end": {end}, "activity": {activity}, "location": {where}, "with_whom": {who}, "azione": {"salva"}}
}

// addEpisode adds an episode through the diary's form.
func addEpisode(t *testing.T, b *browser, base, day string, form url.Values) {
	t.Helper()
	res, body := b.do("POST", base+timeuse.DiaryPath+"/"+day+"/episodio", form)
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), timeuse.DiaryPath+"/"+day+"?salvato=episodio") {
		t.Fatalf("episode %v: %d %s\n%s", form, res.StatusCode, res.Header.Get("Location"), body)
	}
}

var tuQuestionnaire = url.Values{"sex": {"F"}, "age": {"41"}, "employment": {"employed"}, "work_hours": {"38"}, "commuter": {"yes"},
	"destination": {"milan"}, "commute_minutes": {"50"}, "commute_mode": {"31"}, "household_size": {"4"}, "children_ages": {"7, 12"},
	"education": {"tertiary"}, "preferred": {"weekday_evening", "saturday_morning"}}

// The time-use survey through the server as built, on both engines,
// without JavaScript: a password login is sent to the card; the card
// holder sees the survey on the desk, is told beside the fields what is
// wrong in the questionnaire (answers kept), fills it, searches an
// activity, adds a weekday's episodes, is told of the gap and where it is,
// fills it, copies the morning into the weekend day, completes it, sends
// the answers once (eight sends at once make one respondent), and the
// anonymous dataset holds them under a random id with no account.
func TestTimeUseJourney(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := &sportelloSite{idSite: newIDSite(t, d), t: t}
		ctx := context.Background()
		base := s.tls.URL

		pw := s.browser(t, nil)
		s.passwordResident(t, pw, "giulia@example.org")
		if res, _ := pw.do("GET", s.plain.URL+timeuse.AreaPath, nil); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/accedi/carta") {
			t.Fatalf("a password login: %d %s", res.StatusCode, res.Header.Get("Location"))
		}

		b, _ := s.resident("FRRLCU78H15C707", "LUCA", "FERRARI", "")
		res, body := b.do("GET", base+"/area-personale", nil)
		if res.StatusCode != 200 || !strings.Contains(body, "Indagine sull&#39;uso del tempo") || !strings.Contains(body, "Racconta una tua giornata") {
			t.Fatalf("the desk: %d\n%s", res.StatusCode, body)
		}
		res, body = b.do("GET", base+timeuse.AreaPath, nil)
		if res.StatusCode != 200 || !strings.Contains(body, "Le tue risposte sono anonime") || strings.Contains(body, `action="/area-personale/uso-del-tempo/invia"`) {
			t.Fatalf("the overview: %d\n%s", res.StatusCode, body)
		}

		// The questionnaire: errors beside their fields, answers kept.
		bad := url.Values{}
		for k, v := range tuQuestionnaire {
			bad[k] = v
		}
		bad.Set("age", "12")
		bad.Set("children_ages", "7, dodici")
		res, body = b.do("POST", base+timeuse.QuestionnairePath, bad)
		if res.StatusCode != http.StatusUnprocessableEntity ||
			!regexp.MustCompile(`id="f-age-error">Scrivi la tua età in anni`).MatchString(body) ||
			!strings.Contains(body, `id="f-children_ages-error"`) || !strings.Contains(body, `value="7, dodici"`) ||
			!strings.Contains(body, `value="milan" selected`) || !strings.Contains(body, `id="f-preferred-saturday_morning" value="saturday_morning" checked`) {
			t.Fatalf("a wrong questionnaire: %d\n%s", res.StatusCode, body)
		}
		res, _ = b.do("POST", base+timeuse.QuestionnairePath, tuQuestionnaire)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != timeuse.DiaryPath+"/feriale" {
			t.Fatalf("the questionnaire: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		if _, body = b.do("GET", base+timeuse.QuestionnairePath, nil); !strings.Contains(body, `value="7, 12"`) {
			t.Errorf("the saved questionnaire is not shown again")
		}
		// The data download has the draft while there is one.
		if _, body = b.do("GET", base+"/profilo/dati.json", nil); !regexp.MustCompile(`"participated":\s*false`).MatchString(body) || !regexp.MustCompile(`"age":\s*41`).MatchString(body) {
			t.Errorf("the data download without the draft:\n%s", body)
		}

		// The activity search without JavaScript: the button filters the
		// select server-side and keeps what was typed.
		day := base + timeuse.DiaryPath + "/feriale"
		res, body = b.do("POST", day+"/episodio", url.Values{"start": {"04:00"}, "end": {"07:00"}, "q": {"dormire"}, "azione": {"cerca"}})
		activities := regexp.MustCompile(`(?s)<select id="f-activity".*?</select>`).FindString(body)
		if res.StatusCode != 200 || !strings.Contains(activities, `<option value="011">Dormire</option>`) || strings.Contains(activities, `value="111"`) ||
			!strings.Contains(body, `value="07:00"`) || !strings.Contains(body, "Attività trovate per «dormire»: 1.") {
			t.Fatalf("the search: %d\n%s", res.StatusCode, body)
		}
		// An episode that ends before it starts: told beside the field.
		res, body = b.do("POST", day+"/episodio", episode("09:00", "08:00", "111", "13", "others"))
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-end-error">La fine deve venire dopo l&#39;inizio`) ||
			!strings.Contains(body, `<option value="111" selected>`) {
			t.Fatalf("an episode backwards: %d\n%s", res.StatusCode, body)
		}
		addEpisode(t, b, base, "feriale", episode("04:00", "06:30", "011", "11", "alone"))
		addEpisode(t, b, base, "feriale", episode("06:30", "07:20", "91", "31", "alone"))
		addEpisode(t, b, base, "feriale", episode("07:20", "13:20", "111", "13", "others"))
		addEpisode(t, b, base, "feriale", episode("14:00", "23:00", "821", "11", "children"))
		res, body = b.do("GET", day, nil)
		if !strings.Contains(body, "Manca il tempo tra le 13:20 e le 14:00: aggiungi un&#39;attività o prolunga la precedente.") ||
			!strings.Contains(body, "La giornata finisce alle 4:00 del giorno dopo: aggiungi un&#39;attività dalle 23:00 alle 04:00") ||
			!strings.Contains(body, `name="start" value="23:00"`) {
			t.Fatalf("the gaps: %d\n%s", res.StatusCode, body)
		}
		// Copy an episode: its activity, place and company, from the end
		// of the day.
		if _, body = b.do("GET", day+"?copia=0", nil); !strings.Contains(body, `<option value="011" selected>`) || !strings.Contains(body, `name="start" value="23:00"`) {
			t.Errorf("copying an episode:\n%s", body)
		}
		addEpisode(t, b, base, "feriale", episode("13:20", "14:00", "121", "15", "others"))
		addEpisode(t, b, base, "feriale", episode("23:00", "04:00", "011", "11", "alone"))
		if _, body = b.do("GET", day, nil); !strings.Contains(body, "La giornata è completa.") {
			t.Fatalf("the weekday is not complete:\n%s", body)
		}

		// Sending too early.
		res, _ = b.do("POST", base+timeuse.SendPath, url.Values{})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != timeuse.AreaPath+"?errore=incompleto" {
			t.Fatalf("an early send: %d %s", res.StatusCode, res.Header.Get("Location"))
		}

		// The weekend day: a Sunday, the morning copied, then completed.
		weekend := base + timeuse.DiaryPath + "/festivo"
		if _, body = b.do("GET", weekend, nil); !strings.Contains(body, "Scegli se descrivi un sabato o una domenica") {
			t.Errorf("the weekend day does not ask which day it is:\n%s", body)
		}
		if res, _ = b.do("POST", weekend+"/giorno", url.Values{"day_type": {"sunday"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("the day type: %d", res.StatusCode)
		}
		if res, _ = b.do("POST", weekend+"/copia-mattina", url.Values{}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("copying the morning: %d", res.StatusCode)
		}
		_, body = b.do("GET", weekend, nil)
		if !strings.Contains(body, `value="sunday" checked`) || !strings.Contains(body, "Manca il tempo tra le 12:00 e le 04:00") && !strings.Contains(body, "dalle 12:00 alle 04:00") {
			t.Fatalf("after copying the morning:\n%s", body)
		}
		addEpisode(t, b, base, "festivo", episode("12:00", "23:30", "512", "14", "others"))
		addEpisode(t, b, base, "festivo", episode("23:30", "04:00", "011", "11", "alone"))
		if _, body = b.do("GET", weekend, nil); !strings.Contains(body, "La giornata è completa.") {
			t.Fatalf("the weekend day is not complete:\n%s", body)
		}
		// Delete an episode and add it again.
		if res, _ = b.do("POST", weekend+"/elimina", url.Values{"n": {"3"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("delete: %d", res.StatusCode)
		}
		if _, body = b.do("GET", weekend, nil); !strings.Contains(body, "Manca il tempo") {
			t.Fatalf("the deletion left no gap:\n%s", body)
		}
		addEpisode(t, b, base, "festivo", episode("12:00", "23:30", "512", "14", "others"))

		_, body = b.do("GET", base+timeuse.AreaPath, nil)
		if !strings.Contains(body, `action="/area-personale/uso-del-tempo/invia"`) {
			t.Fatalf("no send button:\n%s", body)
		}
		// Eight sends at once: one respondent.
		var wg sync.WaitGroup
		codes := make([]string, 8)
		for i := range codes {
			wg.Go(func() {
				res, err := b.c.PostForm(base+timeuse.SendPath, url.Values{})
				if err != nil {
					codes[i] = err.Error()
					return
				}
				_ = res.Body.Close()
				codes[i] = res.Header.Get("Location")
			})
		}
		wg.Wait()
		sent := 0
		for _, c := range codes {
			switch c {
			case timeuse.AreaPath + "?inviato=1":
				sent++
			case timeuse.AreaPath:
			default:
				t.Errorf("a send: %s", c)
			}
		}
		if sent != 1 {
			t.Errorf("%d sends succeeded: %v", sent, codes)
		}
		_, body = b.do("GET", base+timeuse.AreaPath, nil)
		if !strings.Contains(body, "Hai già partecipato a questa indagine") {
			t.Errorf("after sending:\n%s", body)
		}
		if _, body = b.do("GET", base+"/profilo/dati.json", nil); !regexp.MustCompile(`"participated":\s*true`).MatchString(body) || regexp.MustCompile(`"age":\s*41`).MatchString(body) {
			t.Errorf("the data download after sending:\n%s", body)
		}
		if res, _ = b.do("GET", day, nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != timeuse.AreaPath {
			t.Errorf("the diary after sending: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		var respondents, episodes, drafts int
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM timeuse_respondents WHERE synthetic = FALSE`).Scan(&respondents)
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM timeuse_episodes`).Scan(&episodes)
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM timeuse_drafts`).Scan(&drafts)
		if respondents != 1 || episodes != 6+5 || drafts != 0 {
			t.Errorf("%d respondents, %d episodes, %d drafts", respondents, episodes, drafts)
		}
		var sex, ages string
		var age int
		_ = d.QueryRowContext(ctx, `SELECT sex, age, children_ages FROM timeuse_respondents`).Scan(&sex, &age, &ages)
		if sex != "F" || age != 41 || ages != "7 12" {
			t.Errorf("stored %s %d %q", sex, age, ages)
		}

		// Closing the account and logging in again with the card opens
		// no second answer: the next account is the same person.
		var id string
		if err := d.QueryRowContext(ctx, `SELECT id FROM accounts WHERE fiscal_code LIKE 'FRRLCU78H15C707%'`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		acc, err := s.apps.identity.Store.ByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.apps.identity.CloseAccount(ctx, acc, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		again, _ := s.resident("FRRLCU78H15C707", "LUCA", "FERRARI", "")
		if _, body = again.do("GET", base+"/area-personale", nil); strings.Contains(body, "Racconta una tua giornata") {
			t.Error("the next account's desk asks for the survey again")
		}
		if _, body = again.do("GET", base+timeuse.AreaPath, nil); !strings.Contains(body, "Hai già partecipato a questa indagine") {
			t.Errorf("the next account may answer again:\n%s", body)
		}
	})
}

// cliDatabases are the databases a command-line test runs on: a SQLite
// file, and a fresh schema of the PostgreSQL test cluster when there is
// one.
func cliDatabases(t *testing.T) map[string]map[string]string {
	dir := t.TempDir()
	out := map[string]map[string]string{"sqlite": {"CIVICO_DATA_DIR": dir, "CIVICO_DATABASE_URL": "sqlite:" + filepath.Join(dir, "civico.db")}}
	base := os.Getenv(dbtest.PostgresEnv)
	if base == "" {
		return out
	}
	ctx := context.Background()
	admin, err := db.Open(ctx, db.Target{Dialect: db.Postgres, URL: base})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	schema := "t_timeuse_" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`) })
	out["postgres"] = map[string]string{"CIVICO_DATA_DIR": t.TempDir(), "CIVICO_DATABASE_URL": dbtest.WithSearchPath(t, base, schema)}
	return out
}

// `civico timeuse synth` then `civico timeuse export`: the files,
// columns and values; real answers only unless asked; the same seed makes
// the same respondents; wrong command lines are usage errors.
func TestTimeUseSynthExportCLI(t *testing.T) {
	for engine, env := range cliDatabases(t) {
		t.Run(engine, func(t *testing.T) {
			if code, out, errOut := runCLI(t, env, "migrate"); code != 0 {
				t.Fatalf("migrate: %d %q %q", code, out, errOut)
			}
			for _, args := range [][]string{{"timeuse"}, {"timeuse", "synth"}, {"timeuse", "synth", "--n", "0"}, {"timeuse", "export"},
				{"timeuse", "export", "--out", t.TempDir(), "--rows", "some"}, {"timeuse", "nonsense"}} {
				if code, _, _ := runCLI(t, env, args...); code != 2 {
					t.Errorf("%v: exit %d, want 2", args, code)
				}
			}
			code, out, errOut := runCLI(t, env, "timeuse", "synth", "--n", "60", "--seed", "42")
			if code != 0 || !strings.Contains(out, "added 60 synthetic respondents (seed 42)") || !strings.Contains(errOut, "synthetic respondents: 60/60") {
				t.Fatalf("synth: %d %q %q", code, out, errOut)
			}
			code, out, _ = runCLI(t, env, "timeuse", "invite", "--n", "2")
			if links := regexp.MustCompile(`(?m)^https?://\S+/uso-del-tempo/invito\?t=[A-Za-z0-9_-]{43}$`).FindAllString(out, -1); code != 0 || len(links) != 2 {
				t.Errorf("invite: %d %q", code, out)
			}
			if code, _, _ = runCLI(t, env, "timeuse", "invite", "--n", "2", "--days", "0"); code != 2 {
				t.Errorf("invite --days 0: %d", code)
			}
			real := t.TempDir()
			if code, out, _ = runCLI(t, env, "timeuse", "export", "--out", real); code != 0 || !strings.Contains(out, "wrote 0 respondents") {
				t.Fatalf("export of real answers: %d %q", code, out)
			}
			dir := t.TempDir()
			if code, out, errOut = runCLI(t, env, "timeuse", "export", "--out", dir, "--rows", "synthetic"); code != 0 || !strings.Contains(out, "wrote 60 respondents, 120 diaries") {
				t.Fatalf("export: %d %q %q", code, out, errOut)
			}
			head := func(name string) (string, int) {
				b, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				lines := strings.Split(strings.TrimSpace(string(b)), "\n")
				return lines[0], len(lines) - 1
			}
			if h, n := head("respondents.csv"); n != 60 || !strings.HasPrefix(h, "respondent_id,sex,age,age_band,employment,commuter,children,weight") {
				t.Errorf("respondents.csv: %d rows, %s", n, h)
			}
			if h, n := head("diaries.csv"); n != 120 || h != "diary_id,respondent_id,day_type,weight" {
				t.Errorf("diaries.csv: %d rows, %s", n, h)
			}
			if h, n := head("episodes.csv"); n < 120*5 || h != "diary_id,start_min,end_min,activity,secondary,location,with_whom" {
				t.Errorf("episodes.csv: %d rows, %s", n, h)
			}
			// The analysis reads the export as it is, and analyzes it.
			ds, err := analysis.ReadDataset(dir)
			if err != nil || len(ds.Respondents) != 60 || len(ds.Diaries) != 120 {
				t.Fatalf("the analysis reads the export: %v", err)
			}
			results := t.TempDir()
			if code, out, errOut = runCLI(t, env, "timeuse", "analyze", "--in", dir, "--out", results); code != 0 {
				t.Fatalf("analyze: %d %q %q", code, out, errOut)
			}
			if _, err := os.Stat(filepath.Join(results, "indicators.csv")); err != nil {
				t.Errorf("no indicators: %v", err)
			}
			b, _ := os.ReadFile(filepath.Join(dir, "episodes.csv"))
			if !regexp.MustCompile(`(?m)^[0-9a-f]{32},0,\d+,011,`).Match(b) || !regexp.MustCompile(`(?m),1440,011,,11,alone$`).Match(b) {
				t.Errorf("episodes.csv does not start days at 0 with sleep (011) and end them at 1440")
			}
		})
	}
}

// CIVICO_TIMEUSE_ASSURANCE=low lets a password account answer; a wrong
// value is refused at the start.
func TestTimeUseAssuranceSetting(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newTunedIDSite(t, d, func(c *config) { c.TimeUseAssurance = "low" })
		b := s.browser(t, nil)
		s.passwordResident(t, b, "giulia@example.org")
		if res, body := b.do("GET", s.plain.URL+timeuse.AreaPath, nil); res.StatusCode != 200 || !strings.Contains(body, "Le tue risposte sono anonime") {
			t.Fatalf("a password login at low: %d", res.StatusCode)
		}
	})
	if _, err := loadConfig(func(k string) string { return map[string]string{"CIVICO_TIMEUSE_ASSURANCE": "medium"}[k] }); err == nil || !strings.Contains(err.Error(), "CIVICO_TIMEUSE_ASSURANCE") {
		t.Errorf("a wrong level: %v", err)
	}
}

// CIVICO_TIMEUSE_TRAVEL_MIN and CIVICO_TIMEUSE_MARGINS reach the results
// job as production wires it: the published results say they are
// weighted and use the travel time; a wrong travel time or a malformed
// margins file is refused at the start, naming the line.
func TestTimeUseWeightingSettings(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "margins.csv"), filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(good, []byte("key,value,population\nsex,F,38210\nsex,M,36120\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("key,value,population\nsex,F,38210\nsesso,M,36120\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	c, err := loadConfig(env(map[string]string{"CIVICO_TIMEUSE_TRAVEL_MIN": "25", "CIVICO_TIMEUSE_MARGINS": good}))
	if err != nil || c.TimeUseTravel != 25 || c.TimeUseMargins["sex"]["F"] != 38210 {
		t.Fatalf("the settings: travel %d, margins %v, %v", c.TimeUseTravel, c.TimeUseMargins, err)
	}
	for name, kv := range map[string]map[string]string{
		"travel 0":          {"CIVICO_TIMEUSE_TRAVEL_MIN": "0"},
		"travel words":      {"CIVICO_TIMEUSE_TRAVEL_MIN": "quindici"},
		"margins missing":   {"CIVICO_TIMEUSE_MARGINS": filepath.Join(dir, "none.csv")},
		"margins malformed": {"CIVICO_TIMEUSE_MARGINS": bad},
	} {
		if _, err := loadConfig(env(kv)); err == nil {
			t.Errorf("%s: accepted", name)
		} else if name == "margins malformed" && !strings.Contains(err.Error(), "line 3") {
			t.Errorf("%s: %v, want the line named", name, err)
		}
	}

	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if err := ensureDemoCatalog(ctx, d); err != nil {
			t.Fatal(err)
		}
		s := newTunedIDSite(t, d, func(c *config) {
			c.TimeUseTravel, c.TimeUseMargins = 25, analysis.Margins{"sex": {"F": 38210, "M": 36120}}
		})
		if err := s.apps.civico.timeuse.Store.Synth(ctx, 200, 3, nil); err != nil {
			t.Fatal(err)
		}
		if did, err := s.apps.civico.timeuse.Refresh(ctx); !did || err != nil {
			t.Fatalf("the results job: computed %v, %v", did, err)
		}
		sum, err := s.apps.civico.timeuse.Store.Results(ctx, timeuse.LatestResults)
		if err != nil || !sum.Weighted || sum.Travel != 25 {
			t.Fatalf("the job's results: weighted %v, travel %d, %v", sum != nil && sum.Weighted, travelOf(sum), err)
		}
	})
}

func travelOf(s *timeuse.Summary) int {
	if s == nil {
		return 0
	}
	return s.Travel
}

// fillSurvey answers the questionnaire and both diary days through the
// forms under prefix (the personal area's or the invitation's).
func fillSurvey(t *testing.T, b *browser, base, prefix string) {
	t.Helper()
	if res, body := b.do("POST", base+prefix+"/questionario", tuQuestionnaire); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the questionnaire: %d\n%s", res.StatusCode, body)
	}
	for _, day := range []string{"feriale", "festivo"} {
		if day == "festivo" {
			if res, _ := b.do("POST", base+prefix+"/diario/festivo/giorno", url.Values{"day_type": {"saturday"}}); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("the day type: %d", res.StatusCode)
			}
		}
		for _, e := range []url.Values{episode("04:00", "07:00", "011", "11", "alone"), episode("07:00", "08:00", "021", "11", "partner"),
			episode("08:00", "12:00", "321", "11", "alone"), episode("12:00", "22:00", "531", "11", "partner"), episode("22:00", "04:00", "011", "11", "alone")} {
			res, body := b.do("POST", base+prefix+"/diario/"+day+"/episodio", e)
			if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), prefix+"/diario/"+day+"?salvato=episodio") {
				t.Fatalf("episode %v: %d %s\n%s", e, res.StatusCode, res.Header.Get("Location"), body)
			}
		}
	}
}

// Invitations: the statistics office makes them in the back office (shown
// once, audited); a visitor without an account opens a link (a button,
// not the GET, starts), answers and sends once; the same link in another
// browser finds the invitation used; an unknown link and the pages
// without an invitation say so; a resident cannot reach the office.
func TestTimeUseInvitations(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		base := s.plain.URL
		if res, _ := s.browser(t, nil).do("GET", base+timeuse.InvitePath, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("the survey without an invitation: %d", res.StatusCode)
		}
		resident := s.browser(t, nil)
		s.passwordResident(t, resident, "giulia@example.org")
		if res, _ := resident.do("GET", base+timeuse.OfficePath, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("a resident at the office: %d", res.StatusCode)
		}

		office := operatorBrowser(t, s, "istat@comune.example.it", "statistics")
		res, body := office.do("POST", base+timeuse.OfficePath, url.Values{"n": {"0"}, "days": {"30"}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-n-error"`) || !strings.Contains(body, `value="30"`) {
			t.Fatalf("zero invitations: %d\n%s", res.StatusCode, body)
		}
		res, body = office.do("POST", base+timeuse.OfficePath, url.Values{"n": {"3"}, "days": {"30"}})
		links := regexp.MustCompile(regexp.QuoteMeta(s.cfg.BaseURL+timeuse.InviteLink)+`\?t=([A-Za-z0-9_-]{43})`).FindAllStringSubmatch(body, -1)
		if res.StatusCode != 200 || len(links) != 3 || !strings.Contains(body, "3 creati, 0 usati") {
			t.Fatalf("the invitations: %d %d\n%s", res.StatusCode, len(links), body)
		}
		if _, body = office.do("GET", base+timeuse.OfficePath, nil); strings.Contains(body, links[0][1]) {
			t.Errorf("the links are shown again")
		}
		var audited int
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'timeuse.invitations'`).Scan(&audited)
		if audited != 1 {
			t.Errorf("%d audit entries", audited)
		}

		if res, body = s.browser(t, nil).do("POST", base+timeuse.InviteLink, url.Values{"t": {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}); res.StatusCode != http.StatusNotFound || !strings.Contains(body, "non è valido o è scaduto") {
			t.Errorf("an unknown invitation: %d", res.StatusCode)
		}
		if res, _ = s.browser(t, nil).do("GET", base+timeuse.InviteLink+"?t=short", nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("a malformed invitation link: %d", res.StatusCode)
		}
		guest := s.browser(t, nil)
		secret := links[0][1]
		res, body = guest.do("GET", base+timeuse.InviteLink+"?t="+secret, nil)
		if res.StatusCode != 200 || !strings.Contains(body, `name="t" value="`+secret+`"`) || len(res.Cookies()) > 0 && res.Cookies()[0].Name == timeuse.InviteCookie {
			t.Fatalf("the invitation's page: %d\n%s", res.StatusCode, body)
		}
		if res, _ = guest.do("POST", base+timeuse.InviteLink, url.Values{"t": {secret}}); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != timeuse.InvitePath {
			t.Fatalf("opening the invitation: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		fillSurvey(t, guest, base, timeuse.InvitePath)
		var wg sync.WaitGroup
		codes := make([]string, 8)
		for i := range codes {
			wg.Go(func() {
				res, err := guest.c.PostForm(base+timeuse.InvitePath+"/invia", url.Values{})
				if err != nil {
					codes[i] = err.Error()
					return
				}
				_ = res.Body.Close()
				codes[i] = res.Header.Get("Location")
			})
		}
		wg.Wait()
		if n := strings.Count(strings.Join(codes, " "), timeuse.InvitePath+"?inviato=1"); n != 1 {
			t.Errorf("%d sends succeeded: %v", n, codes)
		}
		other := s.browser(t, nil)
		other.do("POST", base+timeuse.InviteLink, url.Values{"t": {secret}})
		if _, body = other.do("GET", base+timeuse.InvitePath, nil); !strings.Contains(body, "Hai già partecipato") {
			t.Errorf("the used invitation in another browser:\n%s", body)
		}
		var respondents int
		var sealed sql.NullString
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM timeuse_respondents`).Scan(&respondents)
		_ = d.QueryRowContext(ctx, `SELECT sealed FROM timeuse_invitations WHERE used = TRUE`).Scan(&sealed)
		if respondents != 1 || sealed.Valid {
			t.Errorf("%d respondents, the used invitation's draft kept: %v", respondents, sealed.Valid)
		}
		if _, body = office.do("GET", base+timeuse.OfficePath, nil); !strings.Contains(body, "3 creati, 1 usati") {
			t.Errorf("the office's counts:\n%s", body)
		}
		// A client trying links is stopped: the budget is per client, and
		// this one has opened three invitations so far.
		var codes2 []int
		for range timeuse.InviteRule.Free {
			res, _ := s.browser(t, nil).do("POST", base+timeuse.InviteLink, url.Values{"t": {links[1][1]}})
			codes2 = append(codes2, res.StatusCode)
		}
		if want := []int{303, 303, 303, 303, 303, 303, 303, 429, 429, 429}; !slices.Equal(codes2, want) {
			t.Errorf("opening invitations: %v, want %v", codes2, want)
		}
	})
}

// BenchmarkTimeUsePages measures the survey's pages as the demo's card
// holder gets them, his weekday diary holding 12 episodes, through the
// portal's whole middleware chain (SQLite; CPU time of the process per
// request as cpu-ns/op).
//
//	go test ./cmd/civico -run XXX -bench TimeUsePages -benchtime 200x
func BenchmarkTimeUsePages(b *testing.B) {
	s, cookie, _ := newResidentSite(b, dbtest.SQLite(b))
	h := s.apps.portal.Handler()
	do := func(method, path string, form url.Values) *httptest.ResponseRecorder {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req := httptest.NewRequest(method, path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.Header.Set("Cookie", cookie)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	if w := do("POST", timeuse.QuestionnairePath, tuQuestionnaire); w.Code != http.StatusSeeOther {
		b.Fatalf("questionnaire: %d", w.Code)
	}
	for i := range 12 {
		start, end := timeuse.Clock(i*120), timeuse.Clock((i+1)*120)
		if w := do("POST", timeuse.DiaryPath+"/feriale/episodio", episode(start, end, "821", "11", "alone")); w.Code != http.StatusSeeOther {
			b.Fatalf("episode: %d", w.Code)
		}
	}
	for _, p := range []struct{ name, path string }{{"overview", timeuse.AreaPath}, {"questionnaire", timeuse.QuestionnairePath},
		{"diary", timeuse.DiaryPath + "/feriale"}} {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				if w := do("GET", p.path, nil); w.Code != http.StatusOK {
					b.Fatalf("GET %s = %d", p.path, w.Code)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
	b.Run("add-episode", func(b *testing.B) {
		b.ReportAllocs()
		cpu := processCPU()
		for b.Loop() {
			// Changing the last episode: a draft read, checked, sealed
			// and written.
			form := episode("02:00", "04:00", "011", "11", "alone")
			form.Set("n", "11")
			if w := do("POST", timeuse.DiaryPath+"/feriale/episodio", form); w.Code != http.StatusSeeOther {
				b.Fatalf("episode: %d", w.Code)
			}
		}
		b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
	})
}

// runTask runs a feature's periodic job as its queue would.
func runTask(t testing.TB, s *idSite, feature, name string) {
	t.Helper()
	for _, task := range s.apps.tasks {
		if task.Feature == feature && task.Name == name {
			if err := task.Run(context.Background()); err != nil {
				t.Fatalf("%s.%s: %v", feature, name, err)
			}
			return
		}
	}
	t.Fatalf("no job %s.%s", feature, name)
}

// The results through the server as built, on both engines: nothing to
// show until the results job has run on answers; the statistics office
// sees the latest (synthetic, and said so) with its charts (SVG named by
// title and description) and tables, a wrong choice told beside its field;
// it publishes them (audited), and everyone then sees them and downloads
// them as CSV and JSON with a README, where a cell too small shows
// nothing; a resident cannot reach the office's page.
func TestTimeUseResults(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if err := ensureDemoCatalog(ctx, d); err != nil {
			t.Fatal(err)
		}
		s := newIDSite(t, d)
		base := s.plain.URL
		anon := s.browser(t, nil)
		if res, body := anon.do("GET", base+timeuse.ResultsPath, nil); res.StatusCode != 200 || !strings.Contains(body, "non sono ancora stati pubblicati") {
			t.Fatalf("the public page before any result: %d\n%s", res.StatusCode, body)
		}
		if res, _ := anon.do("GET", base+timeuse.ResultsPath+"/indicators.csv", nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("a download before any result: %d", res.StatusCode)
		}
		office := operatorBrowser(t, s, "istat@comune.example.it", "statistics")
		if res, body := office.do("GET", base+timeuse.OfficeResultsPath, nil); res.StatusCode != 200 || !strings.Contains(body, "Nessun risultato ancora") {
			t.Fatalf("the office's page before any result: %d\n%s", res.StatusCode, body)
		}
		if err := (&timeuse.Store{DB: d}).Synth(ctx, 300, 11, nil); err != nil {
			t.Fatal(err)
		}
		runTask(t, s, "timeuse", "results")

		res, body := office.do("GET", base+timeuse.OfficeResultsPath, nil)
		for _, want := range []string{`data-element="synthetic"`, `<svg role="img" aria-labelledby="budget-t budget-d"`, `<title id="tempogram-t">Tempogramma: Tutti, Giorno feriale</title>`,
			`aria-labelledby="reach-t reach-d"`, `<caption id="table-dpr">Minuti medi al giorno per rispondente (DPR), Giorno feriale, per Sesso</caption>`,
			`<th scope="row">Donne</th>`, `name="version"`, "Nessun risultato è ancora pubblicato", `data-element="best-proposal"`} {
			if res.StatusCode != 200 || !strings.Contains(body, want) {
				t.Fatalf("the office's page: %d, no %s\n%s", res.StatusCode, want, body)
			}
		}
		if strings.Contains(body, "<canvas") || strings.Contains(body, "<script") && strings.Contains(body, "chart") {
			t.Error("a chart that needs JavaScript")
		}
		// A wrong choice: said beside its field, the others kept.
		res, body = office.do("GET", base+timeuse.OfficeResultsPath+"?giorno=lunedi&per=eta", nil)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="f-giorno-error"`) || !regexp.MustCompile(`<option value="eta" selected>`).MatchString(body) {
			t.Fatalf("a wrong day: %d\n%s", res.StatusCode, body)
		}
		resident := s.browser(t, nil)
		s.passwordResident(t, resident, "giulia@example.org")
		if res, _ := resident.do("GET", base+timeuse.OfficeResultsPath, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("a resident at the office's results: %d", res.StatusCode)
		}
		if res, _ := resident.do("POST", base+timeuse.PublishPath, url.Values{"version": {"1"}}); res.StatusCode != http.StatusForbidden {
			t.Errorf("a resident publishing: %d", res.StatusCode)
		}
		if _, body := anon.do("GET", base+timeuse.ResultsPath, nil); !strings.Contains(body, "non sono ancora stati pubblicati") {
			t.Fatal("published before the office published")
		}
		// The coordination view of the best proposal's office's category:
		// no proposal until published.
		latest, err := (&timeuse.Store{DB: d}).Results(ctx, timeuse.LatestResults)
		if err != nil || latest.Best == nil {
			t.Fatalf("no proposal in the results: %v", err)
		}
		cat, err := catalog.NewStore(d, 0).Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		category := ""
		for _, sv := range cat.Services {
			if slices.Contains(sv.Offices, latest.Best.Office) {
				category = sv.Category
				break
			}
		}
		coord := base + "/coordinamento-orari?categoria=" + category
		if res, body := anon.do("GET", coord, nil); res.StatusCode != 200 || strings.Contains(body, `data-element="timeuse-proposals"`) {
			t.Fatalf("the coordination view before publishing: %d", res.StatusCode)
		}

		// Publishing an older version is refused; the one seen is published.
		if res, _ := office.do("POST", base+timeuse.PublishPath, url.Values{"version": {"1"}}); res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "esito=cambiati") {
			t.Fatalf("publishing another version: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		_, body = office.do("GET", base+timeuse.OfficeResultsPath, nil)
		version := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(body)
		if res, _ := office.do("POST", base+timeuse.PublishPath, url.Values{"version": {version[1]}}); res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "esito=pubblicati") {
			t.Fatalf("publishing: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		var audited int
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'timeuse.results.published'`).Scan(&audited)
		if audited != 1 {
			t.Errorf("%d audit entries of publishing", audited)
		}
		if _, body := office.do("GET", base+timeuse.OfficeResultsPath, nil); !strings.Contains(body, "Questi risultati sono pubblicati") || strings.Contains(body, `name="version"`) {
			t.Errorf("the office's page after publishing:\n%s", body)
		}

		// The coordination view now shows the office's proposal, and tries
		// it in the week's grid.
		res, body = anon.do("GET", coord, nil)
		best := latest.Best
		row := regexp.MustCompile(`(?s)<tr><th scope="row">` + regexp.QuoteMeta(best.Name) + `</th><td>[^<]* ` + best.FromText + `-` + best.ToText + `</td>.*?<a href="([^"]+)">Prova nella settimana`).FindStringSubmatch(body)
		if res.StatusCode != 200 || !strings.Contains(body, `data-element="timeuse-proposals"`) || row == nil {
			t.Fatalf("the coordination view's proposals: %d\n%s", res.StatusCode, body)
		}
		try := strings.ReplaceAll(row[1], "&amp;", "&")
		res, body = anon.do("GET", base+try, nil)
		if res.StatusCode != 200 || strings.Count(body, coverageTable) != 2 || !strings.Contains(body, best.FromText) {
			t.Fatalf("trying the proposal %s: %d, %d grids\n%s", try, res.StatusCode, strings.Count(body, coverageTable), body)
		}

		res, body = anon.do("GET", base+timeuse.ResultsPath+"?giorno=settimana&per=occupazione&gruppo=sex%3DF", nil)
		for _, want := range []string{`<title id="budget-t">Minuti medi al giorno per attività, Settimana media, per Condizione professionale</title>`,
			`<title id="tempogram-t">Tempogramma: Donne, Settimana media</title>`, `<th scope="row">In pensione</th>`, `href="/uso-del-tempo/risultati/results.json"`} {
			if res.StatusCode != 200 || !strings.Contains(body, want) {
				t.Fatalf("the public page: %d, no %s\n%s", res.StatusCode, want, body)
			}
		}
		if strings.Contains(body, `name="version"`) {
			t.Error("the public page offers to publish")
		}
		for _, f := range timeuse.ResultFiles {
			res, body := anon.do("GET", base+timeuse.ResultsPath+"/"+f, nil)
			if res.StatusCode != 200 || res.Header.Get("Content-Disposition") == "" || len(body) < 100 {
				t.Fatalf("%s: %d %q", f, res.StatusCode, res.Header.Get("Content-Disposition"))
			}
			switch f {
			case "indicators.csv":
				rows, err := csvRows(body)
				if err != nil || strings.Join(rows[0], ",") != "group,day_type,activity,respondents,dpr_min,participation,dpp_min,se_dpr,cv_dpr,suppressed" {
					t.Fatalf("indicators.csv: %v %v", err, rows[0])
				}
				published, small := 0, 0
				for _, r := range rows[1:] {
					switch r[9] {
					case "no":
						published++
						if r[3] == "" || r[4] == "" {
							t.Errorf("a published row without figures: %v", r)
						}
					case "size":
						small++
						if r[3] != "" || r[4] != "" || r[5] != "" || r[6] != "" {
							t.Errorf("a cell too small with figures: %v", r)
						}
					}
				}
				if published == 0 || small == 0 {
					t.Errorf("%d published rows, %d too small", published, small)
				}
			case "README.txt":
				if !strings.Contains(body, "CC-BY 4.0") || !strings.Contains(body, "RISPOSTE SINTETICHE") {
					t.Errorf("README:\n%s", body)
				}
			case "results.json":
				if res.Header.Get("Content-Type") != "application/json" || !strings.Contains(body, `"synthetic":true`) {
					t.Errorf("results.json: %s", res.Header.Get("Content-Type"))
				}
			}
		}
		if res, _ := anon.do("GET", base+timeuse.ResultsPath+"/other.csv", nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("an unknown file: %d", res.StatusCode)
		}
	})
}

func csvRows(body string) ([][]string, error) {
	return csv.NewReader(strings.NewReader(body)).ReadAll()
}

// BenchmarkTimeUseResults measures the results: the public page as the
// portal serves it with no content cache (every request renders the
// charts and tables from the stored results), grouped by sex (the
// default) and by age band on the average week; and the engine's run the
// results job makes (Summarize: every indicator, tempogram, the
// reachability of the demo catalogue's 14 offices and each one's
// proposal) on the demo's 600 synthetic respondents (SQLite; CPU time of
// the process per op as cpu-ns/op).
//
//	go test ./cmd/civico -run XXX -bench TimeUseResults -benchtime 100x
func BenchmarkTimeUseResults(b *testing.B) {
	d := dbtest.SQLite(b)
	ctx := context.Background()
	if err := ensureDemoCatalog(ctx, d); err != nil {
		b.Fatal(err)
	}
	s := newTunedIDSite(b, d, func(c *config) { c.PageCacheTTL = 0 })
	store := &timeuse.Store{DB: d}
	if err := store.Synth(ctx, timeuse.DemoRespondents, 2026, nil); err != nil {
		b.Fatal(err)
	}
	offices := timeuseOffices(catalog.NewStore(d, 0))
	if _, err := store.RefreshResults(ctx, offices, timeuse.Weighting{Travel: timeuse.DefaultTravel}); err != nil {
		b.Fatal(err)
	}
	sum, err := store.Results(ctx, timeuse.LatestResults)
	if err != nil {
		b.Fatal(err)
	}
	if err := store.Publish(ctx, &audit.Log{DB: d}, sum.Computed.UnixNano(), "cli", ""); err != nil {
		b.Fatal(err)
	}
	h := s.apps.portal.Handler()
	for _, p := range []struct{ name, path string }{{"page", timeuse.ResultsPath}, {"page-by-age-week", timeuse.ResultsPath + "?per=eta&giorno=settimana&gruppo=sex%3DF"}} {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			size := 0
			cpu := processCPU()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest("GET", p.path, nil))
				if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `id="tempogram-t"`) {
					b.Fatalf("GET %s = %d", p.path, w.Code)
				}
				size = w.Body.Len()
			}
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(size), "bytes/page")
		})
	}
	b.Run("summarize", func(b *testing.B) {
		ds, err := store.Dataset(ctx, true)
		if err != nil {
			b.Fatal(err)
		}
		offs, err := offices(ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		cpu := processCPU()
		for b.Loop() {
			if _, err := timeuse.Summarize(ds, offs, timeuse.DefaultTravel); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
	})
}
