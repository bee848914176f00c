package mail

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/mail/mailtest"
)

const (
	testFrom    = "Comune di Cinisello Balsamo <noreply@comune.cinisello-balsamo.mi.it>"
	testSubject = "Verifica il tuo indirizzo — Comune di Cinisello Balsamo"
	testText    = "Gentile cittadina, gentile cittadino,\n\n" +
		"per completare la registrazione ai servizi del Comune apri questo collegamento entro 24 ore: " +
		"https://servizi.comune.cinisello-balsamo.mi.it/verifica?token=4f6a2c9e1b7d3a5f8e0c2b4d6a8f0e1c\n" +
		".una riga che comincia con un punto\n" +
		"From una riga che comincia con From\n" +
		"Perché? Così è più sicuro: €, «virgolette», 👍\n"
)

func newSender(t *testing.T, rawURL string) *SMTPSender {
	t.Helper()
	s, err := NewSMTPSender(rawURL, testFrom)
	if err != nil {
		t.Fatalf("NewSMTPSender: %v", err)
	}
	s.CommandTimeout = 5 * time.Second
	return s
}

func send(s *SMTPSender, m Message) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Send(ctx, "", m, "<0123456789abcdef@comune.cinisello-balsamo.mi.it>")
}

func TestSendPlainText(t *testing.T) {
	srv := mailtest.Start(t)
	s := newSender(t, srv.URL())
	if err := send(s, Message{To: "mario.rossi@example.it", Subject: testSubject, Text: testText}); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitFor(t, 1, 5*time.Second)[0]
	if got.ParseErr != nil {
		t.Fatalf("the message does not parse: %v\n%s", got.ParseErr, got.Data)
	}
	if got.From != "noreply@comune.cinisello-balsamo.mi.it" || len(got.To) != 1 || got.To[0] != "mario.rossi@example.it" {
		t.Errorf("envelope from %q to %q", got.From, got.To)
	}
	if got.Subject != testSubject {
		t.Errorf("subject %q", got.Subject)
	}
	if got.Text != testText {
		t.Errorf("text body\n%q\nwant\n%q", got.Text, testText)
	}
	h := got.Header
	if h.Get("Message-ID") != "<0123456789abcdef@comune.cinisello-balsamo.mi.it>" || h.Get("MIME-Version") != "1.0" ||
		h.Get("To") != "mario.rossi@example.it" || h.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("headers %v", h)
	}
	if from, err := h.AddressList("From"); err != nil || len(from) != 1 || from[0].Name != "Comune di Cinisello Balsamo" {
		t.Errorf("From %q: %v, %v", h.Get("From"), from, err)
	}
	if d, err := h.Date(); err != nil || time.Since(d) > time.Minute {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	if ct := h.Get("Content-Type"); ct != "text/plain; charset=utf-8" || h.Get("Content-Transfer-Encoding") != "quoted-printable" {
		t.Errorf("Content-Type %q", ct)
	}
	raw := string(got.Data)
	if !strings.Contains(raw, "\r\nSubject: =?utf-8?q?Verifica_il_tuo_indirizzo_=E2=80=94_") {
		t.Errorf("the subject is not RFC 2047 encoded:\n%s", raw)
	}
	checkLines(t, got.Data)
}

// checkLines checks that the message is 7-bit with CRLF line ends and no
// line over 78 characters.
func checkLines(t *testing.T, data []byte) {
	t.Helper()
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\r\n"), "\r\n") {
		if len(line) > 78 || strings.ContainsAny(line, "\r\n") {
			t.Errorf("line %d is %d characters or has a bare line end: %q", i+1, len(line), line)
		}
		for _, r := range line {
			if r > 127 {
				t.Errorf("line %d is not ASCII: %q", i+1, line)
				break
			}
		}
	}
}

func TestSendTextAndHTML(t *testing.T) {
	srv := mailtest.Start(t)
	s := newSender(t, srv.URL())
	html := "<p>Gentile cittadina, gentile cittadino,</p>\n<p><a href=\"https://example.it/verifica?token=abc&amp;lang=it\">Verifica l’indirizzo</a> — entro 24 ore.</p>\n"
	if err := send(s, Message{To: "mario.rossi@example.it", Subject: testSubject, Text: testText, HTML: html}); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitFor(t, 1, 5*time.Second)[0]
	if got.ParseErr != nil {
		t.Fatalf("the message does not parse: %v\n%s", got.ParseErr, got.Data)
	}
	media, params, err := mime.ParseMediaType(got.Header.Get("Content-Type"))
	if err != nil || media != "multipart/alternative" || params["boundary"] == "" {
		t.Fatalf("Content-Type %q", got.Header.Get("Content-Type"))
	}
	if got.Text != testText || got.HTML != html {
		t.Errorf("bodies\n%q\n%q", got.Text, got.HTML)
	}
	// The text part comes first: clients show the last one they can.
	mr := multipart.NewReader(bytes.NewReader(got.Data[bytes.Index(got.Data, []byte("\r\n\r\n"))+4:]), params["boundary"])
	var types []string
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, p.Header.Get("Content-Type"))
	}
	if strings.Join(types, ",") != "text/plain; charset=utf-8,text/html; charset=utf-8" {
		t.Errorf("parts %v", types)
	}
	checkLines(t, got.Data)
}

func TestSendWithCredentials(t *testing.T) {
	srv := mailtest.StartWith(t, mailtest.Options{Username: "civico", Password: "p@ss:w/rd è"})
	s := newSender(t, srv.URL())
	if err := send(s, Message{To: "a@example.it", Subject: "Prova", Text: "ciao"}); err != nil {
		t.Fatal(err)
	}
	if got := srv.WaitFor(t, 1, 5*time.Second)[0]; got.User != "civico" {
		t.Errorf("authenticated as %q", got.User)
	}
	if strings.Contains(s.String(), "p%40ss") || strings.Contains(s.String(), "rd") || !strings.Contains(s.String(), "civico@") {
		t.Errorf("String() = %q shows the password or lacks the user", s.String())
	}

	wrong := newSender(t, strings.Replace(srv.URL(), "civico:", "civico:x", 1))
	err := send(wrong, Message{To: "a@example.it", Subject: "Prova", Text: "ciao"})
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code != 535 {
		t.Errorf("wrong password: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "p@ss") {
		t.Errorf("the error shows the password: %v", err)
	}

	// Without credentials the server refuses MAIL FROM.
	anon := newSender(t, "smtp://"+srv.Addr())
	if err := send(anon, Message{To: "a@example.it", Subject: "Prova", Text: "ciao"}); err == nil {
		t.Error("sending without the required credentials succeeded")
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d messages received, want 1", n)
	}
}

func TestCredentialsNeedAUTH(t *testing.T) {
	srv := mailtest.Start(t)
	s := newSender(t, "smtp://user:secret@"+srv.Addr())
	err := send(s, Message{To: "a@example.it", Subject: "Prova", Text: "ciao"})
	if err == nil || !strings.Contains(err.Error(), "does not offer AUTH") {
		t.Errorf("credentials with a server without AUTH: %v", err)
	}
}

func TestSendStartTLS(t *testing.T) {
	srv := mailtest.StartWith(t, mailtest.Options{StartTLS: true, Username: "civico", Password: "segreto"})
	for _, u := range []string{srv.URL(), srv.URL() + "?tls=required"} {
		s := newSender(t, u)
		s.TLSConfig = &tls.Config{RootCAs: srv.RootCAs()}
		if err := send(s, Message{To: "a@example.it", Subject: "Prova", Text: "ciao"}); err != nil {
			t.Fatalf("%s: %v", u, err)
		}
	}
	for _, got := range srv.WaitFor(t, 2, 5*time.Second) {
		if !got.TLS || got.User != "civico" {
			t.Errorf("received with TLS %v, user %q", got.TLS, got.User)
		}
	}
	// A certificate the sender does not trust stops the delivery.
	s := newSender(t, srv.URL())
	if err := send(s, Message{To: "a@example.it", Subject: "Prova", Text: "ciao"}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: %v", err)
	}
}

func TestTLSRequired(t *testing.T) {
	srv := mailtest.Start(t)
	s := newSender(t, srv.URL()+"?tls=required")
	err := send(s, Message{To: "a@example.it", Subject: "Prova", Text: "ciao"})
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("tls=required with a server without STARTTLS: %v", err)
	}
	if n := srv.Attempts(); n != 0 {
		t.Errorf("%d deliveries reached the server", n)
	}
}

func TestSendImplicitTLS(t *testing.T) {
	srv := mailtest.StartWith(t, mailtest.Options{ImplicitTLS: true, Username: "civico", Password: "segreto"})
	s := newSender(t, srv.URL())
	s.TLSConfig = &tls.Config{RootCAs: srv.RootCAs()}
	if err := send(s, Message{To: "a@example.it", Subject: "Prova", Text: "ciao"}); err != nil {
		t.Fatal(err)
	}
	if got := srv.WaitFor(t, 1, 5*time.Second)[0]; !got.TLS || got.User != "civico" {
		t.Errorf("received with TLS %v, user %q", got.TLS, got.User)
	}
}

// A server that accepts the connection and then says nothing.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(io.Discard, bufio.NewReader(c))
			}()
		}
	}()
	return ln.Addr().String()
}

func TestSendTimesOut(t *testing.T) {
	addr := silentServer(t)
	s := newSender(t, "smtp://"+addr)
	s.CommandTimeout = 200 * time.Millisecond
	start := time.Now()
	err := s.Send(context.Background(), "", Message{To: "a@example.it", Subject: "Prova", Text: "ciao"}, "<x@example.it>")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("silent server: %v, want a timeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the timeout took %v", d)
	}

	s.CommandTimeout = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	err = s.Send(ctx, "", Message{To: "a@example.it", Subject: "Prova", Text: "ciao"}, "<x@example.it>")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("context deadline: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the context's deadline took %v", d)
	}
}

func TestNewSMTPSender(t *testing.T) {
	good := []struct{ url, addr, str string }{
		{"smtp://mail.example.it", "mail.example.it:587", "smtp://mail.example.it:587"},
		{"smtp://mail.example.it:25?tls=none", "mail.example.it:25", "smtp://mail.example.it:25?tls=none"},
		{"smtp://u%40x:p%3As@mail.example.it:587?tls=required", "mail.example.it:587", "smtp://u%40x@mail.example.it:587?tls=required"},
		{"smtps://u:p@[2001:db8::1]", "[2001:db8::1]:465", "smtps://u@[2001:db8::1]:465"},
		{"smtp://u:p@127.0.0.1:25?tls=none", "127.0.0.1:25", "smtp://u@127.0.0.1:25?tls=none"},
	}
	for _, g := range good {
		s, err := NewSMTPSender(g.url, "noreply@example.it")
		if err != nil {
			t.Errorf("%s: %v", g.url, err)
			continue
		}
		if s.addr != g.addr || s.String() != g.str {
			t.Errorf("%s: addr %s, String %s", g.url, s.addr, s.String())
		}
	}
	s, _ := NewSMTPSender("smtp://u%40x:p%3As@mail.example.it", "")
	if s.user != "u@x" || s.password != "p:s" {
		t.Errorf("credentials %q %q", s.user, s.password)
	}
	for _, bad := range []string{
		"mail.example.it:25",
		"http://mail.example.it",
		"smtp://",
		"smtp://mail.example.it/path",
		"smtp://mail.example.it?tls=maybe",
		"smtp://mail.example.it?starttls=1",
		"smtps://mail.example.it?tls=none",
		"smtp://u:secret@mail.example.it?tls=none",
		"smtp://:secret@mail.example.it",
		"smtp://u:sec ret@mail.example.it:x",
	} {
		_, err := NewSMTPSender(bad, "noreply@example.it")
		if err == nil {
			t.Errorf("%s accepted", bad)
		} else if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "sec ret") {
			t.Errorf("%s: the error shows the password: %v", bad, err)
		}
	}
	if _, err := NewSMTPSender("smtp://mail.example.it", "not an address"); err == nil {
		t.Error("a bad sender address was accepted")
	}
}

func TestBuildFoldsAndEncodes(t *testing.T) {
	from := &mail.Address{Name: "Città di Prova — Ufficio Relazioni con il Pubblico e Servizi Demografici", Address: "urp@example.it"}
	long := strings.Repeat("Verifica l’indirizzo di posta del Comune ", 6)
	asciiLong := strings.Repeat("Conferma la tua registrazione ai servizi online ", 5)
	for _, subject := range []string{long, asciiLong, "Oggetto =?utf-8?q?finto?= in chiaro", "Breve"} {
		m := Message{To: "a@example.it", Subject: strings.TrimSpace(subject), Text: strings.Repeat("riga lunghissima senza interruzioni ", 20)}
		data, err := Build(from, m, "abc@example.it", time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		checkLines(t, data)
		msg, err := mail.ReadMessage(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		got, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if err != nil || got != m.Subject {
			t.Errorf("subject read back as %q (%v), want %q", got, err, m.Subject)
		}
		addrs, err := msg.Header.AddressList("From")
		if err != nil || addrs[0].Name != from.Name || addrs[0].Address != from.Address {
			t.Errorf("From read back as %v (%v)", addrs, err)
		}
		if msg.Header.Get("Message-ID") != "<abc@example.it>" || msg.Header.Get("Date") != "Sat, 01 Mar 2025 09:30:00 +0000" {
			t.Errorf("Message-ID %q, Date %q", msg.Header.Get("Message-ID"), msg.Header.Get("Date"))
		}
		body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
		if err != nil || strings.ReplaceAll(string(body), "\r\n", "\n") != m.Text+"\n" && strings.ReplaceAll(string(body), "\r\n", "\n") != m.Text {
			t.Errorf("body read back as %q (%v)", body, err)
		}
	}
	if _, err := Build(from, Message{To: "a@example.it", Subject: "x", Text: "y"}, "<bad id@example.it>", time.Now()); err == nil {
		t.Error("a Message-ID with a space was accepted")
	}
}

// A message with files is multipart/mixed: its body, then each file in
// base64, read back as sent by the test server's parser.
func TestBuildAttachments(t *testing.T) {
	from := &mail.Address{Address: "urp@example.it"}
	ics := "BEGIN:VCALENDAR\r\n" + strings.Repeat("X-LINE:àèìòù lunga riga di prova\r\n", 20) + "END:VCALENDAR\r\n"
	for _, html := range []string{"", "<p>Ciao</p>"} {
		m := Message{To: "a@example.it", Subject: "Appuntamento", Text: "Ciao", HTML: html,
			Attachments: []Attachment{{Name: "appuntamento.ics", MediaType: "text/calendar; charset=utf-8; method=PUBLISH", Content: []byte(ics)}}}
		data, err := Build(from, m, "abc@example.it", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		checkLines(t, data)
		r := mailtest.Parse(data)
		if r.ParseErr != nil || strings.TrimSpace(r.Text) != "Ciao" || strings.TrimSpace(r.HTML) != strings.TrimSpace(html) {
			t.Fatalf("read back: text %q html %q err %v", r.Text, r.HTML, r.ParseErr)
		}
		if len(r.Attachments) != 1 || r.Attachments[0].Name != "appuntamento.ics" || string(r.Attachments[0].Content) != ics ||
			!strings.HasPrefix(r.Attachments[0].MediaType, "text/calendar") {
			t.Fatalf("attachments read back: %+v", r.Attachments)
		}
	}
	for _, bad := range []Attachment{{Name: "a\"b.ics", MediaType: "text/calendar"}, {Name: "", MediaType: "text/calendar"},
		{Name: "a.ics", MediaType: "not a type;;"}, {Name: "../a.ics", MediaType: "text/calendar"}} {
		m := Message{To: "a@example.it", Subject: "x", Text: "y", Attachments: []Attachment{bad}}
		if err := m.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}
