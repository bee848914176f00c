package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/civico-pa/civico/internal/timeuse"
)

// addEpisode fills the diary's episode form and adds the episode.
func addEpisode(b *browser, day, start, end, activity, where, who string) {
	b.t.Helper()
	action := timeuse.AreaPath + "/diario/" + day + "/episodio#episodio"
	b.fill(action, "start", start)
	b.fill(action, "end", end)
	b.fill(action, "activity", activity)
	b.fill(action, "location", where)
	b.fill(action, "with_whom", who)
	press(b, "adding "+start+"-"+end, `main form[action="`+action+`"] button[value="salva"]`)
	b.wantText("main", "Attività salvata.")
}

// press clicks a button and waits for the page it loads, with or
// without JavaScript: scrolled to first, and given time to end the smooth
// scroll (which b.submit waits for with a script).
func press(b *browser, what, css string) {
	b.t.Helper()
	b.step(what+": scrolling to the button", chromedp.ScrollIntoView(chromedp.CSS(css), chromedp.NodeVisible), chromedp.Sleep(800*time.Millisecond))
	clickAndLoad(b, what, chromedp.CSS(css), 200)
}

// choose ticks a box or round button once the page has stopped scrolling
// to it.
func choose(b *browser, action, name, value string) {
	b.t.Helper()
	b.step("scrolling to "+name+" "+value, chromedp.ScrollIntoView(chromedp.CSS(`main form[action="`+action+`"] input[name="`+name+`"][value="`+value+`"]`)),
		chromedp.Sleep(800*time.Millisecond))
	b.tick(action, name, value)
}

// The time-use survey of the demo's card holder, Luca Ferrari. With
// JavaScript: the desk's panel leads to the survey; a wrong age is told
// beside its field, his answers kept; the questionnaire saved, he searches
// "dormire" in the activity list, adds his weekday's episodes, is told of
// the gap he left and fills it. Then in another browser, without
// JavaScript: his answers are there (save and resume); he copies the
// weekday's morning into a Sunday, completes it, sends, and is thanked.
// axe-core checks each page of the first part.
func TestTimeUseSurvey(t *testing.T) {
	requireE2E(t)
	axeJS := loadAxe(t)
	d := startDemo(t)

	t.Run("with JavaScript", func(t *testing.T) {
		b := cardBrowser(t, d, demoCardFile, demoCardFiscalCode)
		cardLogin(b, d)
		r := newAxeRun(t, b, axeJS)
		b.open(d.TLS+"/area-personale", 200)
		clickAndLoad(b, "the survey's panel", `main a[href="`+timeuse.AreaPath+`"]`, 200)
		b.wantText("main h1", "Indagine sull'uso del tempo")
		r.check("the survey's overview")

		b.open(d.TLS+timeuse.QuestionnairePath, 200)
		r.check("the questionnaire")
		q := timeuse.QuestionnairePath
		choose(b, q, "sex", "M")
		b.fill(q, "age", "12")
		b.fill(q, "employment", "employed")
		b.fill(q, "work_hours", "40")
		choose(b, q, "commuter", "yes")
		b.fill(q, "destination", "milan")
		b.fill(q, "commute_minutes", "45")
		b.fill(q, "commute_mode", "31")
		b.fill(q, "household_size", "3")
		b.fill(q, "children_ages", "9")
		b.fill(q, "education", "tertiary")
		choose(b, q, "preferred", "weekday_evening")
		b.submit("a child's age as his", `main form[action="`+q+`"] button[type="submit"]`, 422)
		wantErrorBeside(t, b, "f-age", "12")
		if !eval[bool](b, `document.getElementById("f-preferred-weekday_evening").checked`) {
			t.Error("the times chosen were not kept")
		}
		r.check("a wrong age beside its field")
		b.fill(q, "age", "48")
		b.submit("the questionnaire", `main form[action="`+q+`"] button[type="submit"]`, 200)
		if !strings.HasSuffix(b.path(), "/diario/feriale") {
			t.Fatalf("after the questionnaire: %s", b.location())
		}
		r.check("the weekday diary, empty")

		action := timeuse.AreaPath + "/diario/feriale/episodio#episodio"
		b.fill(action, "q", "dormire")
		b.submit("searching the activities", `main form[action="`+action+`"] button[value="cerca"]`, 200)
		if got := eval[string](b, `Array.from(document.querySelectorAll("#f-activity option")).map(o => o.value).join(" ")`); got != " 011" {
			t.Errorf("the activities for dormire: %q", got)
		}
		addEpisode(b, "feriale", "04:00", "06:30", "011", "11", "alone")
		addEpisode(b, "feriale", "06:30", "07:20", "91", "31", "alone")
		addEpisode(b, "feriale", "07:20", "13:00", "111", "13", "others")
		addEpisode(b, "feriale", "14:00", "23:30", "821", "11", "children")
		b.wantText("#problemi", "Manca il tempo tra le 13:00 e le 14:00")
		r.check("the weekday diary with a gap")
		addEpisode(b, "feriale", "13:00", "14:00", "121", "15", "others")
		addEpisode(b, "feriale", "23:30", "04:00", "011", "11", "alone")
		b.wantText("main", "La giornata è completa.")
		r.check("the weekday diary, complete")
		r.finish()
	})

	t.Run("without JavaScript", func(t *testing.T) {
		b := cardBrowser(t, d, demoCardFile, demoCardFiscalCode)
		cardLogin(b, d)
		b.scriptsOff()
		b.open(d.TLS+timeuse.AreaPath, 200)
		if b.scripting() {
			t.Fatal("JavaScript is still on in the page")
		}
		b.wantText("main", "Completato")
		b.open(d.TLS+timeuse.AreaPath+"/diario/festivo", 200)
		choose(b, timeuse.AreaPath+"/diario/festivo/giorno", "day_type", "sunday")
		press(b, "a Sunday", `main form[action="`+timeuse.AreaPath+`/diario/festivo/giorno"] button[type="submit"]`)
		press(b, "copying the morning", `main form[action="`+timeuse.AreaPath+`/diario/festivo/copia-mattina"] button[type="submit"]`)
		b.wantText("main", "Mattina copiata")
		addEpisode(b, "festivo", "12:00", "23:00", "512", "14", "others")
		addEpisode(b, "festivo", "23:00", "04:00", "011", "11", "alone")
		b.wantText("main", "La giornata è completa.")
		b.open(d.TLS+timeuse.AreaPath, 200)
		press(b, "sending", `main form[action="`+timeuse.SendPath+`"] button[type="submit"]`)
		b.wantText("main", "Grazie: le tue risposte sono state inviate.")
	})
}

// The survey's results in a browser, axe on every page: the results job
// ran on the demo's synthetic answers when the server started; the
// statistics office (the demo's administrator) sees them, said to be
// synthetic, with their SVG charts, and publishes them; everyone sees
// them and chooses another grouping and day with the form (no script);
// the coordination view of opening hours shows the proposed openings.
func TestTimeUseResultsPages(t *testing.T) {
	requireE2E(t)
	d := startDemo(t)
	b := newBrowser(t)
	r := newAxeRun(t, b, loadAxe(t))
	email, password := demoLogin(t, d, demoOperatorEmail)
	operatorLogin(b, d, email, password)
	charts := `document.querySelectorAll('main svg[role="img"] > title').length`
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(2 * time.Second) {
		b.open(d.Portal+timeuse.OfficeResultsPath, 200)
		if eval[int](b, charts) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the results job has not run two minutes after the start: %s", b.text("main"))
		}
	}
	b.wantText(`main [data-element="synthetic"]`, "risposte sintetiche")
	r.check("the statistics office's results")

	b.submit("publishing the results", `main form[action="`+timeuse.PublishPath+`"] button[type="submit"]`, 200)
	b.wantText(`main .alert-info[role="status"]`, "Risultati pubblicati")
	r.check("the office's results once published")

	b.open(d.Portal+timeuse.ResultsPath, 200)
	b.wantText("main h1", "Risultati dell'indagine sull'uso del tempo")
	if n := eval[int](b, charts); n != 3 {
		t.Fatalf("the public results show %d charts, want the budget, the tempogram and the reachability", n)
	}
	r.check("the public results")
	b.fill(timeuse.ResultsPath, "per", "eta")
	b.fill(timeuse.ResultsPath, "giorno", "domenica")
	b.submit("showing the results by age on Sundays", `main form[action="`+timeuse.ResultsPath+`"] button[type="submit"]`, 200)
	b.wantText("#budget-h", "Domenica")
	b.wantText("main table caption", "per Fascia d'età")
	r.check("the public results by age on Sundays")

	b.open(d.Portal+"/coordinamento-orari?categoria=anagrafe-e-stato-civile", 200)
	if n := eval[int](b, `document.querySelectorAll('main [data-element="timeuse-proposals"] tbody tr').length`); n == 0 {
		t.Fatalf("the coordination view shows no proposed opening: %s", b.text("main"))
	}
	r.check("the coordination view with the survey's proposals")
	r.finish()
}
