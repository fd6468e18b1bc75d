package registry

import (
	"context"
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
// The request's URL is never logged whole: only its path, never its query.

// MaskSecrets returns ctx with the API key masked in every tflog message and
// string field, so even an accidental log line cannot show it. Every Client
// method calls it first; callers may also use it on their own context.
func (c *Client) MaskSecrets(ctx context.Context) context.Context {
	if c == nil || c.apiKey == "" {
		return ctx
	}
	return tflog.MaskLogStrings(ctx, c.apiKey)
}

func (c *Client) logAttempt(ctx context.Context, r request, attempt int) {
	tflog.Debug(ctx, "Sending registry request", map[string]any{
		"method":  r.method,
		"path":    r.path,
		"attempt": attempt,
	})
}

func (c *Client) logOutcome(ctx context.Context, r request, res attemptResult, took time.Duration) {
	fields := map[string]any{
		"method":      r.method,
		"path":        r.path,
		"attempt":     res.attempt,
		"duration_ms": took.Milliseconds(),
	}
	if res.err != nil {
		fields["error"] = res.err.Error()
		tflog.Debug(ctx, "Registry request attempt failed", fields)
		return
	}
	fields["status_code"] = res.status
	tflog.Debug(ctx, "Received registry reply", fields)
}

func (c *Client) logRetry(ctx context.Context, r request, res attemptResult, wait time.Duration) {
	fields := map[string]any{
		"method":      r.method,
		"path":        r.path,
		"attempt":     res.attempt,
		"retry_in_ms": wait.Milliseconds(),
	}
	if res.err == nil {
		fields["status_code"] = res.status
	}
	tflog.Info(ctx, "Retrying registry request", fields)
}

func (c *Client) logNoRetry(ctx context.Context, r request, res attemptResult, reason string, wait time.Duration) {
	tflog.Info(ctx, "Not retrying registry request: "+reason, map[string]any{
		"method":      r.method,
		"path":        r.path,
		"attempt":     res.attempt,
		"retry_in_ms": wait.Milliseconds(),
	})
}

func (c *Client) logDone(ctx context.Context, r request, res attemptResult, total time.Duration) {
	fields := map[string]any{
		"method":      r.method,
		"path":        r.path,
		"attempt":     res.attempt,
		"duration_ms": total.Milliseconds(),
	}
	if res.status != 0 {
		fields["status_code"] = res.status
	}
	tflog.Debug(ctx, "Registry request finished", fields)
}
