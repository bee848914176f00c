package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/attachments"
	"github.com/civico-pa/civico/internal/cie"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/jobs"
	"github.com/civico-pa/civico/internal/oidcop"
	"github.com/civico-pa/civico/internal/spid/spidtest"
	"github.com/civico-pa/civico/internal/timeuse/analysis"
	"github.com/civico-pa/civico/internal/upstream"
	"github.com/civico-pa/civico/internal/web"
)

// config is everything serve and demo need, read from the environment and
// overridden by flags.
type config struct {
	// demoSPID is the demo's TEST SPID identity provider: set only by
	// `civico demo`, never read from the environment.
	demoSPID         *spidtest.IdP
	DataDir          string
	DatabaseURL      string
	Addr             string
	PartecipaAddr    string
	BaseURL          string
	PartecipaBaseURL string
	LogFormat        string
	LogLevel         string
	AccessLog        bool
	// DebugQueries: CIVICO_DEBUG_QUERIES (web.App.DebugQueries).
	DebugQueries bool
	// PageCacheTTL is how long a page is kept for anonymous visitors, and a
	// shared content for logged-in ones (CIVICO_PAGE_CACHE_TTL).
	PageCacheTTL time.Duration
	// Caches bound the other caches (caches.go).
	Caches caches

	// Smart-card login over TLS.
	TLSAddr, TLSCertFile, TLSKeyFile, TLSBaseURL string
	CRSCAFile, CRSCRLFile                        string
	CRSProxyHeader                               string
	// CRSStrictCRL refuses cards while their authority's CRL is missing or
	// past its next update (see crs.Verifier.StrictCRL).
	CRSStrictCRL bool

	// TrustedProxies are the reverse proxies whose X-Forwarded-For (and
	// forwarded card) is believed.
	TrustedProxies web.Proxies

	// TimeUseAssurance is the login the time-use survey asks
	// (CIVICO_TIMEUSE_ASSURANCE; substantial when empty).
	TimeUseAssurance assurance.Level
	// TimeUseTravel and TimeUseMargins weigh the survey's published
	// results: the minutes to reach an office, one way
	// (CIVICO_TIMEUSE_TRAVEL_MIN, 15 when unset), and the town's population
	// margins the answers are post-stratified to (CIVICO_TIMEUSE_MARGINS,
	// a key,value,population CSV file; unweighted when unset).
	TimeUseTravel  int
	TimeUseMargins analysis.Margins
	// ProposalThreshold and ProposalAnswerDays are Partecipa's rule for
	// proposals: the supports after which the administration owes an
	// answer, and the days it has (CIVICO_PARTECIPA_THRESHOLD,
	// CIVICO_PARTECIPA_ANSWER_DAYS; 100 and 60 when unset).
	ProposalThreshold  int64
	ProposalAnswerDays int

	// CardsPlace is where the URP hands PINs out, as residents read it
	// (CIVICO_CARDS_PLACE).
	CardsPlace string

	// MetricsAddr is the metrics listener's address; empty: none.
	MetricsAddr string
	// Maps is the tile server of the maps on office and place pages
	// (CIVICO_MAP_TILES_URL, CIVICO_MAP_ATTRIBUTION); nil: no maps.
	Maps *web.MapTiles
	// MaxConns caps the connections of each listener, MaxConnsPerClient
	// those of one client address; 0 until fitConns sets the defaults.
	MaxConns, MaxConnsPerClient int
	// Timeouts bound each part of a connection's life.
	Timeouts web.Timeouts

	// Sessions.
	SessionIdle, SessionMax time.Duration

	// Limits are the login, one-time code and mail budgets; PasswordQueue
	// how many password checks may wait for a core.
	Limits        identity.Limits
	PasswordQueue int

	// Outgoing mail.
	SMTPURL, MailFrom string

	// Clamd is the virus scanner every upload goes through (nil: none),
	// from CIVICO_CLAMD_ADDR.
	Clamd *attachments.Clamd

	// JobWorkers is how many background jobs this process runs at once.
	JobWorkers int

	// SecretKey seals the OpenID Connect signing keys and derives the other
	// keys of single sign-on.
	SecretKey string

	// Payments configures the payments feature (payments.go).
	Payments paymentsConfig

	// CIE is the CIE ID federation's configuration, read from the file
	// CIVICO_CIE_OIDC_CONFIG names (nil: CIE login off); cieHTTP, set
	// only by tests, is the client that reaches the federation.
	CIE     *cie.Config
	cieHTTP *http.Client

	// Upstream is the upstream OpenID Connect provider of proxy mode (a
	// regional or vendor SPID/CIE proxy), read from the file
	// CIVICO_UPSTREAM_OIDC_CONFIG names (nil: off); upstreamHTTP, set only
	// by tests, is the client that reaches it.
	Upstream     *upstream.Config
	upstreamHTTP *http.Client
}

// usageError is a mistake in how civico was invoked: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// getenv reads a variable; for secrets, NAME_FILE names a file holding the
// value instead (as container secrets are mounted).
func getenv(env func(string) string, name string, secret bool) (string, error) {
	v := env(name)
	if !secret {
		return v, nil
	}
	file := env(name + "_FILE")
	if file == "" {
		return v, nil
	}
	if v != "" {
		return "", usagef("%s and %s_FILE are both set: keep one", name, name)
	}
	b, err := os.ReadFile(file) // #nosec G304 -- NAME_FILE is set by whoever runs civico: reading that file is the feature
	if err != nil {
		return "", usagef("%s_FILE: %v", name, err)
	}
	return strings.TrimSpace(string(b)), nil
}

func loadConfig(env func(string) string) (config, error) {
	c := config{DataDir: "./civico-data", Addr: "127.0.0.1:8080", PartecipaAddr: "127.0.0.1:8081", LogFormat: "text", LogLevel: "info", AccessLog: true, PageCacheTTL: 10 * time.Second, Caches: defaultCaches(),
		SessionIdle: 30 * time.Minute, SessionMax: 12 * time.Hour, Limits: identity.DefaultLimits(), PasswordQueue: identity.DefaultPasswordQueue,
		Timeouts: web.DefaultTimeouts(), JobWorkers: jobs.DefaultWorkers}
	var err error
	if c.DatabaseURL, err = getenv(env, "CIVICO_DATABASE_URL", true); err != nil {
		return c, err
	}
	if c.SMTPURL, err = getenv(env, "CIVICO_SMTP_URL", true); err != nil {
		return c, err
	}
	if c.SecretKey, err = getenv(env, "CIVICO_SECRET_KEY", true); err != nil {
		return c, err
	}
	for name, dst := range map[string]*string{
		"CIVICO_DATA_DIR": &c.DataDir, "CIVICO_ADDR": &c.Addr, "CIVICO_PARTECIPA_ADDR": &c.PartecipaAddr,
		"CIVICO_BASE_URL": &c.BaseURL, "CIVICO_PARTECIPA_BASE_URL": &c.PartecipaBaseURL,
		"CIVICO_LOG_FORMAT": &c.LogFormat, "CIVICO_LOG_LEVEL": &c.LogLevel,
		"CIVICO_TLS_ADDR": &c.TLSAddr, "CIVICO_TLS_CERT_FILE": &c.TLSCertFile, "CIVICO_TLS_KEY_FILE": &c.TLSKeyFile,
		"CIVICO_TLS_BASE_URL": &c.TLSBaseURL, "CIVICO_CRS_CA_FILE": &c.CRSCAFile, "CIVICO_CRS_CRL_FILE": &c.CRSCRLFile,
		"CIVICO_CRS_PROXY_HEADER": &c.CRSProxyHeader,
		"CIVICO_MAIL_FROM":        &c.MailFrom,
		"CIVICO_METRICS_ADDR":     &c.MetricsAddr,
	} {
		if v := env(name); v != "" {
			*dst = v
		}
	}
	if v := env("CIVICO_CLAMD_ADDR"); v != "" {
		if c.Clamd, err = attachments.ParseClamd(v); err != nil {
			return c, usagef("CIVICO_CLAMD_ADDR: %v", err)
		}
	}
	if c.Maps, err = web.ParseMapTiles(env("CIVICO_MAP_TILES_URL"), env("CIVICO_MAP_ATTRIBUTION")); err != nil {
		return c, usagef("CIVICO_MAP_TILES_URL: %v", err)
	}
	if env("CIVICO_CRS_TRUSTED_PROXIES") != "" {
		return c, usagef("CIVICO_CRS_TRUSTED_PROXIES is now CIVICO_TRUSTED_PROXIES: it names the reverse proxies for every purpose (the client's address, the forwarded card)")
	}
	if v := env("CIVICO_TRUSTED_PROXIES"); v != "" {
		if c.TrustedProxies, err = web.ParseProxies(v); err != nil {
			return c, usagef("CIVICO_TRUSTED_PROXIES: %v", err)
		}
	}
	c.CardsPlace = strings.TrimSpace(env("CIVICO_CARDS_PLACE"))
	if v := env("CIVICO_TIMEUSE_ASSURANCE"); v != "" {
		if c.TimeUseAssurance = assurance.Level(v); !c.TimeUseAssurance.Valid() {
			return c, usagef("CIVICO_TIMEUSE_ASSURANCE must be low, substantial or high, not %q", v)
		}
	}
	if v := env("CIVICO_TIMEUSE_TRAVEL_MIN"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 240 {
			return c, usagef("CIVICO_TIMEUSE_TRAVEL_MIN must be the minutes to reach an office, one way, from 1 to 240, not %q", v)
		}
		c.TimeUseTravel = n
	}
	if path := env("CIVICO_TIMEUSE_MARGINS"); path != "" {
		raw, err := os.ReadFile(path) // #nosec G304 -- the town's IT office names the file in CIVICO_TIMEUSE_MARGINS
		if err != nil {
			return c, usagef("CIVICO_TIMEUSE_MARGINS: %v", err)
		}
		c.TimeUseMargins, err = analysis.ReadMargins(bytes.NewReader(raw))
		if err != nil {
			return c, usagef("CIVICO_TIMEUSE_MARGINS %s: %v", path, err)
		}
	}
	if v := env("CIVICO_PARTECIPA_THRESHOLD"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > 1_000_000 {
			return c, usagef("CIVICO_PARTECIPA_THRESHOLD must be a number of supports from 1 to 1000000, not %q", v)
		}
		c.ProposalThreshold = n
	}
	if v := env("CIVICO_PARTECIPA_ANSWER_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 365 {
			return c, usagef("CIVICO_PARTECIPA_ANSWER_DAYS must be a number of days from 1 to 365, not %q", v)
		}
		c.ProposalAnswerDays = n
	}
	if v := env("CIVICO_CRS_STRICT_CRL"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, usagef("CIVICO_CRS_STRICT_CRL must be true or false, not %q", v)
		}
		c.CRSStrictCRL = b
	}
	if v := env("CIVICO_ACCESS_LOG"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, usagef("CIVICO_ACCESS_LOG must be true or false, not %q", v)
		}
		c.AccessLog = b
	}
	if v := env("CIVICO_DEBUG_QUERIES"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, usagef("CIVICO_DEBUG_QUERIES must be true or false, not %q", v)
		}
		c.DebugQueries = b
	}
	for _, d := range []struct {
		name     string
		dst      *time.Duration
		min, max time.Duration
	}{
		{"CIVICO_SESSION_IDLE", &c.SessionIdle, time.Minute, 24 * time.Hour},
		{"CIVICO_SESSION_MAX", &c.SessionMax, 5 * time.Minute, 30 * 24 * time.Hour},
		{"CIVICO_LOGIN_LOCK", &c.Limits.Lock, time.Minute, 24 * time.Hour},
		{"CIVICO_READ_HEADER_TIMEOUT", &c.Timeouts.ReadHeader, time.Second, time.Minute},
		{"CIVICO_READ_TIMEOUT", &c.Timeouts.Read, time.Second, 10 * time.Minute},
		{"CIVICO_WRITE_TIMEOUT", &c.Timeouts.Write, time.Second, time.Hour},
		{"CIVICO_IDLE_TIMEOUT", &c.Timeouts.Idle, time.Second, time.Hour},
		{"CIVICO_UPLOAD_TIMEOUT", &c.Timeouts.Upload, time.Minute, 24 * time.Hour},
	} {
		if v := env(d.name); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil || x < d.min || x > d.max {
				return c, usagef("%s must be a duration from %s to %s, such as 30m, not %q", d.name, d.min, d.max, v)
			}
			*d.dst = x
		}
	}
	for _, n := range []struct {
		name     string
		dst      *int
		min, max int
	}{
		{"CIVICO_LOGIN_PAIR_ATTEMPTS", &c.Limits.PairAttempts, 4, 1000},
		{"CIVICO_LOGIN_CLIENT_ATTEMPTS", &c.Limits.ClientAttempts, 21, 1000000},
		{"CIVICO_LOGIN_ACCOUNT_ATTEMPTS", &c.Limits.AccountAttempts, 10, 1000000},
		{"CIVICO_OTP_ATTEMPTS", &c.Limits.CodeAttempts, 1, 10},
		{"CIVICO_MAIL_PER_CLIENT", &c.Limits.MailsPerClient, 1, 1000000},
		{"CIVICO_CARD_LOGINS_PER_HOUR", &c.Limits.CardLogins, 1, 1000000},
		{"CIVICO_PASSWORD_QUEUE", &c.PasswordQueue, 0, 10000},
		{"CIVICO_MAX_CONNS", &c.MaxConns, minConns, 1_000_000},
		{"CIVICO_MAX_CONNS_PER_CLIENT", &c.MaxConnsPerClient, 1, 1_000_000},
		{"CIVICO_JOB_WORKERS", &c.JobWorkers, 1, 1000},
	} {
		if v := env(n.name); v != "" {
			x, err := strconv.Atoi(v)
			if err != nil || x < n.min || x > n.max {
				return c, usagef("%s must be a whole number from %d to %d, not %q", n.name, n.min, n.max, v)
			}
			*n.dst = x
		}
	}
	if f := env("CIVICO_CIE_OIDC_CONFIG"); f != "" {
		cc, err := cie.LoadConfig(f)
		if err != nil {
			return c, usagef("CIVICO_CIE_OIDC_CONFIG: %v", err)
		}
		c.CIE = cc
	}
	if f := env("CIVICO_UPSTREAM_OIDC_CONFIG"); f != "" {
		uc, err := upstream.LoadConfig(f)
		if err != nil {
			return c, usagef("CIVICO_UPSTREAM_OIDC_CONFIG: %v", err)
		}
		c.Upstream = uc
	}
	if err := loadPaymentsConfig(env, &c.Payments); err != nil {
		return c, err
	}
	if v := env("CIVICO_PAGE_CACHE_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > time.Hour {
			return c, usagef("CIVICO_PAGE_CACHE_TTL must be a duration from 0s to 1h, such as 10s, not %q", v)
		}
		c.PageCacheTTL = d
	}
	return c, nil
}

// serverFlags lets flags override the environment for serve and demo.
func (c *config) serverFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "data directory (CIVICO_DATA_DIR)")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "database: empty, sqlite:PATH or postgres://... (CIVICO_DATABASE_URL)")
	fs.StringVar(&c.Addr, "addr", c.Addr, "portal listen address (CIVICO_ADDR)")
	fs.StringVar(&c.PartecipaAddr, "partecipa-addr", c.PartecipaAddr, "Partecipa listen address (CIVICO_PARTECIPA_ADDR)")
	fs.StringVar(&c.BaseURL, "base-url", c.BaseURL, "portal public URL (CIVICO_BASE_URL)")
	fs.StringVar(&c.PartecipaBaseURL, "partecipa-base-url", c.PartecipaBaseURL, "Partecipa public URL (CIVICO_PARTECIPA_BASE_URL)")
}

// check validates the configuration and derives the public URLs, naming the
// variable at fault.
func (c *config) check() error {
	if strings.TrimSpace(c.DataDir) == "" {
		return usagef("CIVICO_DATA_DIR must not be empty")
	}
	for _, a := range []struct{ name, value string }{{"CIVICO_ADDR", c.Addr}, {"CIVICO_PARTECIPA_ADDR", c.PartecipaAddr}} {
		if err := checkAddr(a.value); err != nil {
			return usagef("%s=%q: %v", a.name, a.value, err)
		}
	}
	if c.Addr == c.PartecipaAddr {
		return usagef("CIVICO_ADDR and CIVICO_PARTECIPA_ADDR are both %s: the portal and Partecipa need an address each", c.Addr)
	}
	var err error
	if c.BaseURL, err = publicURL("CIVICO_BASE_URL", c.BaseURL, c.Addr); err != nil {
		return err
	}
	if c.PartecipaBaseURL, err = publicURL("CIVICO_PARTECIPA_BASE_URL", c.PartecipaBaseURL, c.PartecipaAddr); err != nil {
		return err
	}
	if c.MetricsAddr != "" {
		if err := checkAddr(c.MetricsAddr); err != nil {
			return usagef("CIVICO_METRICS_ADDR=%q: %v", c.MetricsAddr, err)
		}
	}
	if t := c.Timeouts; t.ReadHeader > t.Read {
		return usagef("CIVICO_READ_HEADER_TIMEOUT (%s) must not be longer than CIVICO_READ_TIMEOUT (%s), which includes the headers", t.ReadHeader, t.Read)
	}
	if t := c.Timeouts; t.Upload < t.Read {
		return usagef("CIVICO_UPLOAD_TIMEOUT (%s) must not be shorter than CIVICO_READ_TIMEOUT (%s): it extends it for large bodies", t.Upload, t.Read)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return usagef("CIVICO_LOG_FORMAT must be text or json, not %q", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return usagef("CIVICO_LOG_LEVEL must be debug, info, warn or error, not %q", c.LogLevel)
	}
	return nil
}

func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("expected host:port, e.g. 127.0.0.1:8080")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return errors.New("the port must be a number from 0 to 65535")
	}
	return nil
}

// publicURL checks a configured public URL or derives one from the listen
// address.
func publicURL(name, raw, addr string) (string, error) {
	if raw == "" {
		host, port, _ := net.SplitHostPort(addr)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		return "http://" + net.JoinHostPort(host, port), nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", usagef("%s=%q: expected an address such as https://servizi.comune.example.it", name, raw)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// checkLogin validates the smart-card and mail settings; the demo calls it
// after filling in its own test authority's files.
func (c *config) checkLogin() error {
	var err error
	if c.TLSAddr != "" {
		if err := checkAddr(c.TLSAddr); err != nil {
			return usagef("CIVICO_TLS_ADDR=%q: %v", c.TLSAddr, err)
		}
		if c.TLSCertFile == "" || c.TLSKeyFile == "" {
			return usagef("CIVICO_TLS_ADDR needs CIVICO_TLS_CERT_FILE and CIVICO_TLS_KEY_FILE (civico ca init makes a test pair)")
		}
		if c.TLSBaseURL, err = publicURL("CIVICO_TLS_BASE_URL", c.TLSBaseURL, c.TLSAddr); err != nil {
			return err
		}
		if strings.HasPrefix(c.TLSBaseURL, "http://") {
			c.TLSBaseURL = "https://" + strings.TrimPrefix(c.TLSBaseURL, "http://")
		}
	}
	if (c.TLSAddr != "" || c.CRSProxyHeader != "") && c.CRSCAFile == "" {
		return usagef("smart-card login needs CIVICO_CRS_CA_FILE, the card authorities' certificates")
	}
	if c.CRSProxyHeader != "" && c.TrustedProxies.Empty() {
		return usagef("CIVICO_CRS_PROXY_HEADER needs CIVICO_TRUSTED_PROXIES: the addresses the header is trusted from")
	}
	if c.SMTPURL != "" && c.MailFrom == "" {
		return usagef("CIVICO_SMTP_URL needs CIVICO_MAIL_FROM, the sender address")
	}
	if len(c.SecretKey) < oidcop.MinSecretLen {
		return usagef("CIVICO_SECRET_KEY (or CIVICO_SECRET_KEY_FILE) must hold a secret of at least %d characters, e.g. the output of: openssl rand -base64 32", oidcop.MinSecretLen)
	}
	return nil
}

// The connection caps' defaults, and the descriptors kept for everything
// else: the database's connections and files, uploads being written,
// outgoing mail and back-channel logout requests, the listening sockets.
const (
	defaultMaxConns          = 4096
	defaultMaxConnsPerClient = 128
	minConns                 = 16
	fdReserve                = 512
)

// listenerCount is how many listeners serve opens with this configuration:
// every one of them may hold MaxConns connections.
func (c *config) listenerCount() int {
	n := 2 // the portal and Partecipa
	if c.TLSAddr != "" {
		n++
	}
	if c.MetricsAddr != "" {
		n++
	}
	return n
}

// fitConns sets the connection caps' defaults and checks that every
// listener's connections fit the file-descriptor limit (fdLimit, when
// known) with fdReserve to spare: past it, accept fails and every
// listener stops answering, which is what the caps are there to prevent.
// An unset CIVICO_MAX_CONNS is lowered to fit; a set one that does not fit
// is refused.
func (c *config) fitConns(fdLimit uint64, known bool) error {
	n := uint64(c.listenerCount()) // #nosec G115 -- 2 to 4
	set := c.MaxConns > 0
	if !set {
		c.MaxConns = defaultMaxConns
		if known {
			share := uint64(0)
			if fdLimit > fdReserve {
				share = (fdLimit - fdReserve) / n
			}
			if share < defaultMaxConns {
				c.MaxConns = int(share) // #nosec G115 -- below defaultMaxConns
			}
		}
	}
	if need := n*uint64(c.MaxConns) + fdReserve; known && need > fdLimit { // #nosec G115 -- MaxConns is positive
		return usagef("CIVICO_MAX_CONNS=%d does not fit the file-descriptor limit (ulimit -n) of %d: %d listeners of %d connections and %d descriptors for the database and files need %d, so lower CIVICO_MAX_CONNS or raise the limit",
			c.MaxConns, fdLimit, n, c.MaxConns, fdReserve, need)
	}
	if c.MaxConns < minConns {
		return usagef("the file-descriptor limit (ulimit -n) of %d leaves fewer than %d connections (CIVICO_MAX_CONNS) to each of %d listeners: raise it",
			fdLimit, minConns, n)
	}
	switch {
	case c.MaxConnsPerClient == 0:
		c.MaxConnsPerClient = min(defaultMaxConnsPerClient, c.MaxConns)
	case c.MaxConnsPerClient > c.MaxConns:
		return usagef("CIVICO_MAX_CONNS_PER_CLIENT (%d) must not be more than CIVICO_MAX_CONNS (%d), the cap of all clients together", c.MaxConnsPerClient, c.MaxConns)
	}
	return nil
}
