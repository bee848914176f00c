package analysis

import "testing"

func TestActivityList(t *testing.T) {
	all := Activities()
	levels := map[int]int{}
	for _, a := range all {
		levels[a.Level]++
		if a.It == "" || a.En == "" {
			t.Errorf("%s has an empty label", a.Code)
		}
	}
	if levels[1] != 10 {
		t.Errorf("%d 1-digit codes, want 10", levels[1])
	}
	// hetus.md: 3+2+2+9+3+3+3+3+3+9 second-level codes.
	if levels[2] != 40 || len(TwoDigitCodes()) != 40 {
		t.Errorf("%d 2-digit codes, want 40", levels[2])
	}
	a, ok := Activity("011")
	if !ok || a.En != "Sleep" || a.Parent != "01" {
		t.Errorf("011 = %+v, %v", a, ok)
	}
	a, ok = Activity("11")
	if !ok || a.En != "Main and second job" || a.Parent != "1" {
		t.Errorf("11 = %+v, %v", a, ok)
	}
	if _, ok := Activity("10"); ok {
		t.Error("10 is not a code")
	}
	all[0].En = "changed"
	if a, _ := Activity("0"); a.En != "Personal care" {
		t.Error("Activities returned the list itself, not a copy")
	}
}

func TestCheckCode(t *testing.T) {
	for _, c := range []string{"0", "011", "11", "912", "99", "995"} {
		if err := CheckCode(c); err != nil {
			t.Errorf("CheckCode(%q) = %v", c, err)
		}
	}
	for _, c := range []string{"", "1a", "0111", "10", "-1", " 1", "97"} {
		if err := CheckCode(c); err == nil {
			t.Errorf("CheckCode(%q) accepted", c)
		}
	}
}

func TestSearchActivities(t *testing.T) {
	got := SearchActivities("Televisione", 10)
	if len(got) == 0 || got[0].Code != "82" {
		t.Errorf("Televisione: %+v", got)
	}
	got = SearchActivities("attivita fisica", 10)
	if len(got) == 0 || got[0].Code != "61" {
		t.Errorf("attivita fisica (no accent): %+v", got)
	}
	got = SearchActivities("sleep", 10)
	if len(got) != 2 || got[0].Code != "01" || got[1].Code != "011" {
		t.Errorf("sleep: %+v", got)
	}
	got = SearchActivities("3", 5)
	if len(got) != 5 || got[0].Code != "3" || got[1].Code != "31" {
		t.Errorf("3: %+v", got)
	}
	if SearchActivities("  ", 10) != nil {
		t.Error("blank query matched")
	}
}
