package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Sender delivers one message. from is the From header (an address,
// possibly with a display name); messageID is the Message-ID header value,
// the same at every attempt.
type Sender interface {
	Send(ctx context.Context, from string, m Message, messageID string) error
}

// Default timeouts of an SMTPSender.
const (
	DefaultDialTimeout    = 15 * time.Second
	DefaultCommandTimeout = time.Minute
)

// SMTPSender sends through an SMTP submission server.
type SMTPSender struct {
	// From is used when Send is given no from.
	From string
	// TLSConfig, when set, is the base of the TLS configuration, e.g. to
	// trust a private certificate authority (RootCAs). ServerName defaults
	// to the host of the URL.
	TLSConfig *tls.Config
	// DialTimeout bounds connecting (and the TLS handshake of smtps);
	// CommandTimeout bounds each command and its reply. The context given
	// to Send bounds the whole.
	DialTimeout, CommandTimeout time.Duration
	// HelloName is the name given in EHLO; the host name by default.
	HelloName string

	host, addr     string
	implicitTLS    bool
	tlsMode        string // "", "required" or "none"
	user, password string
}

// NewSMTPSender reads the server's URL:
//
//	smtp://[user:password@]host[:port][?tls=required|none]
//	smtps://[user:password@]host[:port]
//
// smtp:// (port 587 by default) switches to TLS with STARTTLS whenever the
// server offers it; tls=required refuses to send otherwise, tls=none never
// tries (for a relay on the same machine). smtps:// (port 465 by default)
// speaks TLS from the start. Credentials, URL-escaped, are sent with AUTH
// PLAIN, and only over TLS or to the local machine. from is the default
// From address, such as "Comune di Cinisello Balsamo <noreply@example.it>".
func NewSMTPSender(rawURL string, from string) (*SMTPSender, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url's errors repeat the URL, password included.
		return nil, errors.New("mail: the SMTP URL cannot be parsed: expected smtp://[user:password@]host:port or smtps://[user:password@]host:port")
	}
	s := &SMTPSender{From: from}
	var port string
	switch u.Scheme {
	case "smtp":
		port = "587"
	case "smtps":
		port, s.implicitTLS = "465", true
	default:
		return nil, fmt.Errorf("mail: SMTP URL scheme %q: expected smtp:// or smtps://", u.Scheme)
	}
	s.host = u.Hostname()
	if s.host == "" {
		return nil, errors.New("mail: the SMTP URL has no host")
	}
	if p := u.Port(); p != "" {
		port = p
	}
	s.addr = net.JoinHostPort(s.host, port)
	if (u.Path != "" && u.Path != "/") || u.Fragment != "" || u.Opaque != "" {
		return nil, errors.New("mail: the SMTP URL must not have a path or fragment")
	}
	for k, v := range u.Query() {
		switch {
		case k == "tls" && len(v) == 1 && (v[0] == "required" || v[0] == "none") && !s.implicitTLS:
			s.tlsMode = v[0]
		case k == "tls" && len(v) == 1 && v[0] == "required" && s.implicitTLS:
		default:
			return nil, fmt.Errorf("mail: SMTP URL parameter %s=%s: only tls=required (or tls=none for smtp://) is understood", k, strings.Join(v, ","))
		}
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.password, _ = u.User.Password()
		if s.user == "" {
			return nil, errors.New("mail: the SMTP URL has a password without a user name")
		}
	}
	if s.user != "" && s.tlsMode == "none" && !isLocal(s.host) {
		return nil, errors.New("mail: tls=none with credentials would send the password in clear: drop tls=none")
	}
	if from != "" {
		if _, err := mail.ParseAddress(from); err != nil {
			return nil, fmt.Errorf("mail: sender address %q: %v", from, err)
		}
	}
	return s, nil
}

// String describes the server without the password.
func (s *SMTPSender) String() string {
	u := url.URL{Scheme: "smtp", Host: s.addr}
	if s.implicitTLS {
		u.Scheme = "smtps"
	}
	if s.user != "" {
		u.User = url.User(s.user)
	}
	if s.tlsMode != "" {
		u.RawQuery = "tls=" + s.tlsMode
	}
	return u.String()
}

func isLocal(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Send delivers m over one SMTP session.
func (s *SMTPSender) Send(ctx context.Context, from string, m Message, messageID string) error {
	if from == "" {
		from = s.From
	}
	sender, err := mail.ParseAddress(from)
	if err != nil {
		return fmt.Errorf("mail: sender address %q: %v", from, err)
	}
	if err := m.Validate(); err != nil {
		return err
	}
	data, err := Build(sender, m, messageID, time.Now())
	if err != nil {
		return err
	}

	dialTimeout := orDefault(s.DialTimeout, DefaultDialTimeout)
	dialCtx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	raw, err := (&net.Dialer{}).DialContext(dialCtx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", s.addr, err)
	}
	// Closing the connection interrupts whatever command is waiting.
	stop := context.AfterFunc(ctx, func() { _ = raw.Close() })
	defer stop()
	defer raw.Close()
	dc := &deadlineConn{Conn: raw, ctx: ctx, timeout: orDefault(s.CommandTimeout, DefaultCommandTimeout)}
	// The server speaks first: the greeting gets a command's time too.
	if err := dc.arm(); err != nil {
		return err
	}
	var conn net.Conn = dc
	if s.implicitTLS {
		tc := tls.Client(conn, s.tlsConfig())
		if err := tc.HandshakeContext(dialCtx); err != nil {
			return withContext(ctx, fmt.Errorf("TLS with %s: %w", s.addr, err))
		}
		conn = tc
	}
	if err := s.session(conn, sender.Address, m.To, data); err != nil {
		return withContext(ctx, err)
	}
	return nil
}

// session runs the SMTP dialogue on conn. Once the server has accepted
// the data, the message is sent: a failure to say goodbye is no error.
func (s *SMTPSender) session(conn net.Conn, from, to string, data []byte) error {
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return fmt.Errorf("greeting from %s: %w", s.addr, err)
	}
	defer c.Close()
	if err := c.Hello(s.helloName()); err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	if !s.implicitTLS && s.tlsMode != "none" {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tlsConfig()); err != nil {
				return fmt.Errorf("STARTTLS with %s: %w", s.addr, err)
			}
		} else if s.tlsMode == "required" {
			return fmt.Errorf("%s does not offer STARTTLS, and the SMTP URL says tls=required", s.addr)
		}
	}
	if s.user != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return fmt.Errorf("%s does not offer AUTH, and the SMTP URL has credentials", s.addr)
		}
		// PlainAuth refuses to send the password unencrypted to a server
		// other than the local machine.
		if err := c.Auth(smtp.PlainAuth("", s.user, s.password, s.host)); err != nil {
			return fmt.Errorf("AUTH as %s: %w", s.user, err)
		}
	}
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	_ = c.Quit()
	return nil
}

func (s *SMTPSender) tlsConfig() *tls.Config {
	var c *tls.Config
	if s.TLSConfig != nil {
		c = s.TLSConfig.Clone()
	} else {
		c = &tls.Config{}
	}
	if c.ServerName == "" {
		c.ServerName = s.host
	}
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS12
	}
	return c
}

func (s *SMTPSender) helloName() string {
	if s.HelloName != "" {
		return s.HelloName
	}
	if h, err := os.Hostname(); err == nil && strings.Contains(h, ".") && !strings.ContainsFunc(h, func(r rune) bool { return r <= ' ' || r > unicode.MaxASCII }) {
		return h
	}
	return "localhost"
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// withContext prefers the context's error when it ended the session.
func withContext(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", context.Cause(ctx), err)
	}
	// The connection's deadline, set to the context's, may fire a moment
	// before the context itself is done.
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
	}
	return err
}

// deadlineConn gives each command a fresh deadline: every write (a command,
// or a piece of the message) allows CommandTimeout for it and its reply,
// never past the context's deadline.
type deadlineConn struct {
	net.Conn
	ctx     context.Context
	timeout time.Duration
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	if err := c.arm(); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

func (c *deadlineConn) arm() error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	d := time.Now().Add(c.timeout)
	if cd, ok := c.ctx.Deadline(); ok && cd.Before(d) {
		d = cd
	}
	return c.Conn.SetDeadline(d)
}

// Build returns the RFC 5322 message for m: From, To, Subject (RFC 2047
// encoded when not ASCII), Date, Message-ID, MIME-Version and
// Auto-Submitted headers, and a quoted-printable UTF-8 text body, or a
// multipart/alternative text and HTML body when m.HTML is set. Lines end
// with CRLF.
func Build(from *mail.Address, m Message, messageID string, date time.Time) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(messageID, "<") {
		messageID = "<" + messageID + ">"
	}
	if strings.ContainsFunc(messageID, func(r rune) bool { return r <= ' ' || r > unicode.MaxASCII }) || !strings.Contains(messageID, "@") {
		return nil, fmt.Errorf("mail: bad Message-ID %q", messageID)
	}
	var b bytes.Buffer
	header := func(name, value string) {
		b.WriteString(name)
		b.WriteString(": ")
		b.WriteString(value)
		b.WriteString("\r\n")
	}
	// mail.Address.String encodes a non-ASCII display name (RFC 2047).
	header("From", formatAddress(len("From: "), from))
	header("To", m.To)
	header("Subject", encodeSubject(m.Subject))
	header("Date", date.Format(time.RFC1123Z))
	header("Message-ID", messageID)
	header("MIME-Version", "1.0")
	// RFC 3834: tells auto-responders not to answer.
	header("Auto-Submitted", "auto-generated")
	if len(m.Attachments) > 0 {
		// multipart/mixed: the body (itself alternative when it has
		// HTML), then each file in base64.
		mixed, err := newBoundary()
		if err != nil {
			return nil, err
		}
		header("Content-Type", fold(len("Content-Type: "), mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": mixed})))
		b.WriteString("\r\n")
		b.WriteString("--" + mixed + "\r\n")
		body := m
		body.Attachments = nil
		if err := writeBody(&b, header, body); err != nil {
			return nil, err
		}
		for _, a := range m.Attachments {
			b.WriteString("\r\n--" + mixed + "\r\n")
			header("Content-Type", fold(len("Content-Type: "), a.MediaType))
			header("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Name}))
			header("Content-Transfer-Encoding", "base64")
			b.WriteString("\r\n")
			enc := base64.StdEncoding.EncodeToString(a.Content)
			for len(enc) > 76 {
				b.WriteString(enc[:76] + "\r\n")
				enc = enc[76:]
			}
			b.WriteString(enc + "\r\n")
		}
		b.WriteString("--" + mixed + "--\r\n")
		return b.Bytes(), nil
	}
	if err := writeBody(&b, header, m); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeBody writes the Content-Type of m's body and the body: plain text,
// or multipart/alternative text and HTML.
func writeBody(b *bytes.Buffer, header func(name, value string), m Message) error {
	if m.HTML == "" {
		header("Content-Type", "text/plain; charset=utf-8")
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(b, m.Text); err != nil {
			return err
		}
		if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
			b.WriteString("\r\n")
		}
		return nil
	}
	boundary, err := newBoundary()
	if err != nil {
		return err
	}
	header("Content-Type", fold(len("Content-Type: "), mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": boundary})))
	b.WriteString("\r\n")
	for _, part := range []struct{ media, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		b.WriteString("--" + boundary + "\r\n")
		header("Content-Type", part.media+"; charset=utf-8")
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(b, part.body); err != nil {
			return err
		}
		// This line end belongs to the boundary, not to the part.
		b.WriteString("\r\n")
	}
	b.WriteString("--" + boundary + "--\r\n")
	return nil
}

// newBoundary returns a multipart boundary that cannot occur in
// quoted-printable text ("=_" is not a valid quoted-printable sequence).
func newBoundary() (string, error) {
	r := make([]byte, 12)
	if _, err := rand.Read(r); err != nil {
		return "", err
	}
	return "=_civico_" + hex.EncodeToString(r), nil
}

// writeQP writes body quoted-printable encoded, lines ending in CRLF.
func writeQP(b *bytes.Buffer, body string) error {
	body = strings.ReplaceAll(body, "\r\n", "\n")
	w := quotedprintable.NewWriter(b)
	if _, err := w.Write([]byte(body)); err != nil {
		return err
	}
	return w.Close()
}

// encodeSubject returns the Subject value: as it is when printable ASCII,
// else as RFC 2047 encoded words; folded onto continuation lines when long.
func encodeSubject(s string) string {
	if isPlainASCII(s) {
		return fold(len("Subject: "), s)
	}
	return encodeWords(len("Subject: "), s)
}

// formatAddress returns an address header value, the display name quoted
// when ASCII, else as RFC 2047 encoded words.
func formatAddress(start int, a *mail.Address) string {
	if a.Name == "" || isPlainASCII(a.Name) {
		// mail.Address.String quotes the name as needed.
		return fold(start, (&mail.Address{Name: a.Name, Address: a.Address}).String())
	}
	words := encodeWords(start, a.Name)
	last := words[strings.LastIndex(words, "\n")+1:]
	sep := " "
	if len(last)+len(a.Address)+3 > 78 {
		sep = "\r\n "
	}
	return words + sep + "<" + a.Address + ">"
}

// isPlainASCII tells whether s can go in a header as it is: printable
// ASCII that does not look like an encoded word.
func isPlainASCII(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r > '~' }) && !strings.Contains(s, "=?")
}

// encodeWords encodes s as RFC 2047 "Q" encoded words, each holding whole
// characters, on lines of at most 76 characters (the first line starts at
// column start). The characters left as they are are safe in a phrase too.
func encodeWords(start int, s string) string {
	const prefix, suffix = "=?utf-8?q?", "?="
	var b, word strings.Builder
	limit := 76 - start // room on the first line
	flush := func() {
		if word.Len() == 0 {
			return
		}
		if b.Len() > 0 {
			b.WriteString("\r\n ")
		}
		b.WriteString(prefix + word.String() + suffix)
		word.Reset()
		limit = 75 // a continuation line starts with a space
	}
	for _, r := range s {
		var enc string
		switch {
		case r == ' ':
			enc = "_"
		case r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("!*+-/", r)):
			enc = string(r)
		default:
			var buf [utf8.UTFMax]byte
			for _, c := range buf[:utf8.EncodeRune(buf[:], r)] {
				enc += fmt.Sprintf("=%02X", c)
			}
		}
		if len(prefix)+word.Len()+len(enc)+len(suffix) > limit {
			flush()
		}
		word.WriteString(enc)
	}
	flush()
	return b.String()
}

// fold breaks a header value at spaces so that lines stay within 78
// characters where possible; start is the length of "Name: ".
func fold(start int, value string) string {
	if start+len(value) <= 78 {
		return value
	}
	var b strings.Builder
	line := start
	for i, word := range strings.Split(value, " ") {
		if i > 0 {
			if line+1+len(word) > 78 && line > 1 {
				b.WriteString("\r\n")
				line = 0
			}
			b.WriteString(" ")
			line++
		}
		b.WriteString(word)
		line += len(word)
	}
	return b.String()
}

// errorText makes a delivery error fit the outbox's last_error column.
func errorText(err error) string {
	s := err.Error()
	var te *textproto.Error
	if errors.As(err, &te) && !strings.Contains(s, fmt.Sprint(te.Code)) {
		s = fmt.Sprintf("%s (SMTP %d)", s, te.Code)
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	if len(s) > maxErrorText {
		cut := maxErrorText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

const maxErrorText = 1000
