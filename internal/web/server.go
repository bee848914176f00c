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

// Listener is one address an application is served on.
type Listener struct {
	Name    string // for messages: "portal (CIVICO_ADDR)"
	Addr    string
	Handler http.Handler
	// TLS, when set, serves HTTPS with this configuration.
	TLS *tls.Config
	ln  net.Listener
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
		srv := &http.Server{
			Handler:           l.Handler,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       60 * time.Second,
			WriteTimeout:      120 * time.Second,
			IdleTimeout:       120 * time.Second,
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
