package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// waitRecorder collects the waits a client planned, through the onWait seam,
// so tests assert backoff decisions without measuring wall time.
type waitRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (w *waitRecorder) record(_ int, d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.waits = append(w.waits, d)
}

func (w *waitRecorder) get() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.waits...)
}

// sequence replies with the given statuses in turn (the last one repeats),
// each with a protocol.ErrorBody, and headers from hdr when set. A 200 sends
// the canned server.
func sequence(t *testing.T, hdr func(n int) http.Header, statuses ...int) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, r *http.Request, n int) {
		status := statuses[min(n, len(statuses))-1]
		if hdr != nil {
			for k, v := range hdr(n) {
				w.Header()[k] = v
			}
		}
		if status == http.StatusOK {
			replyWith(status, mustJSON(t, envelope(serverCamel())))(w, r, n)
			return
		}
		replyWith(status, `{"success":false,"error":"some_code","message":"attempt failed"}`)(w, r, n)
	}
}

// ---- status handling ----

func TestClient_StatusErrors(t *testing.T) {
	t.Parallel()
	path := "GET /v1/sdk/servers/" + testServerID
	tests := map[string]struct {
		status   int
		body     string
		wantIs   error
		wantCode string
		wantMsg  []string
	}{
		"400 shows message": {
			status: 400, body: `{"success":false,"error":"invalid_public_key","message":"publicKey is not an Ed25519 SPKI PEM"}`,
			wantIs: ErrBadRequest, wantCode: "invalid_public_key",
			wantMsg: []string{"registry returned HTTP 400 (invalid_public_key) for " + path + ": publicKey is not an Ed25519 SPKI PEM"},
		},
		"400 legacy error text": {
			status: 400, body: `{"error":"Invalid request body"}`, wantIs: ErrBadRequest,
			wantMsg: []string{"HTTP 400 for " + path + ": Invalid request body"},
		},
		"401 names api_key and CAPISCIO_API_KEY": {
			status: 401, body: `{"success":false,"error":"unauthorized","message":"invalid API key"}`,
			wantIs: ErrUnauthorized, wantCode: "unauthorized",
			wantMsg: []string{"HTTP 401 (unauthorized)", "invalid API key", "`api_key` provider argument", "CAPISCIO_API_KEY"},
		},
		"401 without body": {
			status: 401, wantIs: ErrUnauthorized,
			wantMsg: []string{"HTTP 401 for " + path + ": Unauthorized", "CAPISCIO_API_KEY"},
		},
		"403": {
			status: 403, body: `{"success":false,"error":"server_disabled","message":"server is disabled"}`,
			wantIs: ErrForbidden, wantCode: "server_disabled", wantMsg: []string{"server is disabled"},
		},
		"404 is ErrNotFound": {
			status: 404, body: `{"success":false,"error":"not_found","message":"server not found"}`,
			wantIs: ErrNotFound, wantCode: "not_found",
			wantMsg: []string{"registry returned HTTP 404 (not_found) for " + path + ": server not found"},
		},
		"409": {
			status: 409, body: `{"success":false,"error":"conflict","message":"already exists"}`,
			wantIs: ErrConflict, wantCode: "conflict", wantMsg: []string{"already exists"},
		},
		"422 is a bad request": {status: 422, body: `{"message":"bad domain"}`, wantIs: ErrBadRequest, wantMsg: []string{"bad domain"}},
		"non-JSON body": {
			status: 418, body: "<html>\x1b[31mteapot\x00</html>" + strings.Repeat("x", 500),
			wantMsg: []string{"HTTP 418 for " + path + ": <html> [31mteapot </html>xxx"},
		},
		"501 not retried": {status: 501, body: `{"error":"nope"}`, wantCode: "nope"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, replyWith(tc.status, tc.body))
			_, err := newTestClient(t, f.URL, nil).GetServer(t.Context(), testServerID)
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error = %v (%T), want *APIError", err, err)
			}
			if apiErr.StatusCode != tc.status || apiErr.Code != tc.wantCode || apiErr.Method != "GET" ||
				apiErr.Path != "/v1/sdk/servers/"+testServerID || apiErr.Attempts != 1 {
				t.Errorf("APIError = %+v", apiErr)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.wantIs)
			}
			if tc.wantIs != ErrNotFound && IsNotFound(err) {
				t.Errorf("IsNotFound true for HTTP %d", tc.status)
			}
			for _, m := range tc.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not contain %q", err, m)
				}
			}
			if n := f.calls.Load(); n != 1 {
				t.Errorf("HTTP %d was retried: %d calls, want 1", tc.status, n)
			}
		})
	}
}

func TestClient_ErrorNeverEchoesAPIKey(t *testing.T) {
	t.Parallel()
	f := newFake(t, replyWith(401, `{"error":"unauthorized","message":"unknown key `+testAPIKey+`"}`))
	_, err := newTestClient(t, f.URL, nil).GetServer(t.Context(), testServerID)
	if err == nil || strings.Contains(err.Error(), testAPIKey) {
		t.Fatalf("error = %v, must exist and not contain the API key", err)
	}
}

// ---- retries ----

func TestClient_RetryAfter(t *testing.T) {
	t.Parallel()
	// A fixed clock for the HTTP-date form: the registry asks to come back
	// one second after "now", so the planned wait is exactly 1s.
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		status     int
		retryAfter string
		wantWait   time.Duration
	}{
		"429 delta-seconds":                         {status: 429, retryAfter: "1", wantWait: time.Second},
		"429 HTTP-date":                             {status: 429, retryAfter: now.Add(time.Second).Format(http.TimeFormat), wantWait: time.Second},
		"503 delta-seconds":                         {status: 503, retryAfter: "1", wantWait: time.Second},
		"429 zero is raised to the minimum backoff": {status: 429, retryAfter: "0", wantWait: time.Millisecond},
		"429 date in the past is the minimum":       {status: 429, retryAfter: now.Add(-time.Hour).Format(http.TimeFormat), wantWait: time.Millisecond},
		"429 malformed falls back to backoff":       {status: 429, retryAfter: "soon", wantWait: time.Millisecond},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			hdr := func(int) http.Header { return http.Header{"Retry-After": {tc.retryAfter}} }
			f := newFake(t, sequence(t, hdr, tc.status, http.StatusOK))
			c := newTestClient(t, f.URL, func(cfg *Config) { cfg.MaxBackoff = time.Millisecond })
			var rec waitRecorder
			c.onWait, c.now = rec.record, func() time.Time { return now }
			got, err := c.GetServer(t.Context(), testServerID)
			if err != nil {
				t.Fatalf("GetServer: %v", err)
			}
			if diff := cmp.Diff(wantServer(), got); diff != "" {
				t.Errorf("server mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]time.Duration{tc.wantWait}, rec.get()); diff != "" {
				t.Errorf("planned waits mismatch (-want +got):\n%s", diff)
			}
			if n := f.calls.Load(); n != 2 {
				t.Errorf("calls = %d, want 2", n)
			}
		})
	}
}

func TestClient_RetriesTransientStatuses(t *testing.T) {
	t.Parallel()
	f := newFake(t, sequence(t, nil, 500, 502, 503, 504, http.StatusOK))
	c := newTestClient(t, f.URL, func(cfg *Config) { cfg.MaxRetries = 4 })
	var rec waitRecorder
	c.onWait = rec.record
	if _, err := c.GetServer(t.Context(), testServerID); err != nil {
		t.Fatalf("GetServer: %v", err)
	}
	if n := f.calls.Load(); n != 5 {
		t.Errorf("calls = %d, want 5", n)
	}
	for i, w := range rec.get() {
		if w < time.Millisecond || w > 5*time.Millisecond {
			t.Errorf("wait %d = %s, outside [MinBackoff, MaxBackoff]", i, w)
		}
	}
}

func TestClient_RetriesExhausted(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		status     int
		retryAfter string
		wantIs     error
		wantMsg    string
	}{
		"503": {status: 503, wantMsg: "registry returned HTTP 503 (some_code) for GET /v1/sdk/servers/" + testServerID + " after 3 attempts: attempt failed"},
		"429": {status: 429, retryAfter: "0", wantIs: ErrRateLimited, wantMsg: "HTTP 429 (some_code) for GET /v1/sdk/servers/" + testServerID + " after 3 attempts"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			hdr := func(int) http.Header {
				if tc.retryAfter == "" {
					return nil
				}
				return http.Header{"Retry-After": {tc.retryAfter}}
			}
			f := newFake(t, sequence(t, hdr, tc.status))
			_, err := newTestClient(t, f.URL, func(cfg *Config) { cfg.MaxRetries = 2 }).GetServer(t.Context(), testServerID)
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Attempts != 3 || apiErr.StatusCode != tc.status {
				t.Fatalf("error = %#v, want an APIError after 3 attempts", err)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.wantIs)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tc.wantMsg)
			}
			if n := f.calls.Load(); n != 3 {
				t.Errorf("calls = %d, want 3", n)
			}
		})
	}
}

func TestClient_MaxRetriesZero(t *testing.T) {
	t.Parallel()
	f := newFake(t, sequence(t, nil, 503, http.StatusOK))
	_, err := newTestClient(t, f.URL, func(cfg *Config) { cfg.MaxRetries = 0 }).GetServer(t.Context(), testServerID)
	if err == nil {
		t.Fatal("want the 503")
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("calls = %d, want 1", n)
	}
}

func TestClient_RetryPolicyPerCall(t *testing.T) {
	t.Parallel()
	badge := mustJSON(t, envelope(map[string]any{"badge": testJWS(t, testBadgeClaims())}))
	tests := map[string]struct {
		call      func(context.Context, *Client) error
		okBody    string
		wantCalls int32
	}{
		"create without idempotency key is not retried": {
			call: func(ctx context.Context, c *Client) error {
				_, err := c.CreateServer(ctx, protocol.CreateServerRequest{Name: "n"}, "")
				return err
			},
			wantCalls: 1,
		},
		"create with idempotency key is retried": {
			call: func(ctx context.Context, c *Client) error {
				_, err := c.CreateServer(ctx, protocol.CreateServerRequest{Name: "n"}, "idem-42")
				return err
			},
			wantCalls: 2,
		},
		"PUT is retried": {
			call: func(ctx context.Context, c *Client) error {
				_, err := c.RegisterKey(ctx, testServerID, protocol.RegisterKeyRequest{DID: testDIDKey, PublicKey: testPEM})
				return err
			},
			wantCalls: 2,
		},
		"DELETE is retried": {
			call:      func(ctx context.Context, c *Client) error { return c.DeleteServer(ctx, "id") },
			wantCalls: 2,
		},
		"badge POST is retried": {
			call: func(ctx context.Context, c *Client) error {
				_, err := c.IssueBadge(ctx, "id", protocol.BadgeRequest{})
				return err
			},
			okBody: badge, wantCalls: 2,
		},
		"revoke POST is retried": {
			call:      func(ctx context.Context, c *Client) error { return c.RevokeBadge(ctx, "jti", "") },
			wantCalls: 2,
		},
		"disable POST is retried": {
			call: func(ctx context.Context, c *Client) error {
				_, err := c.DisableServer(ctx, "id")
				return err
			},
			wantCalls: 2,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			okBody := tc.okBody
			if okBody == "" {
				okBody = mustJSON(t, envelope(serverCamel()))
			}
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					replyWith(http.StatusServiceUnavailable, `{"error":"unavailable"}`)(w, r, n)
					return
				}
				replyWith(http.StatusOK, okBody)(w, r, n)
			})
			err := tc.call(t.Context(), newTestClient(t, f.URL, nil))
			if n := f.calls.Load(); n != tc.wantCalls {
				t.Errorf("calls = %d, want %d (err %v)", n, tc.wantCalls, err)
			}
			if tc.wantCalls > 1 {
				if err != nil {
					t.Errorf("retried call failed: %v", err)
				}
				reqs := f.requests()
				if diff := cmp.Diff(reqs[0], reqs[1]); diff != "" {
					t.Errorf("the retry differs from the first attempt (-first +retry):\n%s", diff)
				}
			}
		})
	}
}

func TestClient_NoRetryPastDeadline(t *testing.T) {
	t.Parallel()
	hdr := func(int) http.Header { return http.Header{"Retry-After": {"120"}} }
	f := newFake(t, sequence(t, hdr, 429, http.StatusOK))
	c := newTestClient(t, f.URL, func(cfg *Config) { cfg.MaxBackoff = 10 * time.Minute })
	var rec waitRecorder
	c.onWait = rec.record
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	start := time.Now()
	_, err := c.GetServer(ctx, testServerID)
	if !errors.Is(err, ErrRateLimited) {
		t.Fatalf("error = %v, want ErrRateLimited", err)
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.RetryAfter != 120*time.Second {
		t.Errorf("RetryAfter = %s, want 2m0s", apiErr.RetryAfter)
	}
	if len(rec.get()) != 0 || f.calls.Load() != 1 {
		t.Errorf("waits %v, calls %d: want no wait and 1 call", rec.get(), f.calls.Load())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("returned after %s, want at once", d)
	}
}

func TestClient_NoRetryForRetryAfterBeyondCeiling(t *testing.T) {
	t.Parallel()
	hdr := func(int) http.Header { return http.Header{"Retry-After": {"86400"}} }
	f := newFake(t, sequence(t, hdr, 429, http.StatusOK))
	_, err := newTestClient(t, f.URL, nil).GetServer(t.Context(), testServerID)
	if !errors.Is(err, ErrRateLimited) || !strings.Contains(err.Error(), "retry after 24h0m0s") {
		t.Fatalf("error = %v, want ErrRateLimited naming the Retry-After", err)
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("calls = %d, want 1", n)
	}
}

func TestClient_CancelStopsRetries(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		// handler blocks or fails; firstCall is closed on the first request.
		handler func(firstCall chan<- struct{}) func(http.ResponseWriter, *http.Request, int)
	}{
		"during the wait": {handler: func(first chan<- struct{}) func(http.ResponseWriter, *http.Request, int) {
			return func(w http.ResponseWriter, r *http.Request, n int) {
				w.Header().Set("Retry-After", "60")
				w.WriteHeader(http.StatusServiceUnavailable)
				if n == 1 {
					close(first)
				}
			}
		}},
		"during an attempt": {handler: func(first chan<- struct{}) func(http.ResponseWriter, *http.Request, int) {
			return func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					close(first)
				}
				select {
				case <-r.Context().Done():
				case <-time.After(20 * time.Second):
				}
			}
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			first := make(chan struct{})
			f := newFake(t, tc.handler(first))
			c := newTestClient(t, f.URL, func(cfg *Config) { cfg.MaxBackoff = 10 * time.Minute; cfg.RequestTimeout = time.Minute })
			ctx, cancel := context.WithCancel(t.Context())
			go func() {
				<-first
				time.Sleep(50 * time.Millisecond) // let the client reach its wait or read
				cancel()
			}()
			start := time.Now()
			_, err := c.GetServer(ctx, testServerID)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("error = %v, want context.Canceled", err)
			}
			var reqErr *RequestError
			if !errors.As(err, &reqErr) || reqErr.Attempts != 1 || reqErr.Path != "/v1/sdk/servers/"+testServerID {
				t.Errorf("error = %#v, want a RequestError after 1 attempt", err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("cancel took %s to stop the call", d)
			}
			if n := f.calls.Load(); n != 1 {
				t.Errorf("calls = %d, want 1", n)
			}
		})
	}
}

func TestClient_PerAttemptTimeoutIsRetried(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			select { // slower than the per-attempt timeout
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return
		}
		replyWith(http.StatusOK, mustJSON(t, envelope(serverCamel())))(w, r, n)
	})
	c := newTestClient(t, f.URL, func(cfg *Config) { cfg.RequestTimeout = 200 * time.Millisecond })
	if _, err := c.GetServer(t.Context(), testServerID); err != nil {
		t.Fatalf("GetServer: %v", err)
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("calls = %d, want 2", n)
	}
}

func TestClient_PerAttemptTimeoutExhausted(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	c := newTestClient(t, f.URL, func(cfg *Config) { cfg.RequestTimeout = 100 * time.Millisecond; cfg.MaxRetries = 1 })
	_, err := c.GetServer(t.Context(), testServerID)
	var reqErr *RequestError
	if !errors.As(err, &reqErr) || reqErr.Attempts != 2 {
		t.Fatalf("error = %#v, want a RequestError after 2 attempts", err)
	}
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Errorf("error %v does not unwrap to a timeout", err)
	}
	if !strings.Contains(err.Error(), "registry request GET /v1/sdk/servers/"+testServerID+" failed after 2 attempts") {
		t.Errorf("error %q lacks method, path and attempts", err)
	}
}

func TestClient_NetworkErrors(t *testing.T) {
	t.Parallel()
	t.Run("connection refused is retried", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		_ = l.Close() // nothing listens there now
		c := newTestClient(t, "http://"+addr, func(cfg *Config) { cfg.MaxRetries = 2 })
		var rec waitRecorder
		c.onWait = rec.record
		_, err = c.GetServer(t.Context(), testServerID)
		var reqErr *RequestError
		if !errors.As(err, &reqErr) || reqErr.Attempts != 3 || reqErr.Method != "GET" {
			t.Fatalf("error = %#v, want a RequestError after 3 attempts", err)
		}
		if len(rec.get()) != 2 {
			t.Errorf("planned waits = %v, want 2", rec.get())
		}
	})
	t.Run("body cut short is retried", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 1 {
				w.Header().Set("Content-Length", "500")
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write([]byte(`{"success":true,"data":{"id":`))
				hj, ok := w.(http.Hijacker)
				if !ok {
					t.Error("no hijacker")
					return
				}
				conn, buf, _ := hj.Hijack()
				_ = buf.Flush()
				_ = conn.Close()
				return
			}
			replyWith(http.StatusOK, mustJSON(t, envelope(serverCamel())))(w, r, n)
		})
		if _, err := newTestClient(t, f.URL, nil).GetServer(t.Context(), testServerID); err != nil {
			t.Fatalf("GetServer: %v", err)
		}
		if n := f.calls.Load(); n != 2 {
			t.Errorf("calls = %d, want 2", n)
		}
	})
	t.Run("create without key is not retried on a dropped connection", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
			hj, ok := w.(http.Hijacker)
			if !ok {
				t.Error("the fake's ResponseWriter does not support hijacking")
				return
			}
			conn, _, err := hj.Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			_ = conn.Close()
		})
		_, err := newTestClient(t, f.URL, nil).CreateServer(t.Context(), protocol.CreateServerRequest{Name: "n"}, "")
		var reqErr *RequestError
		if !errors.As(err, &reqErr) || reqErr.Attempts != 1 {
			t.Fatalf("error = %#v, want a RequestError after 1 attempt", err)
		}
		if n := f.calls.Load(); n != 1 {
			t.Errorf("calls = %d, want 1", n)
		}
	})
}

// ---- pure pieces ----

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		value  string
		want   time.Duration
		wantOK bool
	}{
		"absent":         {value: "", wantOK: false},
		"seconds":        {value: "120", want: 2 * time.Minute, wantOK: true},
		"zero":           {value: "0", want: 0, wantOK: true},
		"spaces":         {value: " 7 ", want: 7 * time.Second, wantOK: true},
		"negative":       {value: "-5", wantOK: false},
		"fraction":       {value: "1.5", wantOK: false},
		"IMF-fixdate":    {value: "Mon, 01 Jun 2026 12:00:30 GMT", want: 30 * time.Second, wantOK: true},
		"RFC 850 date":   {value: "Monday, 01-Jun-26 12:01:00 GMT", want: time.Minute, wantOK: true},
		"asctime date":   {value: "Mon Jun  1 12:00:05 2026", want: 5 * time.Second, wantOK: true},
		"past date":      {value: "Mon, 01 Jun 2026 11:00:00 GMT", want: 0, wantOK: true},
		"garbage":        {value: "later", wantOK: false},
		"huge seconds":   {value: "99999999999999999", want: time.Duration(1<<63 - 1), wantOK: true},
		"overflow int64": {value: "999999999999999999999", wantOK: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			if tc.value != "" {
				h.Set("Retry-After", tc.value)
			}
			got, ok := parseRetryAfter(h, now)
			if ok != tc.wantOK || got != tc.want {
				t.Errorf("parseRetryAfter(%q) = %s, %t; want %s, %t", tc.value, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestJitterBackoff(t *testing.T) {
	t.Parallel()
	const minW, maxW = 500 * time.Millisecond, 30 * time.Second
	tests := map[string]struct {
		k    int
		rnd  float64
		want time.Duration
	}{
		"first retry, low draw":    {k: 1, rnd: 0, want: minW},
		"first retry, high draw":   {k: 1, rnd: 0.999999, want: minW + time.Duration(0.999999*float64(500*time.Millisecond))},
		"second retry, mid draw":   {k: 2, rnd: 0.5, want: minW + 750*time.Millisecond},
		"third retry, mid draw":    {k: 3, rnd: 0.5, want: minW + 1750*time.Millisecond},
		"capped at max":            {k: 10, rnd: 0.999999, want: minW + time.Duration(0.999999*float64(maxW-minW))},
		"huge attempt no overflow": {k: 5000, rnd: 0.5, want: minW + (maxW-minW)/2},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := jitterBackoff(minW, maxW, tc.k, tc.rnd)
			if got != tc.want {
				t.Errorf("jitterBackoff(k=%d, rnd=%v) = %s, want %s", tc.k, tc.rnd, got, tc.want)
			}
			if got < minW || got > maxW {
				t.Errorf("wait %s outside [%s, %s]", got, minW, maxW)
			}
		})
	}
}

// TestClient_InvalidHeaderNeverSent: a header value no server would accept
// is refused before any I/O, without retries.
func TestClient_InvalidHeaderNeverSent(t *testing.T) {
	t.Parallel()
	f := newFake(t, replyWith(http.StatusOK, `{}`))
	c, err := New(Config{BaseURL: f.URL, APIKey: testAPIKey, UserAgent: "bad\x01agent", MaxRetries: 3})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetServer(t.Context(), testServerID)
	if err == nil || IsOutcomeUnknown(err) || f.calls.Load() != 0 {
		t.Fatalf("err = %v (outcome unknown %v), calls = %d; want a plain error and no request", err, IsOutcomeUnknown(err), f.calls.Load())
	}
}

func TestRetryableError(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		err  error
		want bool
	}{
		"connection reset": {err: errors.New("read: connection reset by peer"), want: true},
		"refused redirect": {err: errRedirectRefused, want: false},
		"too large":        {err: errReplyTooLarge, want: false},
		// Errors are told apart by type, never by their text.
		"untrusted cert":    {err: &url.Error{Op: "Get", URL: "https://x", Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}, want: false},
		"plain-http server": {err: &url.Error{Op: "Get", URL: "https://x", Err: http.ErrSchemeMismatch}, want: false},
		"bad header value":  {err: errorsWithoutRetry(errors.New(`the User-Agent header value is not a valid HTTP header value`)), want: false},
		"deadline exceeded": {err: context.DeadlineExceeded, want: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := retryableError(tc.err); got != tc.want {
				t.Errorf("retryableError(%v) = %t, want %t", tc.err, got, tc.want)
			}
		})
	}
}
