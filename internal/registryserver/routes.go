package registryserver

import (
	"net"
	"net/http"
	"sync/atomic"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// PathStats serves the request counts (Stats) as JSON. It needs an API key of
// any organisation unless Config.PublicStats is set, and is not counted
// itself.
const PathStats = "/debug/stats"

// access says whether a route needs an API key.
type access int

const (
	public access = iota
	authenticated
)

// route is one entry of the routing table.
type route struct {
	pattern string // a Go 1.22 ServeMux pattern, "METHOD /path/{wildcard}"
	access  access
	handle  handlerFunc
}

// Discovery routes. Their semantics are
// undocumented, so the local registry answers them with a clear 404 instead
// of guessing; the provider and the runtime SDK never call them.
const (
	pathDiscover       = "/v1/sdk/servers/discover"
	pathServerDiscover = "/v1/sdk/servers/{id}/discover"
)

// routeTable lists every route this registry serves (docs/registry.md lists them).
func (s *Server) routeTable() []route {
	return []route{
		{"POST " + protocol.PathServers, authenticated, s.createServer},
		{"GET " + protocol.PathServers, authenticated, s.listServers},
		{"GET " + protocol.PathServer, authenticated, s.getServer},
		{"PUT " + protocol.PathServer, authenticated, s.registerKey},
		{"DELETE " + protocol.PathServer, authenticated, s.deleteServer},
		{"POST " + protocol.PathServerDisable, authenticated, s.disableServer},
		{"POST " + protocol.PathServerEnable, authenticated, s.enableServer},
		{"POST " + protocol.PathServerBadge, authenticated, s.issueBadge},
		{"POST " + protocol.PathBadgeRevoke, authenticated, s.revokeBadge},
		{"POST " + pathDiscover, authenticated, s.discover},
		{"POST " + pathServerDiscover, authenticated, s.discover},

		{"GET " + protocol.PathServerStatus, public, s.serverStatus},
		{"GET " + protocol.PathServerBadgeStat, public, s.badgeStatus},
		{"GET " + protocol.PathBadgeStatus, public, s.badgeStatus},
		{"GET " + protocol.PathRevocations, public, s.revocations},
		{"GET " + protocol.PathDIDDocument, public, s.didDocument},
		{"GET " + protocol.PathJWKS, public, s.jwks},
		{"GET " + protocol.PathHealth, public, s.health},
	}
}

// buildHandler assembles the middleware chain around the mux:
// recover -> log -> route (JSON 404/405) -> count -> [API key -> rate limit] -> handler.
func (s *Server) buildHandler() http.Handler {
	mux := http.NewServeMux()
	table := s.routeTable()
	s.stats = newStats(table)
	for _, rt := range table {
		mux.Handle(rt.pattern, s.routeHandler(rt))
	}
	mux.Handle("GET "+PathStats, s.statsHandler())
	return s.recoverPanics(s.logRequests(s.routeOrReject(mux)))
}

// routeHandler wraps one route's handler with its counter and, for the
// /v1/sdk routes, the API key check and the rate limit.
func (s *Server) routeHandler(rt route) http.Handler {
	h := s.serveAPI(rt.handle)
	if rt.access == authenticated {
		h = s.requireAPIKey(s.rateLimit(h))
	}
	counter := s.stats.byRoute[rt.pattern]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.stats.total.Add(1)
		counter.Add(1)
		h.ServeHTTP(w, r)
	})
}

// statsHandler serves PathStats: to any valid API key, or to anyone when the
// registry was started with PublicStats. The counts show which routes are used
// and how often, so they are not public by default.
func (s *Server) statsHandler() http.Handler {
	h := s.serveAPI(s.serveStats)
	if s.publicStats {
		return h
	}
	return s.requireAPIKey(h)
}

// Stats are the request counts of a Server since it started or since the last
// ResetStats. Requests counts every request except those to PathStats;
// ByRoute counts the requests each route pattern served (unrouted requests
// count only in Requests); Panics counts handler panics, which should stay 0.
// Connections counts the connections clients opened, when the http.Server
// reports them through ConnState: a client that keeps its connections alive
// opens a few, one that does not opens one per request.
type Stats struct {
	Requests    uint64            `json:"requests"`
	ByRoute     map[string]uint64 `json:"byRoute"`
	Panics      uint64            `json:"panics"`
	Connections uint64            `json:"connections"`
}

// stats holds the live counters. byRoute is built once and only read after,
// so it needs no lock.
type stats struct {
	total   atomic.Uint64
	panics  atomic.Uint64
	conns   atomic.Uint64
	byRoute map[string]*atomic.Uint64
}

func newStats(table []route) *stats {
	st := &stats{byRoute: make(map[string]*atomic.Uint64, len(table))}
	for _, rt := range table {
		st.byRoute[rt.pattern] = new(atomic.Uint64)
	}
	return st
}

// Stats returns a snapshot of the request counters.
func (s *Server) Stats() Stats {
	out := Stats{
		Requests:    s.stats.total.Load(),
		Panics:      s.stats.panics.Load(),
		Connections: s.stats.conns.Load(),
		ByRoute:     make(map[string]uint64, len(s.stats.byRoute)),
	}
	for pattern, n := range s.stats.byRoute {
		out.ByRoute[pattern] = n.Load()
	}
	return out
}

// ConnState counts new connections for Stats. Give it to the http.Server
// that serves Handler (http.Server.ConnState).
func (s *Server) ConnState(_ net.Conn, state http.ConnState) {
	if state == http.StateNew {
		s.stats.conns.Add(1)
	}
}

// ResetStats sets every counter to zero (Panics and Connections included).
func (s *Server) ResetStats() {
	s.stats.total.Store(0)
	s.stats.panics.Store(0)
	s.stats.conns.Store(0)
	for _, n := range s.stats.byRoute {
		n.Store(0)
	}
}
