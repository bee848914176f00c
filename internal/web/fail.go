package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/civico-pa/civico/internal/problem"
)

// statusOf is the HTTP status of a kind of problem.
func statusOf(k problem.Kind) int {
	switch k {
	case problem.NotFound:
		return http.StatusNotFound
	case problem.Invalid:
		return http.StatusUnprocessableEntity
	case problem.Conflict:
		return http.StatusConflict
	case problem.Forbidden:
		return http.StatusForbidden
	case problem.Throttled:
		return http.StatusTooManyRequests
	case problem.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// explain reads what a visitor is told of err: the status, the message id
// (its own, or the page's standard one) and Retry-After.
func (a *App) explain(w http.ResponseWriter, r *http.Request, err error) (int, string) {
	kind := problem.KindOf(err)
	status := statusOf(kind)
	var p *problem.Error
	msg := ""
	if errors.As(err, &p) {
		msg = p.Message
		if p.Retry > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(p.Retry.Seconds()))))
		}
	}
	if kind == problem.Internal {
		a.Log.Error("request failed", "err", err, "route", r.Pattern, "request_id", RequestID(r.Context()))
	} else if p != nil && p.Err != nil {
		a.Log.Info("request refused", "kind", kind.String(), "err", p.Err, "route", r.Pattern, "request_id", RequestID(r.Context()))
	}
	if msg == "" {
		msg = "error." + itoa3(status) + ".message"
	}
	return status, msg
}

// Fail answers a request that failed with err, as a page in the visitor's
// language: a problem (package problem) gets the page of its kind with its
// own message, anything else is logged with the request id and gets the
// 500 page. The one place errors become pages.
func (a *App) Fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := a.explain(w, r, err)
	a.errorPage(w, r, status, msg)
}

// FailJSON is Fail for the JSON API: {"error": kind, "message": text,
// "fields": {field: text}} in the visitor's language.
func (a *App) FailJSON(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := a.explain(w, r, err)
	lang := a.I18n.Lang(r)
	body := struct {
		Error   string            `json:"error"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields,omitempty"`
	}{Error: problem.KindOf(err).String(), Message: a.I18n.T(lang, msg)}
	var f problem.Fields
	if errors.As(err, &f) {
		body.Fields = map[string]string{}
		for k, v := range f {
			body.Fields[k] = a.I18n.T(lang, v)
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
