// Package problem is what can go wrong, in words a person can act on. A
// feature returns one of these kinds (wrapping its cause); package web
// turns it into a page or a JSON answer in the visitor's language, in one
// place (web.App.Fail). Anything else is an internal error: logged, and
// answered with the error page.
package problem

import (
	"errors"
	"fmt"
	"time"
)

// Kind is what went wrong, as the person who asked can act on it.
type Kind int

const (
	// Internal: civico failed; the person can only try again later.
	Internal Kind = iota
	// NotFound: what was asked for does not exist, or is not theirs.
	NotFound
	// Invalid: the request's fields are wrong (Fields says which).
	Invalid
	// Conflict: the request clashes with the state of things (a
	// transition not allowed, a name taken).
	Conflict
	// Forbidden: who is asking may not do this.
	Forbidden
	// Throttled: too many attempts; Retry says when to try again.
	Throttled
	// Unavailable: busy or down for a moment; Retry says when to try again.
	Unavailable
)

// Error is a problem with its kind, the message id that explains it to a
// person, and its cause for the log.
type Error struct {
	Kind Kind
	// Message is a message id ("" for the kind's standard page).
	Message string
	// Retry is how long to wait (Throttled, Unavailable).
	Retry time.Duration
	// Err is the cause, for the log; it is never shown.
	Err error
}

func (e *Error) Error() string {
	s := e.Kind.String()
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, problem.ErrNotFound) true for every problem of
// the same kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Err == nil && t.Kind == e.Kind
}

// Sentinels of each kind, for errors.Is.
var (
	ErrNotFound    = &Error{Kind: NotFound}
	ErrConflict    = &Error{Kind: Conflict}
	ErrForbidden   = &Error{Kind: Forbidden}
	ErrUnavailable = &Error{Kind: Unavailable}
)

// New is a problem of a kind with its message id, wrapping cause.
func New(k Kind, message string, cause error) *Error {
	return &Error{Kind: k, Message: message, Err: cause}
}

// Fields is an Invalid request: form field → message id of what is wrong
// with it. Forms show each beside its field.
type Fields map[string]string

func (f Fields) Error() string { return fmt.Sprintf("%d invalid fields", len(f)) }

// Is makes errors.Is(fields, problem.Invalid) work like the other kinds.
func (f Fields) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == Invalid && t.Message == "" && t.Err == nil
}

// ErrInvalid matches Fields with errors.Is.
var ErrInvalid = &Error{Kind: Invalid}

// KindOf is the kind of err: Internal for anything that is not a problem.
func KindOf(err error) Kind {
	var p *Error
	if errors.As(err, &p) {
		return p.Kind
	}
	var f Fields
	if errors.As(err, &f) {
		return Invalid
	}
	return Internal
}

func (k Kind) String() string {
	switch k {
	case NotFound:
		return "not found"
	case Invalid:
		return "invalid"
	case Conflict:
		return "conflict"
	case Forbidden:
		return "forbidden"
	case Throttled:
		return "throttled"
	case Unavailable:
		return "unavailable"
	}
	return "internal"
}
