package sportello

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/protocol"
	tokens "github.com/civico-pa/civico/internal/token"
)

// MaxNote is the longest message, reason or motivation, in characters.
const MaxNote = 4000

// Submit sends a resident's draft: checked against the version it was
// filled with (which must still be the current one: ErrStaleForm
// otherwise), then submitted and registered with a protocol number in
// one transaction, with its history, audit entries and the receipt's
// mail. A second submit of the same application (a double click, a
// second tab) finds it registered and returns it as it is: one
// application, one number.
//
// What the checks read (the form, the service, the files, the resident's
// address) is read before the transaction, which holds the application's
// row and one connection only: a transaction that asked the pool for a
// second connection would, with as many submits at once as the pool has
// connections, wait for ever. Inside, the draft must be as it was read;
// an edit from another tab in between makes Submit check again.
func (s *Store) Submit(ctx context.Context, id string, o Owner, remote string) (*Application, error) {
	defer s.forgetCounts()
	for attempt := 0; ; attempt++ {
		a, err := s.Get(ctx, id, o)
		if err != nil {
			return nil, err
		}
		if a.State != Draft {
			return a, nil
		}
		p, err := s.prepareSubmit(ctx, a, o.AccountID)
		if err != nil {
			return nil, err
		}
		var out *Application
		err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
			locked, err := s.lockTx(ctx, tx, id, &o)
			if err != nil {
				return err
			}
			if locked.State != Draft {
				out = locked
				return nil
			}
			if !locked.UpdatedAt.Equal(a.UpdatedAt) || locked.FormID != a.FormID {
				return errChanged
			}
			if err := s.submitTx(ctx, tx, p.app, p.docs, p.to, "account:"+o.AccountID, o.AccountID, remote, ""); err != nil {
				return err
			}
			out = p.app
			return nil
		})
		if errors.Is(err, errChanged) && attempt < 3 {
			continue
		}
		return out, err
	}
}

// errChanged: the draft changed between its checks and its transaction.
var errChanged = problem.New(problem.Conflict, "sportello.refused.changed", errors.New("the application changed meanwhile"))

// submission is a draft checked and ready to be registered.
type submission struct {
	app  *Application
	docs []Document
	to   recipient
}

// prepareSubmit checks a draft against its form and service, and reads
// what its registration needs, outside any transaction.
func (s *Store) prepareSubmit(ctx context.Context, a *Application, owner string) (*submission, error) {
	cur, err := s.Forms.Current(ctx, a.ServiceID)
	if errors.Is(err, ErrNoForm) {
		return nil, ErrService
	}
	if err != nil {
		return nil, err
	}
	if cur.ID != a.FormID {
		return nil, ErrStaleForm
	}
	svc, ok, err := s.Service(ctx, a.ServiceID)
	if err != nil {
		return nil, err
	}
	if !ok || !svc.Active {
		return nil, ErrService
	}
	if fe := CheckApplicant(a.Applicant); fe != nil {
		return nil, &StepErrors{Step: "richiedente", Fields: fe}
	}
	kept, errs := cur.Def.Check(a.Answers)
	if errs != nil {
		return nil, &StepErrors{Step: "modulo", Answers: errs}
	}
	a.Answers, a.TermDays, a.Withdrawable = kept, svc.MaxDays, cur.Def.Withdrawable
	docs, err := s.answerFiles(ctx, cur.Def, a, owner)
	if err != nil {
		return nil, err
	}
	to, err := s.Notifier.recipient(ctx, a.AccountID, a.NotifyEmail)
	if err != nil {
		return nil, err
	}
	return &submission{app: a, docs: docs, to: to}, nil
}

// StepErrors sends the resident back to the step whose answers are
// wrong, with the errors beside each field.
type StepErrors struct {
	Step    string
	Fields  problem.Fields
	Answers map[string]FieldError
}

func (e *StepErrors) Error() string { return "application incomplete at step " + e.Step }

// Is makes StepErrors a problem.Invalid.
func (e *StepErrors) Is(target error) bool { return errors.Is(problem.Fields{}, target) }

// answerFiles are the documents of the answers' file fields: each must
// be an upload of the applicant (the owner of the attachment).
func (s *Store) answerFiles(ctx context.Context, def *Definition, a *Application, owner string) ([]Document, error) {
	var docs []Document
	seen := map[string]bool{}
	for _, f := range def.Fields {
		if f.Type != TypeFile || a.Answers.One(f.Name) == "" {
			continue
		}
		if s.Files == nil {
			return nil, errors.New("sportello: no file store")
		}
		info, err := s.Files.Info(ctx, a.Answers.One(f.Name), owner)
		if err != nil {
			if problem.KindOf(err) == problem.NotFound {
				return nil, &StepErrors{Step: "modulo", Answers: map[string]FieldError{f.Name: {Code: "file_missing"}}}
			}
			return nil, err
		}
		if !kindAccepted(f.Accept, info.MediaType) {
			return nil, &StepErrors{Step: "modulo", Answers: map[string]FieldError{f.Name: {Code: "file_kind"}}}
		}
		if seen[info.ID] {
			// One upload is one document.
			return nil, &StepErrors{Step: "modulo", Answers: map[string]FieldError{f.Name: {Code: "file_missing"}}}
		}
		seen[info.ID] = true
		docs = append(docs, Document{ID: tokens.ID(), AttachmentID: info.ID, Kind: DocAnswer, Field: f.Name, Filename: info.Filename,
			MediaType: info.MediaType, Size: info.Size, SHA256: info.SHA256, from: owner})
	}
	return docs, nil
}

// kindAccepted reports whether a file's detected type is of one of the
// kinds a field takes (any when none is named).
func kindAccepted(kinds []string, mediaType string) bool {
	if len(kinds) == 0 {
		return true
	}
	for _, k := range kinds {
		switch {
		case k == "pdf" && mediaType == "application/pdf":
			return true
		case k == "image" && strings.HasPrefix(mediaType, "image/"):
			return true
		}
	}
	return false
}

// submitTx submits and registers a in tx: the two steps, the protocol
// entry, the documents, the history, the audit entry and the receipt's
// mail. by is the audit's actor; actorID the account on the register's
// step (the resident online, the operator at the counter).
func (s *Store) submitTx(ctx context.Context, tx *sql.Tx, a *Application, docs []Document, to recipient, by, actorID, remote, note string) error {
	now := s.now()
	from := a.State
	snap, err := Apply(a.Snapshot, Submit, Resident, Params{}, now)
	if err != nil {
		return err
	}
	if snap, err = Apply(snap, Register, System, Params{}, now); err != nil {
		return err
	}
	a.Snapshot, a.SubmittedAt, a.UpdatedAt = snap, &now, now
	subject := "Istanza: " + a.ServiceTitle
	if a.Channel == Counter {
		subject += " (presentata allo sportello)"
	}
	correspondent := a.Applicant.Name()
	if fc := a.Applicant.FiscalCode.Value; fc != "" {
		correspondent += " – " + fc
	}
	n, err := s.Protocol.Register(ctx, tx, protocol.Entry{Direction: protocol.In, Subject: subject, Correspondent: correspondent,
		Ref: "sportello:application:" + a.ID, At: now, DocSHA256: sha(canonical(a)), By: by})
	if err != nil {
		return err
	}
	a.Protocol = n.String()
	if err := s.saveTx(ctx, tx, a); err != nil {
		return err
	}
	for _, d := range docs {
		d.At, d.FromOffice = now, a.Channel == Counter
		if err := s.insertDocTx(ctx, tx, a.ID, d); err != nil {
			return err
		}
	}
	submitter := Resident
	if a.Channel == Counter {
		note = strings.TrimSpace("counter " + note)
	}
	if err := historyTx(ctx, tx, a.ID, now, Submit, from, Submitted, submitter, a.AccountID, note); err != nil {
		return err
	}
	if err := historyTx(ctx, tx, a.ID, now, Register, Submitted, Registered, System, actorID, a.Protocol); err != nil {
		return err
	}
	if err := s.Audit.Write(ctx, tx, audit.Entry{Actor: by, Action: "sportello.application.submitted", Subject: "application:" + a.ID,
		Remote: remote, Details: map[string]string{"service": a.ServiceID, "protocol": a.Protocol, "channel": string(a.Channel)}}); err != nil {
		return err
	}
	return s.Notifier.notifyTx(ctx, tx, to, a, "registered")
}

// insertDocTx makes d's upload the application's (Files.Attach) and
// records it, in tx.
func (s *Store) insertDocTx(ctx context.Context, tx *sql.Tx, appID string, d Document) error {
	if err := s.Files.Attach(ctx, tx, d.AttachmentID, d.from, appID); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO sportello_documents (id, application_id, attachment_id, kind, field, filename, media_type, size, sha256,
		from_office, protocol, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		d.ID, appID, d.AttachmentID, d.Kind, d.Field, d.Filename, d.MediaType, d.Size, d.SHA256, d.FromOffice, d.Protocol, d.At)
	return err
}

// CounterApplication is one handed in on paper at the desk, which an
// operator types in for the resident.
type CounterApplication struct {
	ServiceID string
	// Key is the random key of the counter's form (a double click makes
	// one application).
	Key string
	// FiscalCode identifies the resident: with a login that proves it,
	// they see the application online.
	FiscalCode  string
	GivenName   string
	FamilyName  string
	NotifyEmail string
	Phone       string
	Address     string
	Answers     Answers
	// Files are the scanned documents the operator uploaded, by field.
	Operator, Remote string
}

// RegisterCounter registers an application brought to the counter: the
// same record as an online one, channel counter, submitted and
// registered at once.
func (s *Store) RegisterCounter(ctx context.Context, c CounterApplication) (*Application, error) {
	defer s.forgetCounts()
	fe := problem.Fields{}
	code, err := cf.Parse(c.FiscalCode)
	if err != nil {
		fe["fiscal_code"] = "sportello.error." + fiscalCodeError(err)
	}
	applicant := Applicant{GivenName: Attribute{strings.TrimSpace(c.GivenName), SourceDesk}, FamilyName: Attribute{strings.TrimSpace(c.FamilyName), SourceDesk},
		FiscalCode: Attribute{string(code), SourceDesk}, Email: Attribute{strings.TrimSpace(c.NotifyEmail), identity.SourceSelf},
		Phone: Attribute{strings.TrimSpace(c.Phone), identity.SourceSelf}, Address: Attribute{strings.TrimSpace(c.Address), identity.SourceSelf}}
	for k, v := range CheckApplicant(applicant) {
		fe[k] = v
	}
	if !validKey(c.Key) {
		return nil, problem.Fields{"key": "sportello.error.key"}
	}
	svc, ok, err := s.Service(ctx, c.ServiceID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrService
	}
	form, err := s.Forms.Current(ctx, c.ServiceID)
	if err != nil {
		return nil, err
	}
	kept, errs := form.Def.Check(c.Answers)
	if len(fe) > 0 || errs != nil {
		return nil, &StepErrors{Step: "sportello", Fields: fe, Answers: errs}
	}
	// Read before the transaction (see Submit).
	docs, err := s.answerFiles(ctx, form.Def, &Application{Answers: kept}, c.Operator)
	if err != nil {
		return nil, err
	}
	to, err := s.Notifier.recipient(ctx, "", applicant.Email.Value)
	if err != nil {
		return nil, err
	}
	var out *Application
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		// The same key again: the application the first post made.
		if a, err := scanApp(tx.QueryRowContext(ctx, `SELECT `+appColumns+` FROM sportello_applications WHERE idempotency_key = $1 AND channel = 'counter'`, c.Key)); err == nil {
			out = a
			return nil
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		now := s.now()
		a := &Application{ID: tokens.ID(), ServiceID: svc.ID, ServiceTitle: svc.Title, FormID: form.ID, FiscalCode: string(code), Channel: Counter,
			Phase: PhaseDraft, Applicant: applicant, Answers: kept, NotifyEmail: applicant.Email.Value, CreatedAt: now, UpdatedAt: now,
			Snapshot: Snapshot{State: Draft, TermDays: svc.MaxDays, Withdrawable: form.Def.Withdrawable}}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sportello_applications (id, service_id, service_title, form_id, account_id, fiscal_code, channel,
			phase, state, applicant, applicant_key, answers, idempotency_key, notify_email, created_at, updated_at, term_days, withdrawable, applicant_name)
			VALUES ($1, $2, $3, $4, NULL, $5, 'counter', 'draft', 'draft', $6, $7, $8, $9, $10, $11, $11, $12, $13, $14)`,
			a.ID, a.ServiceID, a.ServiceTitle, a.FormID, a.FiscalCode, mustJSON(a.Applicant), a.Applicant.key(), mustJSON(a.Answers), c.Key,
			a.NotifyEmail, now, a.TermDays, a.Withdrawable, a.Applicant.Name()); err != nil {
			return err
		}
		if err := s.submitTx(ctx, tx, a, docs, to, "account:"+c.Operator, c.Operator, c.Remote, ""); err != nil {
			return err
		}
		out = a
		return nil
	})
	return out, err
}

// SourceDesk marks what an operator read from the resident's document at
// the counter.
const SourceDesk identity.Source = "desk"

// Step is an action on a submitted application, by the resident or the
// office.
type Step struct {
	Action Action
	Actor  Actor
	// ActorID is the account that acts: the resident, or the operator.
	ActorID string
	Remote  string
	Note    string
	// Days given to integrate (RequestIntegration).
	Days int
	// Assignee is the operator an application is assigned to.
	Assignee string
	// Files are documents that come with the step: an integration, the
	// remarks, the office's reply (attachment ids, owned by ActorID).
	Files []string
	// Seen is the application's UpdatedAt on the page the actor acted
	// from: when set, a step on an application changed since is refused
	// ("changed"), so of two operators acting at once the second is told.
	Seen time.Time
}

// Act applies a step to an application: o is the resident's ownership
// (nil for the office). The step, its history row, its message, its
// documents, its audit entry and the resident's notice are one
// transaction; a step the lifecycle refuses changes nothing and returns
// the Refusal.
func (s *Store) Act(ctx context.Context, id string, o *Owner, st Step) (*Application, error) {
	defer s.forgetCounts()
	st.Note = strings.TrimSpace(strings.ReplaceAll(st.Note, "\r\n", "\n"))
	if utf8.RuneCountInString(st.Note) > MaxNote || !utf8.ValidString(st.Note) {
		return nil, problem.Fields{"note": "sportello.error.too_long"}
	}
	// What the step reads beyond the application is read before its
	// transaction (see Submit): the files, and whom to tell, which are
	// the same for every version of the application.
	var seen *Application
	var err error
	if o == nil {
		seen, err = s.ForOffice(ctx, id)
	} else {
		seen, err = s.Get(ctx, id, *o)
	}
	if err != nil {
		return nil, err
	}
	var docs []Document
	for _, fid := range st.Files {
		if s.Files == nil {
			return nil, errors.New("sportello: no file store")
		}
		info, err := s.Files.Info(ctx, fid, st.ActorID)
		if err != nil {
			return nil, err
		}
		kind := map[Action]string{Integrate: DocIntegration, Remarks: DocRemarks, Accept: DocReply, Reject: DocReply}[st.Action]
		if kind == "" {
			return nil, problem.Fields{"file": "sportello.error.file_not_here"}
		}
		docs = append(docs, Document{ID: tokens.ID(), AttachmentID: info.ID, Kind: kind, Filename: info.Filename, MediaType: info.MediaType,
			Size: info.Size, SHA256: info.SHA256, FromOffice: st.Actor == Office, from: st.ActorID})
	}
	to, err := s.recipientOf(ctx, seen)
	if err != nil {
		return nil, err
	}
	var out *Application
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		a, err := s.lockTx(ctx, tx, id, o)
		if err != nil {
			return err
		}
		// Two people on one application: who acted on what they saw
		// wins, the other is told it changed, and nothing of theirs is
		// done (a message adds to what is there and always goes).
		if !st.Seen.IsZero() && st.Action != Message && !a.UpdatedAt.Equal(st.Seen) {
			return &Refusal{Action: st.Action, From: a.State, By: st.Actor, Reason: "changed"}
		}
		now := s.now()
		for i := range docs {
			docs[i].At = now
		}
		from := a.State
		snap, err := Apply(a.Snapshot, st.Action, st.Actor, Params{Note: st.Note, Days: st.Days, Document: len(docs) > 0}, now)
		if err != nil {
			return err
		}
		a.Snapshot, a.UpdatedAt = snap, now
		switch st.Action {
		case Take:
			a.AssigneeID, a.TakenAt = st.ActorID, &now
		case Assign:
			if st.Assignee == "" {
				return problem.Fields{"assignee": "sportello.error.required"}
			}
			a.AssigneeID = st.Assignee
		}
		for i := range docs {
			if docs[i].Kind == DocReply {
				// The reply leaves the town: it is registered too.
				n, err := s.Protocol.Register(ctx, tx, protocol.Entry{Direction: protocol.Out, Subject: "Esito dell'istanza " + a.Protocol + ": " + a.ServiceTitle,
					Correspondent: a.Applicant.Name(), Ref: "sportello:application:" + a.ID, DocSHA256: docs[i].SHA256, By: "account:" + st.ActorID})
				if err != nil {
					return err
				}
				docs[i].Protocol = n.String()
			}
			if err := s.insertDocTx(ctx, tx, a.ID, docs[i]); err != nil {
				return err
			}
		}
		if err := s.saveTx(ctx, tx, a); err != nil {
			return err
		}
		if kind := messageKind[st.Action]; kind != "" && st.Note != "" {
			body := st.Note
			if _, err := tx.ExecContext(ctx, `INSERT INTO sportello_messages (id, application_id, at, from_office, author_id, kind, body)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, tokens.ID(), a.ID, now, st.Actor == Office, st.ActorID, kind, body); err != nil {
				return err
			}
		}
		note := ""
		switch st.Action {
		case RequestIntegration:
			note = strconv.Itoa(st.Days)
		case Assign:
			note = st.Assignee
		}
		if st.Action != Message {
			if err := historyTx(ctx, tx, a.ID, now, st.Action, from, a.State, st.Actor, st.ActorID, note); err != nil {
				return err
			}
		}
		details := map[string]string{"from": string(from), "to": string(a.State), "protocol": a.Protocol}
		if st.Action == Assign {
			details["assignee"] = st.Assignee
		}
		for i, d := range docs {
			details[fmt.Sprintf("document_%d", i)] = d.SHA256
		}
		if err := s.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + st.ActorID, Action: "sportello.application." + string(st.Action),
			Subject: "application:" + a.ID, Remote: st.Remote, Details: details}); err != nil {
			return err
		}
		// The resident hears of every change, and of what the office
		// writes; an assignment is the office's own business.
		if from != a.State || st.Action == Message && st.Actor == Office {
			if err := s.Notifier.notifyTx(ctx, tx, to, a, string(st.Action)); err != nil {
				return err
			}
		}
		out = a
		return nil
	})
	return out, err
}

// messageKind is the kind of message a step's note is kept as.
var messageKind = map[Action]string{
	Message: KindMessage, RequestIntegration: KindRequest, Integrate: KindIntegration, SendNotice: KindNotice, Remarks: KindRemarks,
	Accept: KindDecision, Reject: KindDecision, Withdraw: KindWithdrawal, Cancel: KindCancel,
}

// History lists an application's steps, oldest first.
func (s *Store) History(ctx context.Context, id string) ([]HistoryEntry, error) {
	m, err := s.Histories(ctx, []string{id})
	return m[id], err
}

// Histories are the histories of applications ids, each oldest first, in
// one statement (a list's worth: at most PageSize ids at a time).
func (s *Store) Histories(ctx context.Context, ids []string) (map[string][]HistoryEntry, error) {
	out := map[string][]HistoryEntry{}
	err := s.eachOf(ctx, `SELECT application_id, at, action, from_state, to_state, actor, actor_id, note FROM sportello_history`, `id`, ids, func(r *sql.Rows) error {
		var id string
		var h HistoryEntry
		if err := r.Scan(&id, &h.At, &h.Action, &h.From, &h.To, &h.Actor, &h.ActorID, &h.Note); err != nil {
			return err
		}
		h.At = h.At.UTC()
		out[id] = append(out[id], h)
		return nil
	})
	return out, err
}

// Messages lists an application's messages, oldest first.
func (s *Store) Messages(ctx context.Context, id string) ([]Note, error) {
	m, err := s.MessagesOf(ctx, []string{id})
	return m[id], err
}

// MessagesOf are the messages of applications ids, as Histories.
func (s *Store) MessagesOf(ctx context.Context, ids []string) (map[string][]Note, error) {
	out := map[string][]Note{}
	err := s.eachOf(ctx, `SELECT application_id, id, at, from_office, author_id, kind, body FROM sportello_messages`, `at, id`, ids, func(r *sql.Rows) error {
		var id string
		var m Note
		if err := r.Scan(&id, &m.ID, &m.At, &m.FromOffice, &m.AuthorID, &m.Kind, &m.Body); err != nil {
			return err
		}
		m.At = m.At.UTC()
		out[id] = append(out[id], m)
		return nil
	})
	return out, err
}

// Documents lists an application's files, oldest first.
func (s *Store) Documents(ctx context.Context, id string) ([]Document, error) {
	m, err := s.DocumentsOf(ctx, []string{id})
	return m[id], err
}

// DocumentsOf are the files of applications ids, as Histories.
func (s *Store) DocumentsOf(ctx context.Context, ids []string) (map[string][]Document, error) {
	out := map[string][]Document{}
	err := s.eachOf(ctx, `SELECT application_id, id, attachment_id, kind, field, filename, media_type, size, sha256, from_office, protocol, at
		FROM sportello_documents`, `at, id`, ids, func(r *sql.Rows) error {
		var id string
		var d Document
		if err := r.Scan(&id, &d.ID, &d.AttachmentID, &d.Kind, &d.Field, &d.Filename, &d.MediaType, &d.Size, &d.SHA256, &d.FromOffice, &d.Protocol, &d.At); err != nil {
			return err
		}
		d.At = d.At.UTC()
		out[id] = append(out[id], d)
		return nil
	})
	return out, err
}

// Record is what an application's page shows beside the application:
// its files, its steps and its messages.
type Record struct {
	Documents []Document
	History   []HistoryEntry
	Messages  []Note
}

// Record reads an application's files, steps and messages in one
// statement, by its id alone: the caller has read the application through
// its owner (Get) or the office (ForOffice) first (the page's round trips 4 -> 2): the three tables' rows in
// one list of common columns, each part in its own order (the steps by
// their id, the messages and files by time and id), as History,
// Messages and Documents read them.
func (s *Store) Record(ctx context.Context, id string) (Record, error) {
	var out Record
	rows, err := s.DB.QueryContext(ctx, `SELECT 1 AS part, id AS ord, at, action AS c1, from_state AS c2, to_state AS c3, actor AS c4, actor_id AS c5,
			note AS c6, '' AS c7, '' AS c8, FALSE AS b, 0 AS n
		FROM sportello_history WHERE application_id = $1
		UNION ALL SELECT 2, 0, at, id, author_id, kind, body, '', '', '', '', from_office, 0
		FROM sportello_messages WHERE application_id = $1
		UNION ALL SELECT 3, 0, at, id, attachment_id, kind, field, filename, media_type, sha256, protocol, from_office, size
		FROM sportello_documents WHERE application_id = $1
		ORDER BY part, ord, at, c1`, id)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	for rows.Next() {
		var part int
		var ord, n int64
		var at time.Time
		var c [8]string
		var b bool
		if err := rows.Scan(&part, &ord, &at, &c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &c[6], &c[7], &b, &n); err != nil {
			return out, err
		}
		at = at.UTC()
		switch part {
		case 1:
			out.History = append(out.History, HistoryEntry{At: at, Action: Action(c[0]), From: State(c[1]), To: State(c[2]), Actor: Actor(c[3]), ActorID: c[4], Note: c[5]})
		case 2:
			out.Messages = append(out.Messages, Note{ID: c[0], At: at, AuthorID: c[1], Kind: c[2], Body: c[3], FromOffice: b})
		case 3:
			out.Documents = append(out.Documents, Document{ID: c[0], AttachmentID: c[1], Kind: c[2], Field: c[3], Filename: c[4], MediaType: c[5],
				SHA256: c[6], Protocol: c[7], FromOffice: b, Size: n, At: at})
		}
	}
	return out, rows.Err()
}

// eachOf runs selectFrom for the rows of applications ids, ordered by
// application and then order, and calls fn for each (its first column the
// application's id). At most PageSize ids: a page of a list.
func (s *Store) eachOf(ctx context.Context, selectFrom, order string, ids []string, fn func(*sql.Rows) error) error {
	if len(ids) == 0 {
		return nil
	}
	if len(ids) > PageSize {
		return fmt.Errorf("sportello: %d applications at once, at most %d", len(ids), PageSize)
	}
	in, args := db.InList(nil, ids)
	// #nosec G202 -- selectFrom and order are constant SQL text; in is a list of placeholders
	rows, err := s.DB.QueryContext(ctx, selectFrom+` WHERE application_id IN `+in+` ORDER BY application_id, `+order, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Document reads one file of an application.
func (s *Store) Document(ctx context.Context, appID, docID string) (Document, error) {
	var d Document
	err := s.DB.QueryRowContext(ctx, `SELECT id, attachment_id, kind, field, filename, media_type, size, sha256, from_office, protocol, at
		FROM sportello_documents WHERE application_id = $1 AND id = $2`, appID, docID).
		Scan(&d.ID, &d.AttachmentID, &d.Kind, &d.Field, &d.Filename, &d.MediaType, &d.Size, &d.SHA256, &d.FromOffice, &d.Protocol, &d.At)
	if errors.Is(err, sql.ErrNoRows) {
		return d, ErrNotFound
	}
	return d, err
}

// recipientOf is whom a step of a's is mailed to: its account's address
// (or the one the desk wrote down); for an application made under a
// delegation, the delegate's only while the delegation is in force (a
// revoked delegate learns nothing more of the holder's affairs).
func (s *Store) recipientOf(ctx context.Context, a *Application) (recipient, error) {
	if a.DelegationID != "" {
		d, err := s.Delegation(ctx, a.DelegationID)
		if err != nil {
			return recipient{}, err
		}
		if !d.InForce(Day(s.now())) {
			return recipient{}, nil
		}
	}
	return s.Notifier.recipient(ctx, a.AccountID, a.NotifyEmail)
}
