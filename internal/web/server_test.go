package web

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestListenReportsAPortInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	ls := []*Listener{
		{Name: "first", Addr: "127.0.0.1:0", Handler: http.NotFoundHandler()},
		{Name: "portal (CIVICO_ADDR)", Addr: busy.Addr().String(), Handler: http.NotFoundHandler()},
	}
	err = Listen(ls)
	if err == nil || !strings.Contains(err.Error(), "CIVICO_ADDR") || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Listen on a busy port: %v", err)
	}
	// The first listener was released: its port can be opened again.
	if ls[0].ln != nil {
		if _, err := ls[0].ln.Accept(); err == nil {
			t.Error("the first listener is still open")
		}
	}
}

// A request in flight when shutdown begins is answered, and Serve returns.
func TestServeFinishesRequestsInFlight(t *testing.T) {
	started := make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, "done")
	})
	ls := []*Listener{{Name: "test", Addr: "127.0.0.1:0", Handler: handler}}
	if err := Listen(ls); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), 5*time.Second, ls) }()

	body := make(chan string, 1)
	go func() {
		res, err := http.Get("http://" + ls[0].Address() + "/")
		if err != nil {
			body <- "error: " + err.Error()
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		body <- string(b)
	}()
	<-started
	cancel()
	if got := <-body; got != "done" {
		t.Errorf("request in flight got %q", got)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after shutdown")
	}
	if _, err := net.DialTimeout("tcp", ls[0].Address(), time.Second); err == nil {
		t.Error("still accepting connections after shutdown")
	}
}
