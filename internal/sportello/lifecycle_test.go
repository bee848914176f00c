package sportello

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/hours"
)

// o is one cell of the table: "→state" when the actor may act and the
// application goes there, "refused_reason" otherwise.
type o [3]string // resident, office, system

// table is every action from every state by every actor. Guards that
// depend on more than the state (once only, the service allows it, the
// days have passed) are the snapshot's defaults here and get tests of
// their own below: integration not yet used, the service allows
// withdrawal, the resident's integration and remarks periods still
// running.
var table = map[Action]map[State]o{
	Save: {
		Draft:                {"→draft", "resident_only", "resident_only"},
		Submitted:            {"already_submitted", "resident_only", "resident_only"},
		Registered:           {"already_submitted", "resident_only", "resident_only"},
		InProgress:           {"already_submitted", "resident_only", "resident_only"},
		IntegrationRequested: {"already_submitted", "resident_only", "resident_only"},
		Integrated:           {"already_submitted", "resident_only", "resident_only"},
		RefusalNotice:        {"already_submitted", "resident_only", "resident_only"},
		RemarksReceived:      {"already_submitted", "resident_only", "resident_only"},
		Accepted:             {"already_submitted", "resident_only", "resident_only"},
		Rejected:             {"already_submitted", "resident_only", "resident_only"},
		Withdrawn:            {"already_submitted", "resident_only", "resident_only"},
		Cancelled:            {"already_submitted", "resident_only", "resident_only"},
	},
	Discard: {
		Draft:                {"→discarded", "resident_only", "resident_only"},
		Submitted:            {"already_submitted", "resident_only", "resident_only"},
		Registered:           {"already_submitted", "resident_only", "resident_only"},
		InProgress:           {"already_submitted", "resident_only", "resident_only"},
		IntegrationRequested: {"already_submitted", "resident_only", "resident_only"},
		Integrated:           {"already_submitted", "resident_only", "resident_only"},
		RefusalNotice:        {"already_submitted", "resident_only", "resident_only"},
		RemarksReceived:      {"already_submitted", "resident_only", "resident_only"},
		Accepted:             {"already_submitted", "resident_only", "resident_only"},
		Rejected:             {"already_submitted", "resident_only", "resident_only"},
		Withdrawn:            {"already_submitted", "resident_only", "resident_only"},
		Cancelled:            {"already_submitted", "resident_only", "resident_only"},
	},
	Submit: {
		Draft:                {"→submitted", "resident_only", "resident_only"},
		Submitted:            {"already_submitted", "resident_only", "resident_only"},
		Registered:           {"already_submitted", "resident_only", "resident_only"},
		InProgress:           {"already_submitted", "resident_only", "resident_only"},
		IntegrationRequested: {"already_submitted", "resident_only", "resident_only"},
		Integrated:           {"already_submitted", "resident_only", "resident_only"},
		RefusalNotice:        {"already_submitted", "resident_only", "resident_only"},
		RemarksReceived:      {"already_submitted", "resident_only", "resident_only"},
		Accepted:             {"already_submitted", "resident_only", "resident_only"},
		Rejected:             {"already_submitted", "resident_only", "resident_only"},
		Withdrawn:            {"already_submitted", "resident_only", "resident_only"},
		Cancelled:            {"already_submitted", "resident_only", "resident_only"},
	},
	Register: {
		Draft:                {"system_only", "system_only", "draft"},
		Submitted:            {"system_only", "system_only", "→registered"},
		Registered:           {"system_only", "system_only", "already_registered"},
		InProgress:           {"system_only", "system_only", "already_registered"},
		IntegrationRequested: {"system_only", "system_only", "already_registered"},
		Integrated:           {"system_only", "system_only", "already_registered"},
		RefusalNotice:        {"system_only", "system_only", "already_registered"},
		RemarksReceived:      {"system_only", "system_only", "already_registered"},
		Accepted:             {"system_only", "system_only", "already_registered"},
		Rejected:             {"system_only", "system_only", "already_registered"},
		Withdrawn:            {"system_only", "system_only", "already_registered"},
		Cancelled:            {"system_only", "system_only", "already_registered"},
	},
	Assign: {
		Draft:                {"office_only", "draft", "office_only"},
		Submitted:            {"office_only", "not_registered", "office_only"},
		Registered:           {"office_only", "→registered", "office_only"},
		InProgress:           {"office_only", "→in_progress", "office_only"},
		IntegrationRequested: {"office_only", "→integration_requested", "office_only"},
		Integrated:           {"office_only", "→integrated", "office_only"},
		RefusalNotice:        {"office_only", "→refusal_notice", "office_only"},
		RemarksReceived:      {"office_only", "→remarks_received", "office_only"},
		Accepted:             {"office_only", "closed", "office_only"},
		Rejected:             {"office_only", "closed", "office_only"},
		Withdrawn:            {"office_only", "closed", "office_only"},
		Cancelled:            {"office_only", "closed", "office_only"},
	},
	Take: {
		Draft:                {"office_only", "draft", "office_only"},
		Submitted:            {"office_only", "not_registered", "office_only"},
		Registered:           {"office_only", "→in_progress", "office_only"},
		InProgress:           {"office_only", "already_taken", "office_only"},
		IntegrationRequested: {"office_only", "already_taken", "office_only"},
		Integrated:           {"office_only", "already_taken", "office_only"},
		RefusalNotice:        {"office_only", "already_taken", "office_only"},
		RemarksReceived:      {"office_only", "already_taken", "office_only"},
		Accepted:             {"office_only", "closed", "office_only"},
		Rejected:             {"office_only", "closed", "office_only"},
		Withdrawn:            {"office_only", "closed", "office_only"},
		Cancelled:            {"office_only", "closed", "office_only"},
	},
	Message: {
		Draft:                {"draft", "draft", "people_only"},
		Submitted:            {"not_registered", "not_registered", "people_only"},
		Registered:           {"→registered", "→registered", "people_only"},
		InProgress:           {"→in_progress", "→in_progress", "people_only"},
		IntegrationRequested: {"→integration_requested", "→integration_requested", "people_only"},
		Integrated:           {"→integrated", "→integrated", "people_only"},
		RefusalNotice:        {"→refusal_notice", "→refusal_notice", "people_only"},
		RemarksReceived:      {"→remarks_received", "→remarks_received", "people_only"},
		Accepted:             {"closed", "closed", "people_only"},
		Rejected:             {"closed", "closed", "people_only"},
		Withdrawn:            {"closed", "closed", "people_only"},
		Cancelled:            {"closed", "closed", "people_only"},
	},
	RequestIntegration: {
		Draft:                {"office_only", "draft", "office_only"},
		Submitted:            {"office_only", "not_registered", "office_only"},
		Registered:           {"office_only", "not_taken", "office_only"},
		InProgress:           {"office_only", "→integration_requested", "office_only"},
		IntegrationRequested: {"office_only", "integration_once", "office_only"},
		Integrated:           {"office_only", "integration_once", "office_only"},
		RefusalNotice:        {"office_only", "notice_sent", "office_only"},
		RemarksReceived:      {"office_only", "notice_sent", "office_only"},
		Accepted:             {"office_only", "closed", "office_only"},
		Rejected:             {"office_only", "closed", "office_only"},
		Withdrawn:            {"office_only", "closed", "office_only"},
		Cancelled:            {"office_only", "closed", "office_only"},
	},
	Integrate: {
		Draft:                {"draft", "resident_only", "resident_only"},
		Submitted:            {"not_registered", "resident_only", "resident_only"},
		Registered:           {"no_integration", "resident_only", "resident_only"},
		InProgress:           {"no_integration", "resident_only", "resident_only"},
		IntegrationRequested: {"→integrated", "resident_only", "resident_only"},
		Integrated:           {"already_integrated", "resident_only", "resident_only"},
		RefusalNotice:        {"no_integration", "resident_only", "resident_only"},
		RemarksReceived:      {"no_integration", "resident_only", "resident_only"},
		Accepted:             {"closed", "resident_only", "resident_only"},
		Rejected:             {"closed", "resident_only", "resident_only"},
		Withdrawn:            {"closed", "resident_only", "resident_only"},
		Cancelled:            {"closed", "resident_only", "resident_only"},
	},
	SendNotice: {
		Draft:                {"office_only", "draft", "office_only"},
		Submitted:            {"office_only", "not_registered", "office_only"},
		Registered:           {"office_only", "not_taken", "office_only"},
		InProgress:           {"office_only", "→refusal_notice", "office_only"},
		IntegrationRequested: {"office_only", "integration_pending", "office_only"},
		Integrated:           {"office_only", "→refusal_notice", "office_only"},
		RefusalNotice:        {"office_only", "notice_sent", "office_only"},
		RemarksReceived:      {"office_only", "notice_sent", "office_only"},
		Accepted:             {"office_only", "closed", "office_only"},
		Rejected:             {"office_only", "closed", "office_only"},
		Withdrawn:            {"office_only", "closed", "office_only"},
		Cancelled:            {"office_only", "closed", "office_only"},
	},
	Remarks: {
		Draft:                {"draft", "resident_only", "resident_only"},
		Submitted:            {"not_registered", "resident_only", "resident_only"},
		Registered:           {"no_notice", "resident_only", "resident_only"},
		InProgress:           {"no_notice", "resident_only", "resident_only"},
		IntegrationRequested: {"no_notice", "resident_only", "resident_only"},
		Integrated:           {"no_notice", "resident_only", "resident_only"},
		RefusalNotice:        {"→remarks_received", "resident_only", "resident_only"},
		RemarksReceived:      {"remarks_sent", "resident_only", "resident_only"},
		Accepted:             {"closed", "resident_only", "resident_only"},
		Rejected:             {"closed", "resident_only", "resident_only"},
		Withdrawn:            {"closed", "resident_only", "resident_only"},
		Cancelled:            {"closed", "resident_only", "resident_only"},
	},
	Accept: {
		Draft:                {"office_only", "draft", "office_only"},
		Submitted:            {"office_only", "not_registered", "office_only"},
		Registered:           {"office_only", "not_taken", "office_only"},
		InProgress:           {"office_only", "→accepted", "office_only"},
		IntegrationRequested: {"office_only", "integration_pending", "office_only"},
		Integrated:           {"office_only", "→accepted", "office_only"},
		RefusalNotice:        {"office_only", "→accepted", "office_only"},
		RemarksReceived:      {"office_only", "→accepted", "office_only"},
		Accepted:             {"office_only", "closed", "office_only"},
		Rejected:             {"office_only", "closed", "office_only"},
		Withdrawn:            {"office_only", "closed", "office_only"},
		Cancelled:            {"office_only", "closed", "office_only"},
	},
	Reject: {
		Draft:                {"office_only", "draft", "office_only"},
		Submitted:            {"office_only", "not_registered", "office_only"},
		Registered:           {"office_only", "not_taken", "office_only"},
		InProgress:           {"office_only", "notice_first", "office_only"},
		IntegrationRequested: {"office_only", "notice_first", "office_only"},
		Integrated:           {"office_only", "notice_first", "office_only"},
		RefusalNotice:        {"office_only", "remarks_pending", "office_only"},
		RemarksReceived:      {"office_only", "→rejected", "office_only"},
		Accepted:             {"office_only", "closed", "office_only"},
		Rejected:             {"office_only", "closed", "office_only"},
		Withdrawn:            {"office_only", "closed", "office_only"},
		Cancelled:            {"office_only", "closed", "office_only"},
	},
	Withdraw: {
		Draft:                {"draft", "resident_only", "resident_only"},
		Submitted:            {"not_registered", "resident_only", "resident_only"},
		Registered:           {"→withdrawn", "resident_only", "resident_only"},
		InProgress:           {"→withdrawn", "resident_only", "resident_only"},
		IntegrationRequested: {"→withdrawn", "resident_only", "resident_only"},
		Integrated:           {"→withdrawn", "resident_only", "resident_only"},
		RefusalNotice:        {"→withdrawn", "resident_only", "resident_only"},
		RemarksReceived:      {"→withdrawn", "resident_only", "resident_only"},
		Accepted:             {"closed", "resident_only", "resident_only"},
		Rejected:             {"closed", "resident_only", "resident_only"},
		Withdrawn:            {"closed", "resident_only", "resident_only"},
		Cancelled:            {"closed", "resident_only", "resident_only"},
	},
	Cancel: {
		Draft:                {"office_only", "draft", "office_only"},
		Submitted:            {"office_only", "not_registered", "office_only"},
		Registered:           {"office_only", "→cancelled", "office_only"},
		InProgress:           {"office_only", "→cancelled", "office_only"},
		IntegrationRequested: {"office_only", "→cancelled", "office_only"},
		Integrated:           {"office_only", "→cancelled", "office_only"},
		RefusalNotice:        {"office_only", "→cancelled", "office_only"},
		RemarksReceived:      {"office_only", "→cancelled", "office_only"},
		Accepted:             {"office_only", "closed", "office_only"},
		Rejected:             {"office_only", "closed", "office_only"},
		Withdrawn:            {"office_only", "closed", "office_only"},
		Cancelled:            {"office_only", "closed", "office_only"},
	},
}

var t0 = time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)

// snapshot is an application in state with the table's defaults: the
// guards that depend on more than the state let the action through.
func snapshot(s State) Snapshot {
	snap := Snapshot{State: s, TermDays: 30, Withdrawable: true}
	if s != Draft && s != Submitted {
		snap.RegisteredAt = t0
	}
	switch s {
	case IntegrationRequested:
		snap.IntegrationUsed = true
		snap.PauseFrom, snap.PauseUntil = t0.Add(24*time.Hour), t0.Add(11*24*time.Hour)
		snap.IntegrationUntil = snap.PauseUntil
	case Integrated, RefusalNotice, RemarksReceived:
		snap.IntegrationUsed = s == Integrated
	}
	if s == RefusalNotice || s == RemarksReceived {
		snap.NoticeAt = t0.Add(2 * 24 * time.Hour)
		snap.PauseFrom, snap.PauseUntil = snap.NoticeAt, snap.NoticeAt.Add(10*24*time.Hour)
	}
	if s == RemarksReceived {
		snap.RemarksAt = snap.NoticeAt.Add(24 * time.Hour)
		snap.PauseUntil = snap.RemarksAt.Add(10 * 24 * time.Hour)
	}
	return snap
}

// params are what each action needs: a reason, days, a document.
func params(Action) Params {
	return Params{Note: "Motivazione della decisione", Days: 10, Document: true}
}

func TestEveryTransition(t *testing.T) {
	now := t0.Add(5 * 24 * time.Hour) // within every period the snapshots open
	actors := []Actor{Resident, Office, System}
	n := 0
	for _, a := range Actions {
		rows, ok := table[a]
		if !ok {
			t.Errorf("the table has no row for %s", a)
			continue
		}
		for _, s := range States {
			cell, ok := rows[s]
			if !ok {
				t.Errorf("the table has no cell for %s from %s", a, s)
				continue
			}
			for i, by := range actors {
				n++
				before := snapshot(s)
				after, err := Apply(before, a, by, params(a), now)
				got := ""
				var refusal *Refusal
				switch {
				case err == nil && after.Discarded:
					got = "→discarded"
				case err == nil:
					got = "→" + string(after.State)
				case errors.As(err, &refusal):
					got = refusal.Reason
					if after != before {
						t.Errorf("%s %s by %s: refused, yet the snapshot changed: %+v", a, s, by, after)
					}
				default:
					t.Errorf("%s %s by %s: %v is no Refusal", a, s, by, err)
				}
				if want := cell[i]; got != want {
					t.Errorf("%s from %s by %s: %s, want %s", a, s, by, got, want)
				}
			}
		}
	}
	if want := len(Actions) * len(States) * 3; n != want {
		t.Errorf("%d cells, want %d", n, want)
	}
}

// Every refusal has a message for the person refused, in both languages:
// the test of the locales checks that each Reason's id exists.
func TestRefusalMessage(t *testing.T) {
	_, err := Apply(snapshot(Accepted), Message, Resident, Params{Note: "x"}, t0)
	var r *Refusal
	if !errors.As(err, &r) || r.Message() != "sportello.refused.closed" || !strings.Contains(err.Error(), "closed") {
		t.Errorf("refusal %v", err)
	}
}

// The guards that depend on more than the state.
func TestGuards(t *testing.T) {
	day := 24 * time.Hour
	for _, c := range []struct {
		name   string
		snap   func() Snapshot
		action Action
		by     Actor
		p      Params
		at     time.Time
		want   string
	}{
		{"integration once: asked and answered", func() Snapshot { s := snapshot(InProgress); s.IntegrationUsed = true; return s },
			RequestIntegration, Office, Params{Note: "x", Days: 10}, t0.Add(5 * day), "integration_once"},
		{"integration for more than 30 days", func() Snapshot { return snapshot(InProgress) }, RequestIntegration, Office, Params{Note: "x", Days: 31}, t0, "integration_days"},
		{"integration for no days", func() Snapshot { return snapshot(InProgress) }, RequestIntegration, Office, Params{Note: "x", Days: 0}, t0, "integration_days"},
		{"integration says what", func() Snapshot { return snapshot(InProgress) }, RequestIntegration, Office, Params{Note: " ", Days: 10}, t0, "note_missing"},
		{"integration for 30 days", func() Snapshot { return snapshot(InProgress) }, RequestIntegration, Office, Params{Note: "x", Days: 30}, t0, "→integration_requested"},
		{"office waits for the integration", func() Snapshot { return snapshot(IntegrationRequested) }, Accept, Office, params(Accept), t0.Add(11*day - time.Second), "integration_pending"},
		{"integration time over: accept", func() Snapshot { return snapshot(IntegrationRequested) }, Accept, Office, params(Accept), t0.Add(11 * day), "→accepted"},
		{"integration time over: notice", func() Snapshot { return snapshot(IntegrationRequested) }, SendNotice, Office, params(SendNotice), t0.Add(12 * day), "→refusal_notice"},
		{"late integration still taken", func() Snapshot { return snapshot(IntegrationRequested) }, Integrate, Resident, Params{Note: "ecco"}, t0.Add(20 * day), "→integrated"},
		{"remarks in time", func() Snapshot { return snapshot(RefusalNotice) }, Remarks, Resident, Params{Note: "osservo"}, t0.Add(12*day - time.Second), "→remarks_received"},
		{"remarks late", func() Snapshot { return snapshot(RefusalNotice) }, Remarks, Resident, Params{Note: "osservo"}, t0.Add(12 * day), "remarks_late"},
		{"remarks say something", func() Snapshot { return snapshot(RefusalNotice) }, Remarks, Resident, Params{}, t0.Add(3 * day), "note_missing"},
		{"reject before the 10 days", func() Snapshot { return snapshot(RefusalNotice) }, Reject, Office, params(Reject), t0.Add(12*day - time.Second), "remarks_pending"},
		{"reject after the 10 days", func() Snapshot { return snapshot(RefusalNotice) }, Reject, Office, params(Reject), t0.Add(12 * day), "→rejected"},
		{"reject needs a motivation", func() Snapshot { return snapshot(RemarksReceived) }, Reject, Office, Params{Document: true}, t0.Add(5 * day), "note_missing"},
		{"reject needs the reply", func() Snapshot { return snapshot(RemarksReceived) }, Reject, Office, Params{Note: "x"}, t0.Add(5 * day), "document_missing"},
		{"accept needs the reply", func() Snapshot { return snapshot(InProgress) }, Accept, Office, Params{Note: "x"}, t0.Add(5 * day), "document_missing"},
		{"notice needs reasons", func() Snapshot { return snapshot(InProgress) }, SendNotice, Office, Params{}, t0.Add(5 * day), "note_missing"},
		{"cancel needs a reason", func() Snapshot { return snapshot(InProgress) }, Cancel, Office, Params{}, t0.Add(5 * day), "note_missing"},
		{"a message says something", func() Snapshot { return snapshot(InProgress) }, Message, Resident, Params{Note: "  \n"}, t0.Add(5 * day), "note_missing"},
		{"not withdrawable", func() Snapshot { s := snapshot(InProgress); s.Withdrawable = false; return s }, Withdraw, Resident, Params{}, t0.Add(5 * day), "not_withdrawable"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := c.snap()
			after, err := Apply(before, c.action, c.by, c.p, c.at)
			got := "→" + string(after.State)
			var r *Refusal
			if errors.As(err, &r) {
				got = r.Reason
				if after != before {
					t.Errorf("refused, yet the snapshot changed")
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("%s, want %s", got, c.want)
			}
		})
	}
}

// The clock of L. 241/1990: the term runs from the registration; a
// request for integration suspends it (once, at most 30 days) until the
// resident answers or the days run out; a notice of refusal (art. 10-bis)
// suspends it until 10 days after the remarks, or for 10 days without
// them.
func TestClock(t *testing.T) {
	day := 24 * time.Hour
	reg := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
	s := Snapshot{State: Submitted, TermDays: 30, Withdrawable: true}
	step := func(a Action, by Actor, p Params, at time.Time) {
		t.Helper()
		var err error
		if s, err = Apply(s, a, by, p, at); err != nil {
			t.Fatalf("%s: %v", a, err)
		}
	}
	date := func(tm time.Time) string { return tm.Format("2006-01-02") }
	step(Register, System, Params{}, reg)
	if got := date(s.Due()); got != "2027-03-31" {
		t.Fatalf("due %s after registration, want 2027-03-31", got)
	}
	step(Take, Office, Params{}, reg.Add(2*day))
	// Integration asked on day 10 for 20 days: paused, and the due date
	// shows the whole pause until the resident answers.
	step(RequestIntegration, Office, Params{Note: "manca la planimetria", Days: 20}, reg.Add(10*day))
	if !s.Paused(reg.Add(11*day)) || s.Overdue(reg.Add(45*day)) || date(s.Due()) != "2027-04-20" {
		t.Fatalf("during the integration: paused %v, due %s", s.Paused(reg.Add(11*day)), date(s.Due()))
	}
	if got := date(s.IntegrationDue()); got != "2027-03-31" {
		t.Errorf("integration due %s", got)
	}
	// Answered after 5 days: 5 days are added, not 20.
	step(Integrate, Resident, Params{Note: "allegata"}, reg.Add(15*day))
	if s.Paused(reg.Add(16*day)) || date(s.Due()) != "2027-04-05" {
		t.Fatalf("after the integration: paused %v, due %s", s.Paused(reg.Add(16*day)), date(s.Due()))
	}
	// A notice of refusal on day 20: suspended for 10 days, then 10 days
	// after the remarks sent on day 24 (14 days in all).
	step(SendNotice, Office, Params{Note: "requisiti mancanti"}, reg.Add(20*day))
	if got := date(s.Due()); got != "2027-04-15" {
		t.Fatalf("due %s during the notice, want 2027-04-15", got)
	}
	if got := date(s.RemarksDue()); got != "2027-03-31" {
		t.Errorf("remarks due %s", got)
	}
	step(Remarks, Resident, Params{Note: "ecco i requisiti"}, reg.Add(24*day))
	if got := date(s.Due()); got != "2027-04-19" {
		t.Fatalf("due %s after the remarks, want 2027-04-19", got)
	}
	if s.Overdue(reg.Add(49*day)) || !s.Overdue(reg.Add(50*day)) {
		t.Errorf("overdue: day 49 %v, day 50 %v", s.Overdue(reg.Add(49*day)), s.Overdue(reg.Add(50*day)))
	}
	// Decided on day 30, while the suspension still ran: the pause counts
	// to the decision, and a decided application is never overdue.
	step(Accept, Office, Params{Note: "accolta", Document: true}, reg.Add(30*day))
	if s.SuspendedDays != 15 || s.Overdue(reg.Add(400*day)) || !s.DecidedAt.Equal(reg.Add(30*day)) {
		t.Errorf("after the decision: suspended %v, overdue %v", s.SuspendedDays, s.Overdue(reg.Add(400*day)))
	}

	// An integration never answered: the pause ends with its days, and the
	// clock runs again by itself.
	s = Snapshot{State: Submitted, TermDays: 10, Withdrawable: true}
	step(Register, System, Params{}, reg)
	step(Take, Office, Params{}, reg)
	step(RequestIntegration, Office, Params{Note: "x", Days: 30}, reg.Add(day))
	if s.Overdue(reg.Add(40*day)) || !s.Overdue(reg.Add(41*day)) {
		t.Errorf("unanswered integration: overdue on the last day %v, the day after %v", s.Overdue(reg.Add(40*day)), s.Overdue(reg.Add(41*day)))
	}
	step(SendNotice, Office, Params{Note: "x"}, reg.Add(35*day))
	if s.SuspendedDays != 30 {
		t.Errorf("a lapsed integration suspends its whole 30 days, got %v", s.SuspendedDays)
	}

	// A service with no term of its own has the law's 30 days.
	s = Snapshot{State: Submitted, Withdrawable: true}
	step(Register, System, Params{}, reg)
	if got := date(s.Due()); got != "2027-03-31" {
		t.Errorf("default term: due %s", got)
	}
	// The term is counted in days of the town's calendar: across the
	// change to summer time the due day keeps its hour.
	s = Snapshot{State: Submitted, TermDays: 1, Withdrawable: true}
	step(Register, System, Params{}, time.Date(2027, 3, 27, 23, 30, 0, 0, time.UTC)) // 00:30 in Rome, 28 March
	if got := s.Due().In(hours.Rome).Format("2006-01-02 15:04"); got != "2027-03-29 00:30" {
		t.Errorf("across summer time: due %s", got)
	}
}

func ExampleApply() {
	s := Snapshot{State: Draft, TermDays: 30}
	s, _ = Apply(s, Submit, Resident, Params{}, t0)
	_, err := Apply(s, Accept, Office, Params{Note: "ok", Document: true}, t0)
	fmt.Println(s.State, err)
	// Output: submitted refused: accept from submitted by office: not_registered
}
