package registrytest_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

func TestStart(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t)
	if !strings.HasPrefix(reg.URL, "http://127.0.0.1:") || !strings.HasPrefix(reg.APIKey, "sk_test_") || reg.Server == nil {
		t.Fatalf("registry = %+v", reg)
	}
	resp, body := reg.Do(t, http.MethodGet, protocol.PathServers, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET servers with the dev key: %d %s", resp.StatusCode, body)
	}
	second := reg.SecondOrgKey(t)
	if second == reg.APIKey || second != reg.SecondOrgKey(t) {
		t.Errorf("SecondOrgKey = %q then %q, want one stable key distinct from the dev key", second, reg.SecondOrgKey(t))
	}
	resp, body = reg.DoWithKey(t, second, http.MethodGet, protocol.PathServers, nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET servers with the second key: %d %s", resp.StatusCode, body)
	}
}

// TestWithMiddleware injects a 503 with Retry-After before the real handler,
// as provider tests do to exercise retries.
func TestWithMiddleware(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	failFirst := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				w.Header().Set("Retry-After", "1")
				http.Error(w, "injected", http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	reg := registrytest.Start(t, registrytest.WithMiddleware(failFirst))
	if resp, _ := reg.Do(t, http.MethodGet, protocol.PathHealth, nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("first request: %d, want the injected 503", resp.StatusCode)
	}
	if resp, _ := reg.Do(t, http.MethodGet, protocol.PathHealth, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("second request: %d, want 200 from the real handler", resp.StatusCode)
	}
	if got := reg.Server.Stats().Requests; got != 1 {
		t.Errorf("the registry counted %d requests, want 1 (the injected reply never reached it)", got)
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()
	fixed := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	reg := registrytest.Start(t, registrytest.WithNow(func() time.Time { return fixed }), registrytest.WithBadgeTTL(time.Hour), registrytest.WithRateLimit(1000))
	resp, body := reg.Do(t, http.MethodGet, protocol.PathRevocations, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"syncedAt":"2030-01-02T03:04:05Z"`) {
		t.Errorf("revocations with a fixed clock: %d %s", resp.StatusCode, body)
	}
}
