package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Timeouts bound how long a connection may take over each part of its
// life. A zero field takes DefaultTimeouts' value.
type Timeouts struct {
	// ReadHeader bounds reading a request's headers.
	ReadHeader time.Duration
	// Read bounds reading a whole request, body included. Most bodies
	// are forms of a few kilobytes: a client sending slower than this
	// allows holds a connection for nothing.
	Read time.Duration
	// Write bounds the answer, from the end of the headers.
	Write time.Duration
	// Idle is how long a kept-alive connection waits for its next request.
	Idle time.Duration
	// Upload replaces Read on the routes that take a large body from an
	// operator (App.LargeBody): the forms library, long back-office forms.
	Upload time.Duration
}

// DefaultTimeouts are the timeouts of a listener whose Timeouts say nothing.
func DefaultTimeouts() Timeouts {
	return Timeouts{ReadHeader: 5 * time.Second, Read: 10 * time.Second, Write: 120 * time.Second,
		Idle: 30 * time.Second, Upload: 10 * time.Minute}
}

// orDefault fills the zero fields with DefaultTimeouts'.
func (t Timeouts) orDefault() Timeouts {
	d := DefaultTimeouts()
	for _, f := range []struct{ v, def *time.Duration }{
		{&t.ReadHeader, &d.ReadHeader}, {&t.Read, &d.Read}, {&t.Write, &d.Write}, {&t.Idle, &d.Idle}, {&t.Upload, &d.Upload},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return t
}

// Listener is one address an application is served on.
type Listener struct {
	Name    string // for messages: "portal (CIVICO_ADDR)"
	Addr    string
	Handler http.Handler
	// TLS, when set, serves HTTPS with this configuration.
	TLS *tls.Config
	// Limits caps the connections open at once.
	Limits ConnLimits
	// Timeouts bound each part of a connection's life.
	Timeouts Timeouts
	// Metrics, when set, counts the connections refused and open, with
	// Label as the listener's name ("portal").
	Metrics *Metrics
	Label   string
	ln      net.Listener
}

// Listen opens every address before anything is served, so a port in use
// stops the start with a clear message instead of half a server.
func Listen(ls []*Listener) error {
	for i, l := range ls {
		ln, err := net.Listen("tcp", l.Addr)
		if err != nil {
			for _, prev := range ls[:i] {
				_ = prev.ln.Close()
			}
			return fmt.Errorf("cannot listen on %s for the %s: %w", l.Addr, l.Name, errors.Unwrap(err))
		}
		// Counted before TLS: a handshake never finished holds a
		// descriptor all the same.
		refused, open := l.Metrics.connCounters(l.Label)
		ln = limitConns(ln, l.Limits, refused, open)
		if l.TLS != nil {
			ln = tls.NewListener(ln, l.TLS)
		}
		l.ln = ln
	}
	return nil
}

// Address is where the listener actually listens (useful with port 0).
func (l *Listener) Address() string { return l.ln.Addr().String() }

// Serve answers on every opened listener until ctx ends, then stops taking
// new connections and lets in-flight requests finish, for up to grace.
func Serve(ctx context.Context, log *slog.Logger, grace time.Duration, ls []*Listener) error {
	servers := make([]*http.Server, len(ls))
	errc := make(chan error, len(ls))
	var wg sync.WaitGroup
	for i, l := range ls {
		t := l.Timeouts.orDefault()
		srv := &http.Server{
			Handler:           l.Handler,
			ReadHeaderTimeout: t.ReadHeader,
			ReadTimeout:       t.Read,
			WriteTimeout:      t.Write,
			IdleTimeout:       t.Idle,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
			BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		}
		servers[i] = srv
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(l.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s: %w", l.Name, err)
			}
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	log.Info("shutting down: finishing requests in flight", "grace", grace)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	for _, srv := range servers {
		if e := srv.Shutdown(sctx); e != nil {
			err = errors.Join(err, e)
		}
	}
	wg.Wait()
	return err
}
