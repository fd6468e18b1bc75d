package registry

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAPIError_Error(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		err  *APIError
		want string
	}{
		"404 with code": {
			err:  &APIError{StatusCode: 404, Code: "not_found", Message: "server not found", Method: "GET", Path: "/v1/sdk/servers/abc", Attempts: 1},
			want: "registry returned HTTP 404 (not_found) for GET /v1/sdk/servers/abc: server not found",
		},
		"no code": {
			err:  &APIError{StatusCode: 400, Message: "Invalid request", Method: "PUT", Path: "/v1/sdk/servers/abc"},
			want: "registry returned HTTP 400 for PUT /v1/sdk/servers/abc: Invalid request",
		},
		"no message uses the status text": {
			err:  &APIError{StatusCode: 403, Method: "POST", Path: "/p"},
			want: "registry returned HTTP 403 for POST /p: Forbidden",
		},
		"unknown status without message": {
			err:  &APIError{StatusCode: 599, Method: "GET", Path: "/p"},
			want: "registry returned HTTP 599 for GET /p",
		},
		"401 says what to fix": {
			err:  &APIError{StatusCode: 401, Code: "unauthorized", Message: "invalid API key", Method: "GET", Path: "/p"},
			want: "registry returned HTTP 401 (unauthorized) for GET /p: invalid API key; check the `api_key` provider argument or the CAPISCIO_API_KEY environment variable",
		},
		"retried 503": {
			err:  &APIError{StatusCode: 503, Message: "down", Method: "GET", Path: "/p", Attempts: 5},
			want: "registry returned HTTP 503 for GET /p after 5 attempts: down",
		},
		"429 with Retry-After": {
			err:  &APIError{StatusCode: 429, Code: "rate_limited", Message: "slow down", Method: "POST", Path: "/p", Attempts: 3, RetryAfter: 90 * time.Second},
			want: "registry returned HTTP 429 (rate_limited) for POST /p after 3 attempts: slow down (the registry asked to retry after 1m30s)",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, tc.err.Error()); diff != "" {
				t.Errorf("Error() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAPIError_Is(t *testing.T) {
	t.Parallel()
	sentinels := []error{ErrBadRequest, ErrUnauthorized, ErrForbidden, ErrNotFound, ErrConflict, ErrRateLimited, ErrMissingAPIKey, ErrInvalidReply}
	tests := map[string]struct {
		status int
		want   error // the one sentinel it must match; nil for none
	}{
		"400": {status: 400, want: ErrBadRequest},
		"422": {status: 422, want: ErrBadRequest},
		"401": {status: 401, want: ErrUnauthorized},
		"403": {status: 403, want: ErrForbidden},
		"404": {status: 404, want: ErrNotFound},
		"409": {status: 409, want: ErrConflict},
		"429": {status: 429, want: ErrRateLimited},
		"500": {status: 500},
		"418": {status: 418},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// Wrapped, as callers will see it.
			err := fmt.Errorf("reading server: %w", &APIError{StatusCode: tc.status, Method: "GET", Path: "/p"})
			for _, s := range sentinels {
				if got, want := errors.Is(err, s), s == tc.want; got != want {
					t.Errorf("errors.Is(HTTP %d, %q) = %t, want %t", tc.status, s, got, want)
				}
			}
			if got, want := IsNotFound(err), tc.want == ErrNotFound; got != want {
				t.Errorf("IsNotFound = %t, want %t", got, want)
			}
		})
	}
}

func TestRequestError(t *testing.T) {
	t.Parallel()
	err := error(&RequestError{Method: "PUT", Path: "/v1/sdk/servers/abc", Attempts: 5, Err: context.DeadlineExceeded})
	if diff := cmp.Diff("registry request PUT /v1/sdk/servers/abc failed after 5 attempts: context deadline exceeded", err.Error()); diff != "" {
		t.Errorf("Error() mismatch (-want +got):\n%s", diff)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Error("RequestError does not unwrap to its cause")
	}
	if IsNotFound(err) {
		t.Error("a network error is not a 404")
	}
	one := &RequestError{Method: "GET", Path: "/p", Attempts: 1, Err: errors.New("refused")}
	if diff := cmp.Diff("registry request GET /p failed after 1 attempt: refused", one.Error()); diff != "" {
		t.Errorf("Error() mismatch (-want +got):\n%s", diff)
	}
}
