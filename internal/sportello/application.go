package sportello

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/identity"
)

// Channel is how an application reached the town.
type Channel string

// The channels.
const (
	Online  Channel = "online"
	Counter Channel = "counter" // handed in on paper at the desk
)

// Phase is the back office's first cut of the states.
type Phase string

// The phases.
const (
	PhaseDraft  Phase = "draft"
	PhaseOpen   Phase = "open"
	PhaseClosed Phase = "closed"
)

// PhaseOf is the phase of a state.
func PhaseOf(s State) Phase {
	switch {
	case s.Open():
		return PhaseOpen
	case s.Closed():
		return PhaseClosed
	}
	return PhaseDraft
}

// Attribute is one piece of the applicant's data with what proved it:
// proven ones come from the account and cannot be edited; self-declared
// ones the resident may change for this application.
type Attribute struct {
	Value  string          `json:"value"`
	Source identity.Source `json:"source,omitempty"`
}

// Proven reports whether a login or a register proved the value.
func (a Attribute) Proven() bool { return a.Source.Proven() }

// Fixed reports whether the resident may not change the value for this
// application: proven, or read by the desk from a document (a counter
// application's, a delegation's holder).
func (a Attribute) Fixed() bool {
	return a.Proven() || a.Source == SourceDesk || a.Source == SourceDelegation
}

// Applicant is who the application is from, as the "Dati generali" step
// shows and the receipt prints.
type Applicant struct {
	GivenName  Attribute `json:"given_name"`
	FamilyName Attribute `json:"family_name"`
	FiscalCode Attribute `json:"fiscal_code"`
	Email      Attribute `json:"email"`
	Phone      Attribute `json:"phone"`
	Address    Attribute `json:"address"`
}

// Name is the applicant's full name.
func (a Applicant) Name() string {
	return strings.TrimSpace(a.GivenName.Value + " " + a.FamilyName.Value)
}

// key is what the back office's search matches a name prefix against:
// family name, then given name, lower case.
func (a Applicant) key() string {
	return strings.ToLower(strings.TrimSpace(strings.TrimSpace(a.FamilyName.Value) + " " + strings.TrimSpace(a.GivenName.Value)))
}

// ApplicantOf is what the account and the session say of the resident:
// the fiscal code only when this session proved it, the names with their
// source, the contacts as the resident typed them.
func ApplicantOf(a *identity.Account, se *identity.Session) Applicant {
	out := Applicant{
		GivenName:  Attribute{a.GivenName, a.NameSource},
		FamilyName: Attribute{a.FamilyName, a.NameSource},
		Phone:      Attribute{a.Phone, identity.SourceSelf},
		Address:    Attribute{a.Address, identity.SourceSelf},
	}
	if fc, ok := a.ProvenFiscalCode(se); ok {
		out.FiscalCode = Attribute{fc, a.FiscalCodeSource}
	}
	if a.Email != "" {
		out.Email = Attribute{a.Email, identity.SourceSelf}
		if a.EmailVerifiedAt != nil {
			out.Email.Source = identity.SourceEmailLink
		}
	}
	if a.GivenName == "" && a.FamilyName == "" {
		out.GivenName.Source, out.FamilyName.Source = identity.SourceSelf, identity.SourceSelf
	}
	return out
}

// Application is one application, what the pages and the API show of it.
type Application struct {
	ID           string
	ServiceID    string
	ServiceTitle string
	FormID       string
	AccountID    string
	FiscalCode   string
	Channel      Channel
	Phase        Phase
	Applicant    Applicant
	Answers      Answers
	Protocol     string
	AssigneeID   string
	NotifyEmail  string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	SubmittedAt  *time.Time
	TakenAt      *time.Time
	// DelegationID names the delegation it was made under, and Acting
	// who acted (nil: the applicant themselves).
	DelegationID string
	Acting       *Acting
	Snapshot
}

// Summary is an application in a list.
type Summary struct {
	ID           string
	ServiceID    string
	ServiceTitle string
	State        State
	Channel      Channel
	Protocol     string
	Applicant    string
	FiscalCode   string
	AssigneeID   string
	UpdatedAt    time.Time
	RegisteredAt *time.Time
	DueOn        string
}

// Overdue reports whether the open application is past its day today.
func (s Summary) Overdue(now time.Time) bool {
	return s.State.Open() && s.DueOn != "" && Day(now) > s.DueOn
}

// DueLabel is the expected decision day as people write it.
func (s Summary) DueLabel() string { return dayLabel(s.DueOn) }

// HistoryEntry is one step of an application's life.
type HistoryEntry struct {
	At       time.Time
	Action   Action
	From, To State
	Actor    Actor
	ActorID  string
	Note     string
}

// Note is what the office and the resident wrote each other.
type Note struct {
	ID         string
	At         time.Time
	FromOffice bool
	AuthorID   string
	Kind       string
	Body       string
}

// Document is a file of an application.
type Document struct {
	ID           string
	AttachmentID string
	Kind         string
	Field        string
	Filename     string
	MediaType    string
	Size         int64
	SHA256       string
	FromOffice   bool
	Protocol     string
	At           time.Time
	// from is the account whose upload the document was until the step
	// that adds it (Files.Attach).
	from string
}

// The kinds of message and document.
const (
	KindMessage     = "message"
	KindIntegration = "integration"
	KindNotice      = "notice"
	KindRemarks     = "remarks"
	KindDecision    = "decision"
	KindCancel      = "cancel"
	KindWithdrawal  = "withdrawal"
	KindRequest     = "integration_request"
	DocAnswer       = "answer"
	DocIntegration  = "integration"
	DocRemarks      = "remarks"
	DocReply        = "reply"
)

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Version is UpdatedAt as the pages carry it (Step.Seen): an operator's
// step on an application changed since their page was drawn is refused.
func (a *Application) Version() string { return a.UpdatedAt.UTC().Format(time.RFC3339Nano) }
