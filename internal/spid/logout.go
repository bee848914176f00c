package spid

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/identity"
	tokens "github.com/civico-pa/civico/internal/token"
	"github.com/civico-pa/civico/internal/web"
)

// LogoutTTL is how long a logout request waits for its answer.
const LogoutTTL = 10 * time.Minute

// logoutStep continues the logout of a session a SPID login opened at its
// provider, with a signed LogoutRequest naming the NameID and SessionIndex
// of the login (the session here has already ended).
func (h *Web) logoutStep(ctx context.Context, se *identity.Session) (string, error) {
	var idpID, nameID, qual, index string
	err := h.DB.QueryRowContext(ctx, `SELECT idp, name_id, name_qualifier, session_index FROM spid_sessions WHERE session_hash = $1`, se.Hash).
		Scan(&idpID, &nameID, &qual, &index)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	idp, err := h.Registry.Get(ctx, idpID)
	if errors.Is(err, ErrUnknownIdP) {
		return "", nil
	}
	if err != nil || idp.SLOURL == "" || idp.SLOBinding != BindingRedirect {
		return "", err
	}
	key, err := h.SP.Keys.Signer(ctx)
	if err != nil {
		return "", err
	}
	now := h.now()
	id := "_" + tokens.ID()
	doc := etree.NewDocument()
	lr := doc.CreateElement("samlp:LogoutRequest")
	lr.CreateAttr("xmlns:samlp", nsProtocol)
	lr.CreateAttr("xmlns:saml", nsAssertion)
	lr.CreateAttr("ID", id)
	lr.CreateAttr("Version", "2.0")
	lr.CreateAttr("IssueInstant", samlTime(now))
	lr.CreateAttr("Destination", idp.SLOURL)
	iss := lr.CreateElement("saml:Issuer")
	iss.CreateAttr("Format", NameIDEntity)
	iss.CreateAttr("NameQualifier", h.SP.EntityID())
	iss.SetText(h.SP.EntityID())
	n := lr.CreateElement("saml:NameID")
	n.CreateAttr("Format", NameIDTransient)
	n.CreateAttr("NameQualifier", qual)
	n.SetText(nameID)
	if index != "" {
		lr.CreateElement("samlp:SessionIndex").SetText(index)
	}
	xml, err := doc.WriteToBytes()
	if err != nil {
		return "", err
	}
	dest, err := RedirectURL(idp.SLOURL, "SAMLRequest", xml, tokens.ID(), key)
	if err != nil {
		return "", err
	}
	err = h.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO spid_logouts (id, idp, issued_at, expires_at) VALUES ($1, $2, $3, $4)`, id, idp.EntityID, now, now.Add(LogoutTTL)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM spid_sessions WHERE session_hash = $1`, se.Hash); err != nil {
			return err
		}
		return h.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + se.AccountID, Action: "spid.logout.request", Subject: id,
			Details: map[string]string{"idp": idp.EntityID, "request": string(xml)}})
	})
	return dest, err
}

// slo receives a provider's LogoutResponse (HTTP-Redirect, signed in the
// query, or HTTP-POST, signed in the XML) to a logout civico asked for, or
// a provider's own LogoutRequest (idpLogout).
func (h *Web) slo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, MaxResponseSize+8<<10)
	if err := r.ParseForm(); err != nil {
		h.notice(w, r, http.StatusBadRequest, &NoticeData{Heading: "spid.logout.title", Text: "spid.logout.invalid"})
		return
	}
	if r.Form.Get("SAMLRequest") != "" {
		h.idpLogout(w, r)
		return
	}
	raw, redirect, err := logoutMessage(r)
	if err != nil {
		h.logoutRefused(w, r, err)
		return
	}
	doc := etree.NewDocument()
	if bytes.Contains(raw, []byte("<!DOCTYPE")) || doc.ReadFromBytes(raw) != nil {
		h.logoutRefused(w, r, errors.New("not XML"))
		return
	}
	root := doc.Root()
	if root == nil || root.Tag != "LogoutResponse" || root.NamespaceURI() != nsProtocol {
		h.logoutRefused(w, r, errors.New("not a LogoutResponse"))
		return
	}
	var idpID string
	inResponseTo := root.SelectAttrValue("InResponseTo", "")
	err = h.DB.QueryRowContext(ctx, `SELECT idp FROM spid_logouts WHERE id = $1 AND answered_at IS NULL AND expires_at > $2`, inResponseTo, h.now()).Scan(&idpID)
	if err != nil {
		h.logoutRefused(w, r, errors.New("no logout request in flight by that id"))
		return
	}
	idp, err := h.Registry.Get(ctx, idpID)
	if err != nil {
		h.logoutRefused(w, r, err)
		return
	}
	if redirect {
		if err := verifyQuery(r, "SAMLResponse", idp); err != nil {
			h.logoutRefused(w, r, err)
			return
		}
	} else {
		if len(children(root, nsDSig, "Signature")) != 1 {
			h.logoutRefused(w, r, errors.New("unsigned LogoutResponse"))
			return
		}
		if root, err = verify(root, idp.Certs, h.now()); err != nil {
			h.logoutRefused(w, r, err)
			return
		}
	}
	if err := checkIssuer(child(root, nsAssertion, "Issuer"), idp.EntityID, false); err != nil {
		h.logoutRefused(w, r, err)
		return
	}
	if root.SelectAttrValue("Destination", "") != h.SP.SLO() || root.SelectAttrValue("InResponseTo", "") != inResponseTo {
		h.logoutRefused(w, r, errors.New("wrong Destination or InResponseTo"))
		return
	}
	status := attr(child(child(root, nsProtocol, "Status"), nsProtocol, "StatusCode"), "Value")
	if status == "" {
		h.logoutRefused(w, r, errors.New("no StatusCode"))
		return
	}
	err = h.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE spid_logouts SET answered_at = $1 WHERE id = $2 AND answered_at IS NULL`, h.now(), inResponseTo)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errors.New("answered meanwhile")
		}
		return h.Audit.Write(ctx, tx, audit.Entry{Actor: "anonymous", Action: "spid.logout.response", Subject: inResponseTo, Remote: web.RemoteAddr(r),
			Details: map[string]string{"idp": idp.EntityID, "status": status, "response": base64.StdEncoding.EncodeToString(raw)}})
	})
	if err != nil {
		h.logoutRefused(w, r, err)
		return
	}
	text := "spid.logout.done"
	if status != StatusSuccess {
		text = "spid.logout.partial"
	}
	h.notice(w, r, http.StatusOK, &NoticeData{Heading: "spid.logout.title", Text: text})
}

func (h *Web) logoutRefused(w http.ResponseWriter, r *http.Request, err error) {
	h.App.Log.Info("spid: logout response refused", "err", err, "request_id", web.RequestID(r.Context()))
	h.notice(w, r, http.StatusBadRequest, &NoticeData{Heading: "spid.logout.title", Text: "spid.logout.invalid"})
}

// logoutMessage is the XML of a LogoutResponse, and whether it came by
// the Redirect binding (deflated in the query) or by POST.
func logoutMessage(r *http.Request) ([]byte, bool, error) { return message(r, "SAMLResponse") }

// message is the XML a binding carries in param, and whether it came by
// the Redirect binding.
func message(r *http.Request, param string) ([]byte, bool, error) {
	if r.Method == http.MethodGet {
		b, err := base64.StdEncoding.DecodeString(r.URL.Query().Get(param))
		if err != nil || len(b) == 0 {
			return nil, true, errors.New("no " + param)
		}
		xml, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(b)), MaxResponseSize))
		return xml, true, err
	}
	b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(r.PostForm.Get(param)), ""))
	if err != nil || len(b) == 0 {
		return nil, false, errors.New("no " + param)
	}
	return b, false, nil
}

// idpLogout ends, at a provider's signed LogoutRequest, the sessions its
// login opened here for the NameID it names (and SessionIndex, when
// given), and answers with a signed LogoutResponse, Success even when the
// sessions had already ended (SPID's rule).
func (h *Web) idpLogout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	raw, redirect, err := message(r, "SAMLRequest")
	doc := etree.NewDocument()
	if err != nil || bytes.Contains(raw, []byte("<!DOCTYPE")) || doc.ReadFromBytes(raw) != nil {
		h.logoutRefused(w, r, errors.New("not a LogoutRequest"))
		return
	}
	root := doc.Root()
	if root == nil || root.Tag != "LogoutRequest" || root.NamespaceURI() != nsProtocol {
		h.logoutRefused(w, r, errors.New("not a LogoutRequest"))
		return
	}
	iss := child(root, nsAssertion, "Issuer")
	if iss == nil {
		h.logoutRefused(w, r, errors.New("LogoutRequest without Issuer"))
		return
	}
	idp, err := h.Registry.Get(ctx, strings.TrimSpace(iss.Text()))
	if err != nil || (idp.Test && !h.allowTest) {
		h.logoutRefused(w, r, errors.New("LogoutRequest of an unknown provider"))
		return
	}
	if redirect {
		err = verifyQuery(r, "SAMLRequest", idp)
	} else if len(children(root, nsDSig, "Signature")) != 1 {
		err = errors.New("unsigned LogoutRequest")
	} else {
		root, err = verify(root, idp.Certs, h.now())
	}
	if err != nil {
		h.logoutRefused(w, r, err)
		return
	}
	id := root.SelectAttrValue("ID", "")
	t, terr := instant(root.SelectAttr("IssueInstant"))
	nameID := child(root, nsAssertion, "NameID")
	switch {
	case id == "" || root.SelectAttrValue("Version", "") != "2.0" || root.SelectAttrValue("Destination", "") != h.SP.SLO():
		err = errors.New("LogoutRequest ID, Version or Destination")
	case terr != nil || t.Before(h.now().Add(-LogoutTTL)) || t.After(h.now().Add(Skew)):
		err = errors.New("LogoutRequest IssueInstant")
	case checkIssuer(iss, idp.EntityID, false) != nil:
		err = errors.New("LogoutRequest Issuer")
	case nameID == nil || strings.TrimSpace(nameID.Text()) == "":
		err = errors.New("LogoutRequest without NameID")
	}
	if err != nil {
		h.logoutRefused(w, r, err)
		return
	}
	q := `SELECT session_hash, account_id FROM spid_sessions WHERE idp = $1 AND name_id = $2`
	args := []any{idp.EntityID, strings.TrimSpace(nameID.Text())}
	if si := child(root, nsProtocol, "SessionIndex"); si != nil {
		q += ` AND session_index = $3`
		args = append(args, strings.TrimSpace(si.Text()))
	}
	rows, err := h.DB.QueryContext(ctx, q, args...)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	var ended [][2]string
	for rows.Next() {
		var hash, account string
		if err := rows.Scan(&hash, &account); err != nil {
			_ = rows.Close()
			h.App.Fail(w, r, err)
			return
		}
		ended = append(ended, [2]string{hash, account})
	}
	if err := rows.Close(); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	for _, e := range ended {
		if err := h.ID.Svc.Sessions.EndOne(ctx, e[1], e[0]); err != nil {
			h.App.Fail(w, r, err)
			return
		}
	}
	key, err := h.SP.Keys.Signer(ctx)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	dest := idp.SLOURL
	if dest == "" || idp.SLOBinding != BindingRedirect {
		dest = ""
	}
	out := etree.NewDocument()
	lr := out.CreateElement("samlp:LogoutResponse")
	lr.CreateAttr("xmlns:samlp", nsProtocol)
	lr.CreateAttr("xmlns:saml", nsAssertion)
	lr.CreateAttr("ID", "_"+tokens.ID())
	lr.CreateAttr("Version", "2.0")
	lr.CreateAttr("IssueInstant", samlTime(h.now()))
	lr.CreateAttr("InResponseTo", id)
	if dest != "" {
		lr.CreateAttr("Destination", dest)
	}
	is := lr.CreateElement("saml:Issuer")
	is.CreateAttr("Format", NameIDEntity)
	is.CreateAttr("NameQualifier", h.SP.EntityID())
	is.SetText(h.SP.EntityID())
	lr.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", StatusSuccess)
	xml, err := out.WriteToBytes()
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	err = h.DB.Tx(ctx, func(tx *sql.Tx) error {
		for _, e := range ended {
			if _, err := tx.ExecContext(ctx, `DELETE FROM spid_sessions WHERE session_hash = $1`, e[0]); err != nil {
				return err
			}
		}
		return h.Audit.Write(ctx, tx, audit.Entry{Actor: "anonymous", Action: "spid.logout.idp", Subject: id, Remote: web.RemoteAddr(r),
			Details: map[string]string{"idp": idp.EntityID, "sessions": strconv.Itoa(len(ended)), "request": base64.StdEncoding.EncodeToString(raw), "response": string(xml)}})
	})
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	if dest == "" {
		// No Redirect endpoint to answer to: the sessions have ended.
		h.notice(w, r, http.StatusOK, &NoticeData{Heading: "spid.logout.title", Text: "spid.logout.done"})
		return
	}
	u, err := RedirectURL(dest, "SAMLResponse", xml, r.Form.Get("RelayState"), key)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	http.Redirect(w, r, u, http.StatusSeeOther) // #nosec G710 -- the registered provider's logout address
}

// verifyQuery checks the HTTP-Redirect binding's signature of a message
// with the provider's certificates: the parameters as they were sent, in
// the binding's order.
func verifyQuery(r *http.Request, param string, idp *IdP) error {
	q := r.URL.Query()
	if q.Get("SigAlg") != algRSASHA256 {
		return errors.New("SigAlg not allowed")
	}
	var signed []string
	for _, name := range []string{param, "RelayState", "SigAlg"} {
		for part := range strings.SplitSeq(r.URL.RawQuery, "&") {
			if strings.HasPrefix(part, name+"=") {
				signed = append(signed, part)
				break
			}
		}
	}
	sig, err := base64.StdEncoding.DecodeString(q.Get("Signature"))
	if err != nil || len(sig) == 0 {
		return errors.New("no Signature")
	}
	sum := sha256.Sum256([]byte(strings.Join(signed, "&")))
	for _, c := range idp.Certs {
		if pub, ok := c.PublicKey.(*rsa.PublicKey); ok && rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil {
			if h := time.Now(); h.After(c.NotAfter) {
				continue
			}
			return nil
		}
	}
	return errors.New("query signature does not verify")
}
