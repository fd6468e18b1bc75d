package registryserver

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// requestInfo travels in the request context so inner layers can tell the
// logging layer what they learned (the caller's organisation).
type requestInfo struct {
	org     string
	keyHash string // keyed hash of the API key, for the rate limiter
}

type requestInfoKey struct{}

func infoOf(r *http.Request) *requestInfo {
	if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		return info
	}
	return &requestInfo{}
}

// orgOf returns the organisation requireAPIKey authenticated.
func orgOf(r *http.Request) string { return infoOf(r).org }

// statusWriter remembers the status code written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// recoverPanics is the last resort: a panicking handler gets a 500
// internal_error reply and a log line instead of a dropped connection. The
// tests assert it never fires (Stats().Panics stays 0).
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p) // net/http's own signal to abort the reply; let it through
			}
			s.stats.panics.Add(1)
			s.log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p))
			writeError(w, http.StatusInternalServerError, protocol.CodeInternal, "internal error; see the registry log")
		}()
		next.ServeHTTP(w, r)
	})
}

// logRequests writes one line per request: method, path, status, duration and
// org. It never logs headers, query strings or bodies, so API keys, PEMs and
// badges stay out of the log.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info)))
		s.log.LogAttrs(r.Context(), levelFor(sw.status), "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status),
			slog.Duration("duration", time.Since(start)),
			slog.String("org", info.org),
		)
	})
}

// levelFor logs server errors at Error and everything else at Info.
func levelFor(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelInfo
}

// routeOrReject answers requests the mux has no route for with the JSON error
// shape: 404 not_found for unknown paths, 405 method_not_allowed (with the
// mux's Allow header) for a known path with another method.
func (s *Server) routeOrReject(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		s.stats.total.Add(1)
		probe := &headerProbe{header: http.Header{}}
		h.ServeHTTP(probe, r) // the mux's own 404/405 handler; only its status and Allow are kept
		if probe.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", probe.header.Get("Allow"))
			writeError(w, http.StatusMethodNotAllowed, protocol.CodeMethodNotAllowed,
				fmt.Sprintf("%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, probe.header.Get("Allow")))
			return
		}
		writeError(w, http.StatusNotFound, protocol.CodeNoRoute, fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path))
	})
}

// headerProbe is a ResponseWriter that keeps the status and headers and
// drops the body.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header         { return p.header }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(status int)      { p.status = status }

// requireAPIKey authenticates X-Capiscio-Registry-Key and records the
// caller's organisation. A missing or unknown key is 401.
func (s *Server) requireAPIKey(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := infoOf(r)
		org, hash, err := s.authenticate(r)
		if err != nil {
			s.replyError(w, r, err)
			return
		}
		info.org, info.keyHash = org, hash
		next.ServeHTTP(w, r)
	})
}

// authenticate returns the organisation and the keyed hash of the request's
// API key.
func (s *Server) authenticate(r *http.Request) (org, hash string, err error) {
	key := r.Header.Get(protocol.HeaderAPIKey)
	if key == "" {
		hint := ""
		if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			hint = " (an Authorization: Bearer token is not accepted)"
		}
		return "", "", errorf(http.StatusUnauthorized, protocol.CodeUnauthorized,
			"missing API key: send it in the %s header%s", protocol.HeaderAPIKey, hint)
	}
	hashes := s.store.hashAPIKey(key)
	org, err = s.orgOfKey(hashes)
	if err != nil {
		return "", "", err
	}
	if org == "" {
		return "", "", errorf(http.StatusUnauthorized, protocol.CodeUnauthorized,
			"the API key in the %s header is not valid for this registry", protocol.HeaderAPIKey)
	}
	return org, hashes.keyed, nil
}

// orgOfKey returns the organisation of the key with these hashes, "" when the
// key is unknown. Known keys are cached by their keyed hash; keys are never
// deleted, so the cache never goes stale.
func (s *Server) orgOfKey(h apiKeyHashes) (string, error) {
	if org, ok := s.orgs.Load(h.keyed); ok {
		name, _ := org.(string) // the map holds strings only
		return name, nil
	}
	org, found, err := s.store.apiKeyOrg(h)
	if err != nil || !found {
		return "", err
	}
	s.orgs.Store(h.keyed, org)
	return org, nil
}

// rateLimit enforces the per-key request rate, answering 429 with
// Retry-After in seconds. It runs after requireAPIKey.
func (s *Server) rateLimit(next http.Handler) http.Handler {
	if s.limiter == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wait := s.limiter.reserve(infoOf(r).keyHash, s.now())
		if wait > 0 {
			seconds := int((wait + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.Itoa(seconds))
			writeError(w, http.StatusTooManyRequests, protocol.CodeRateLimited,
				fmt.Sprintf("rate limit of %d requests per minute for this API key exceeded; retry in %d s", s.limiter.perMinute, seconds))
			return
		}
		next.ServeHTTP(w, r)
	})
}
