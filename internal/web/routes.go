package web

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/civico-pa/civico/internal/assurance"
)

// Route is one line of an application's route map: a ServeMux pattern, the
// feature that serves it and who may open it.
type Route struct {
	Pattern string
	Feature string
	// Level is the least level of assurance a visitor needs ("" for a page
	// anyone may open); Roles the operator roles, any of which opens it.
	Level assurance.Level
	Roles []string
}

// Access is the route map's words for who may open a route.
func (r Route) Access() string {
	switch {
	case r.Level == "":
		return "anyone"
	case len(r.Roles) > 0:
		return string(r.Level) + ", role " + strings.Join(r.Roles, " or ")
	}
	return string(r.Level)
}

// Guard wraps a handler for visitors logged in at level or above, holding
// one of roles if any are given (identity's Require): the one place roles
// are checked.
type Guard func(level assurance.Level, roles ...string) func(http.HandlerFunc) http.HandlerFunc

// routeBook keeps what the routes of an application were registered for.
type routeBook struct {
	mu     sync.Mutex
	routes []Route
}

// Registrar registers one feature's routes on an application, so that the
// route map says who serves each one.
type Registrar struct {
	app     *App
	feature string
	level   assurance.Level
	roles   []string
}

// For is where feature registers its routes.
func (a *App) For(feature string) Registrar { return Registrar{app: a, feature: feature} }

// Guarded is the same feature's registrar for routes that need a login at
// level, and one of roles when given; the app's Guard checks them.
func (r Registrar) Guarded(level assurance.Level, roles ...string) Registrar {
	r.level, r.roles = level, roles
	return r
}

// HandleFunc registers fn for pattern.
func (r Registrar) HandleFunc(pattern string, fn http.HandlerFunc) { r.Handle(pattern, fn) }

// Handle registers h for pattern. A guarded registrar wraps it in the
// app's Guard, which must be set before (a route that should be guarded
// is never served unguarded).
func (r Registrar) Handle(pattern string, h http.Handler) {
	if len(r.roles) > 0 {
		// Only operators of some role reach it: a staff page (Page.Staff).
		inner := h
		h = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			inner.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), staffKey{}, true)))
		})
	}
	if r.level != "" {
		if r.app.Guard == nil {
			panic("web: " + r.feature + " registers the guarded route " + pattern + " before the application has a Guard")
		}
		h = r.app.Guard(r.level, r.roles...)(h.ServeHTTP)
	}
	r.app.Mux.Handle(pattern, h)
	r.app.book.mu.Lock()
	r.app.book.routes = append(r.app.book.routes, Route{Pattern: pattern, Feature: r.feature, Level: r.level, Roles: slices.Clone(r.roles)})
	r.app.book.mu.Unlock()
}

// RouteMap lists the application's routes, sorted by path and method.
func (a *App) RouteMap() []Route {
	a.book.mu.Lock()
	out := slices.Clone(a.book.routes)
	a.book.mu.Unlock()
	key := func(p string) (string, string) {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			return p, ""
		}
		return path, method
	}
	slices.SortFunc(out, func(x, y Route) int {
		px, mx := key(x.Pattern)
		py, my := key(y.Pattern)
		if c := strings.Compare(px, py); c != 0 {
			return c
		}
		return strings.Compare(mx, my)
	})
	return out
}

type staffKey struct{}

// IsStaff reports whether the request is for a staff page: one registered
// for operators of some role (Registrar.Guarded with roles).
func IsStaff(ctx context.Context) bool {
	v, _ := ctx.Value(staffKey{}).(bool)
	return v
}
