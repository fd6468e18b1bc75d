package registry

import (
	"context"
	"net/http"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// Logging. The client logs through the provider's root tflog logger (plain
// tflog, no subsystem), so the provider's log level and every mask the
// provider sets on its context apply to these lines too. A subsystem would
// need its own copy of each mask. Every line carries only these fields:
//
//	method, path       the request, path without base URL or query
//	attempt            1-based attempt number
//	status_code        reply status (absent after a network error)
//	duration_ms        duration of the attempt, or of the whole call
//	retry_in_ms        the planned wait before the next attempt
//	error              a transport error (never a reply body)
//
// Never logged: request or reply bodies, headers, the API key, PEMs, badges.
// go-retryablehttp's own logger is disabled (Logger: nil) because it would
// log full URLs in its own format; these lines replace it.

// MaskSecrets returns ctx with the API key masked in every tflog message and
// string field, so even an accidental log line cannot show it. Every Client
// method calls it first; callers may also use it on their own context.
func (c *Client) MaskSecrets(ctx context.Context) context.Context {
	if c == nil || c.apiKey == "" {
		return ctx
	}
	return tflog.MaskLogStrings(ctx, c.apiKey)
}

func (c *Client) logAttempt(st *callState) {
	tflog.Debug(st.ctx, "Sending registry request", map[string]any{
		"method":  st.method,
		"path":    st.path,
		"attempt": st.attempt,
	})
}

func (c *Client) logOutcome(st *callState, resp *http.Response, err error) {
	fields := map[string]any{
		"method":      st.method,
		"path":        st.path,
		"attempt":     st.attempt,
		"duration_ms": time.Since(st.attemptStart).Milliseconds(),
	}
	if err != nil {
		fields["error"] = err.Error()
		tflog.Debug(st.ctx, "Registry request attempt failed", fields)
		return
	}
	fields["status_code"] = resp.StatusCode
	tflog.Debug(st.ctx, "Received registry reply", fields)
}

func (c *Client) logRetry(st *callState, resp *http.Response, wait time.Duration) {
	fields := map[string]any{
		"method":      st.method,
		"path":        st.path,
		"attempt":     st.attempt,
		"retry_in_ms": wait.Milliseconds(),
	}
	if resp != nil {
		fields["status_code"] = resp.StatusCode
	}
	tflog.Info(st.ctx, "Retrying registry request", fields)
}

func (c *Client) logNoRetry(st *callState, reason string, wait time.Duration) {
	tflog.Info(st.ctx, "Not retrying registry request: "+reason, map[string]any{
		"method":      st.method,
		"path":        st.path,
		"attempt":     st.attempt,
		"retry_in_ms": wait.Milliseconds(),
	})
}

func (c *Client) logDone(st *callState, status int, total time.Duration) {
	fields := map[string]any{
		"method":      st.method,
		"path":        st.path,
		"attempt":     st.attempt,
		"duration_ms": total.Milliseconds(),
	}
	if status != 0 {
		fields["status_code"] = status
	}
	tflog.Debug(st.ctx, "Registry request finished", fields)
}
