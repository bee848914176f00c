package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/civico-pa/civico/internal/db"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics counts requests and their latencies by application and route
// pattern (never by raw path, so the number of series stays bounded).
type Metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// The database statements of each request (db.QueryCount).
	queries   *prometheus.HistogramVec
	queryTime *prometheus.CounterVec
	// The listeners' connections (see ConnLimits).
	connsRefused *prometheus.CounterVec
	connsOpen    *prometheus.GaugeVec
}

// NewMetrics returns a registry with the HTTP metrics and the Go runtime's.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests answered, by application, route pattern, method and status code.",
		}, []string{"app", "route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by application, route pattern and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"app", "route", "method"}),
		queries: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_db_queries",
			Help:    "Database statements (a transaction counts as one) a request sent, by application, route pattern and method.",
			Buckets: []float64{0, 1, 2, 3, 5, 8, 13, 21, 34, 55},
		}, []string{"app", "route", "method"}),
		queryTime: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_request_db_seconds_total",
			Help: "Time requests waited for the database, by application, route pattern and method.",
		}, []string{"app", "route", "method"}),
		connsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_connections_refused_total",
			Help: "Connections closed as soon as accepted, by listener and the cap they were over (total: the listener's, client: one client's).",
		}, []string{"listener", "reason"}),
		connsOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "http_connections_open",
			Help: "Connections open, by listener.",
		}, []string{"listener"}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.queries, m.queryTime, m.connsRefused, m.connsOpen,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry lets features register metrics of their own.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

func (m *Metrics) observe(app, route, method string, status int, d time.Duration, q *db.QueryCount) {
	method = cleanMethod(method)
	m.requests.WithLabelValues(app, route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(app, route, method).Observe(d.Seconds())
	m.queries.WithLabelValues(app, route, method).Observe(float64(q.Queries()))
	m.queryTime.WithLabelValues(app, route, method).Add(q.Elapsed().Seconds())
}

// Handler serves the Prometheus text exposition.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// Endpoint is the whole metrics listener: GET /metrics, and 404 for
// anything else. It has a listener of its own because what it tells (Go
// version, descriptors, traffic per route) is for the town's monitoring,
// not for the public.
func (m *Metrics) Endpoint() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	return mux
}

// connCounters are the counters of one listener's connections; a nil
// Metrics counts nothing.
func (m *Metrics) connCounters(listener string) (map[string]prometheus.Counter, prometheus.Gauge) {
	if m == nil {
		return nil, nil
	}
	refused := map[string]prometheus.Counter{}
	for _, reason := range []string{refusedTotal, refusedClient} {
		refused[reason] = m.connsRefused.WithLabelValues(listener, reason)
	}
	return refused, m.connsOpen.WithLabelValues(listener)
}
