package sportello

import (
	"slices"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/hours"
)

// The life of an application, after L. 241/1990 and DPR 445/2000, as one
// pure function: Apply takes an application's Snapshot, an action, who
// acts and when, and returns the snapshot after it, or a Refusal that says
// why not and changes nothing. The store calls it inside the transaction
// that records the step, its history row and its audit entry.
//
//	draft ──submit──▶ submitted ──register──▶ registered (protocol number, receipt)
//	registered ──take──▶ in progress ──request integration (once, ≤ 30 days)──▶ integration requested
//	integration requested ──integrate──▶ integrated
//	in progress | integrated ──send notice (art. 10-bis)──▶ refusal notice ──remarks──▶ remarks received
//	in progress | integrated | refusal notice | remarks received ──accept──▶ accepted
//	remarks received | refusal notice, its 10 days over ──reject──▶ rejected
//	any open state ──withdraw (resident, where the service allows)──▶ withdrawn
//	any open state ──cancel (office, with a reason)──▶ cancelled

// State is where an application stands.
type State string

// The states.
const (
	Draft                State = "draft"
	Submitted            State = "submitted"
	Registered           State = "registered"
	InProgress           State = "in_progress"
	IntegrationRequested State = "integration_requested"
	Integrated           State = "integrated"
	RefusalNotice        State = "refusal_notice"
	RemarksReceived      State = "remarks_received"
	Accepted             State = "accepted"
	Rejected             State = "rejected"
	Withdrawn            State = "withdrawn"
	Cancelled            State = "cancelled"
)

// States are every state, in the order of a procedure.
var States = []State{Draft, Submitted, Registered, InProgress, IntegrationRequested, Integrated, RefusalNotice, RemarksReceived,
	Accepted, Rejected, Withdrawn, Cancelled}

// OpenStates are those of a registered application not yet concluded.
var OpenStates = []State{Registered, InProgress, IntegrationRequested, Integrated, RefusalNotice, RemarksReceived}

// ClosedStates are the conclusions.
var ClosedStates = []State{Accepted, Rejected, Withdrawn, Cancelled}

// Open reports whether the application is registered and not concluded.
func (s State) Open() bool { return slices.Contains(OpenStates, s) }

// Closed reports whether the application is concluded.
func (s State) Closed() bool { return slices.Contains(ClosedStates, s) }

// AwaitsResident reports whether the application waits for the resident
// (an integration, remarks): the personal area counts it.
func (s State) AwaitsResident() bool { return s == IntegrationRequested || s == RefusalNotice }

// Action is what someone does to an application.
type Action string

// The actions.
const (
	Save               Action = "save"
	Discard            Action = "discard"
	Submit             Action = "submit"
	Register           Action = "register"
	Assign             Action = "assign"
	Take               Action = "take"
	Message            Action = "message"
	RequestIntegration Action = "request_integration"
	Integrate          Action = "integrate"
	SendNotice         Action = "send_notice"
	Remarks            Action = "remarks"
	Accept             Action = "accept"
	Reject             Action = "reject"
	Withdraw           Action = "withdraw"
	Cancel             Action = "cancel"
)

// Actions are every action.
var Actions = []Action{Save, Discard, Submit, Register, Assign, Take, Message, RequestIntegration, Integrate, SendNotice, Remarks,
	Accept, Reject, Withdraw, Cancel}

// Actor is who acts: the resident the application belongs to, an
// operator of the office, or civico itself.
type Actor string

// The actors.
const (
	Resident Actor = "resident"
	Office   Actor = "office"
	System   Actor = "system"
)

// Periods set by law.
const (
	// DefaultTermDays is the term when the service states none (art. 2 c.2).
	DefaultTermDays = 30
	// MaxIntegrationDays bounds the one suspension for integration (art. 2 c.7).
	MaxIntegrationDays = 30
	// RemarksDays are the resident's days for remarks after a notice of
	// refusal; the term restarts as many days after them (art. 10-bis).
	RemarksDays = 10
)

// Snapshot is what the rules need to know of an application.
type Snapshot struct {
	State State
	// TermDays is the service's maximum time to decide (DefaultTermDays
	// when 0); Withdrawable whether the service lets residents withdraw.
	TermDays     int
	Withdrawable bool
	// RegisteredAt starts the term; DecidedAt ends the procedure.
	RegisteredAt, DecidedAt time.Time
	// SuspendedDays add up the suspensions that ended, in days of the
	// town's calendar.
	SuspendedDays int
	// PauseFrom and PauseUntil are the suspension under way (zero when
	// none): until the end of the integration's days, or of the remarks'.
	PauseFrom, PauseUntil time.Time
	IntegrationUsed       bool
	// IntegrationUntil is when the resident's days to integrate end.
	IntegrationUntil time.Time
	// NoticeAt is when the notice of refusal was sent, RemarksAt when the
	// resident's remarks arrived.
	NoticeAt, RemarksAt time.Time
	// Discarded: the draft is to be deleted.
	Discarded bool
}

// Params are what an action carries.
type Params struct {
	// Note is the message, the reasons, the motivation.
	Note string
	// Days are the days given to integrate.
	Days int
	// Document: a reply document comes with the decision, or a document
	// with the integration.
	Document bool
}

// Refusal says why an action is not allowed: Reason is the end of a
// message id ("sportello.refused." + Reason).
type Refusal struct {
	Action Action
	From   State
	By     Actor
	Reason string
}

func (r *Refusal) Error() string {
	return "refused: " + string(r.Action) + " from " + string(r.From) + " by " + string(r.By) + ": " + r.Reason
}

// Message is the message id of the refusal.
func (r *Refusal) Message() string { return "sportello.refused." + r.Reason }

// who may do each action.
var actors = map[Action][]Actor{
	Save: {Resident}, Discard: {Resident}, Submit: {Resident}, Register: {System},
	Assign: {Office}, Take: {Office}, Message: {Resident, Office}, RequestIntegration: {Office},
	Integrate: {Resident}, SendNotice: {Office}, Remarks: {Resident}, Accept: {Office}, Reject: {Office},
	Withdraw: {Resident}, Cancel: {Office},
}

// Apply is one step of the procedure at now, or the reason it is refused
// (the snapshot then comes back unchanged).
func Apply(s Snapshot, a Action, by Actor, p Params, now time.Time) (Snapshot, error) {
	refuse := func(reason string) (Snapshot, error) {
		return s, &Refusal{Action: a, From: s.State, By: by, Reason: reason}
	}
	who := actors[a]
	if !slices.Contains(who, by) {
		switch {
		case len(who) == 2:
			return refuse("people_only")
		case who[0] == Resident:
			return refuse("resident_only")
		case who[0] == Office:
			return refuse("office_only")
		}
		return refuse("system_only")
	}
	// Before the state's own rules: what every post-registration action
	// shares.
	switch a {
	case Save, Discard, Submit:
		if s.State != Draft {
			return refuse("already_submitted")
		}
	case Register:
		switch {
		case s.State == Draft:
			return refuse("draft")
		case s.State != Submitted:
			return refuse("already_registered")
		}
	default:
		switch {
		case s.State == Draft:
			return refuse("draft")
		case s.State == Submitted:
			return refuse("not_registered")
		case s.State.Closed():
			return refuse("closed")
		}
	}
	note := strings.TrimSpace(p.Note) != ""
	n := s
	switch a {
	case Save:
	case Discard:
		n.Discarded = true
	case Submit:
		n.State = Submitted
	case Register:
		n.State, n.RegisteredAt = Registered, now
	case Assign:
	case Take:
		if s.State != Registered {
			return refuse("already_taken")
		}
		n.State = InProgress
	case Message:
		if !note {
			return refuse("note_missing")
		}
	case RequestIntegration:
		switch s.State {
		case Registered:
			return refuse("not_taken")
		case IntegrationRequested, Integrated:
			return refuse("integration_once")
		case RefusalNotice, RemarksReceived:
			return refuse("notice_sent")
		}
		switch {
		case s.IntegrationUsed:
			return refuse("integration_once")
		case p.Days < 1 || p.Days > MaxIntegrationDays:
			return refuse("integration_days")
		case !note:
			return refuse("note_missing")
		}
		n.State, n.IntegrationUsed = IntegrationRequested, true
		n.PauseFrom, n.PauseUntil = now, addDays(now, p.Days)
		n.IntegrationUntil = n.PauseUntil
	case Integrate:
		switch s.State {
		case IntegrationRequested:
		case Integrated:
			return refuse("already_integrated")
		default:
			return refuse("no_integration")
		}
		if !note && !p.Document {
			return refuse("note_missing")
		}
		n.State = Integrated
		n.endPause(now)
	case SendNotice:
		switch s.State {
		case Registered:
			return refuse("not_taken")
		case RefusalNotice, RemarksReceived:
			return refuse("notice_sent")
		case IntegrationRequested:
			if now.Before(s.IntegrationUntil) {
				return refuse("integration_pending")
			}
		}
		if !note {
			return refuse("note_missing")
		}
		n.endPause(now)
		n.State, n.NoticeAt = RefusalNotice, now
		n.PauseFrom, n.PauseUntil = now, addDays(now, RemarksDays)
	case Remarks:
		switch s.State {
		case RefusalNotice:
		case RemarksReceived:
			return refuse("remarks_sent")
		default:
			return refuse("no_notice")
		}
		switch {
		case !now.Before(s.RemarksDue()):
			return refuse("remarks_late")
		case !note:
			return refuse("note_missing")
		}
		// The term restarts 10 days after the remarks (art. 10-bis).
		n.State, n.RemarksAt, n.PauseUntil = RemarksReceived, now, addDays(now, RemarksDays)
	case Accept, Reject:
		if s.State == Registered {
			return refuse("not_taken")
		}
		if a == Reject {
			switch s.State {
			case InProgress, IntegrationRequested, Integrated:
				// Before a refusal the office states its reasons and
				// waits for the resident's remarks (art. 10-bis).
				return refuse("notice_first")
			case RefusalNotice:
				if now.Before(s.RemarksDue()) {
					return refuse("remarks_pending")
				}
			}
		}
		if s.State == IntegrationRequested && now.Before(s.IntegrationUntil) {
			return refuse("integration_pending")
		}
		switch {
		case !note:
			return refuse("note_missing")
		case !p.Document:
			return refuse("document_missing")
		}
		n.State = Accepted
		if a == Reject {
			n.State = Rejected
		}
		n.endPause(now)
		n.DecidedAt = now
	case Withdraw:
		if !s.Withdrawable {
			return refuse("not_withdrawable")
		}
		n.State = Withdrawn
		n.endPause(now)
		n.DecidedAt = now
	case Cancel:
		if !note {
			return refuse("note_missing")
		}
		n.State = Cancelled
		n.endPause(now)
		n.DecidedAt = now
	}
	return n, nil
}

// endPause ends the suspension under way at now, or when its days ran
// out if that was before.
func (s *Snapshot) endPause(now time.Time) {
	if s.PauseFrom.IsZero() {
		return
	}
	end := now
	if s.PauseUntil.Before(end) {
		end = s.PauseUntil
	}
	s.SuspendedDays += daysBetween(s.PauseFrom, end)
	s.PauseFrom, s.PauseUntil = time.Time{}, time.Time{}
}

// daysBetween counts the days of the town's calendar from a's day to b's
// (0 when b is not after a's day): a suspension asked and answered the
// same day suspends nothing, one answered the next day one day.
func daysBetween(a, b time.Time) int {
	da, db := Day(a), Day(b)
	if db <= da {
		return 0
	}
	x, _ := time.Parse(time.DateOnly, da)
	y, _ := time.Parse(time.DateOnly, db)
	return int(y.Sub(x).Hours()+12) / 24
}

// Day is the day of the town's calendar an instant falls on, 2006-01-02.
func Day(t time.Time) string { return t.In(hours.Rome).Format(time.DateOnly) }

// addDays adds calendar days of the town (Europe/Rome): across a change
// of summer time a day keeps its hour.
func addDays(t time.Time, days int) time.Time {
	return t.In(hours.Rome).AddDate(0, 0, days).UTC()
}

// Term is the days the office has to decide.
func (s Snapshot) Term() int {
	if s.TermDays > 0 {
		return s.TermDays
	}
	return DefaultTermDays
}

// Due is the expected decision date: the term from the registration, plus
// the days of suspension, the one under way counted to its end (so the
// date can only move earlier, when the resident answers sooner). Zero
// before the registration.
func (s Snapshot) Due() time.Time {
	if s.RegisteredAt.IsZero() {
		return time.Time{}
	}
	days := s.Term() + s.SuspendedDays
	if !s.PauseFrom.IsZero() {
		days += daysBetween(s.PauseFrom, s.PauseUntil)
	}
	return addDays(s.RegisteredAt, days)
}

// DueDay is the day of Due, 2006-01-02 ("" before the registration).
func (s Snapshot) DueDay() string {
	if s.RegisteredAt.IsZero() {
		return ""
	}
	return Day(s.Due())
}

// DueLabel is the expected decision day as people write it, 02/01/2006.
func (s Snapshot) DueLabel() string { return dayLabel(s.DueDay()) }

// Paused reports whether the term is suspended at now.
func (s Snapshot) Paused(now time.Time) bool {
	return !s.PauseFrom.IsZero() && !now.Before(s.PauseFrom) && now.Before(s.PauseUntil)
}

// Overdue reports whether an open application is past its expected
// decision day at now: a decision on the day itself is in time.
func (s Snapshot) Overdue(now time.Time) bool {
	return s.State.Open() && Day(now) > s.DueDay()
}

// IntegrationDue is when the resident's days to integrate end.
func (s Snapshot) IntegrationDue() time.Time { return s.IntegrationUntil }

// RemarksDue is when the resident's days for remarks end (zero without a
// notice).
func (s Snapshot) RemarksDue() time.Time {
	if s.NoticeAt.IsZero() {
		return time.Time{}
	}
	return addDays(s.NoticeAt, RemarksDays)
}
