package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// Sentinel errors. Match them with errors.Is: an *APIError is each of these
// for the HTTP status it carries (see APIError.Is).
var (
	// ErrBadRequest is HTTP 400 (and 422): the registry rejected the input.
	ErrBadRequest = errors.New("registry rejected the request as invalid")
	// ErrUnauthorized is HTTP 401: the API key is missing, unknown or revoked.
	ErrUnauthorized = errors.New("registry rejected the API key")
	// ErrForbidden is HTTP 403: not allowed, or the server record is disabled.
	ErrForbidden = errors.New("registry denied access")
	// ErrNotFound is HTTP 404. The registry also answers 404 for records of
	// another organisation: a 404 alone is never proof that a record is gone
	// (see ProveGone).
	ErrNotFound = errors.New("registry record not found")
	// ErrConflict is HTTP 409.
	ErrConflict = errors.New("registry reported a conflict")
	// ErrRateLimited is HTTP 429, returned once retries are exhausted or the
	// requested Retry-After would outlast the context deadline.
	ErrRateLimited = errors.New("registry rate limit exceeded")
	// ErrMissingAPIKey is returned, before any I/O, by every call that needs
	// the API key when Config.APIKey is empty.
	ErrMissingAPIKey = errors.New("the registry API key is not set: set the `api_key` provider argument or the CAPISCIO_API_KEY environment variable")
	// ErrInvalidReply means a 2xx reply could not be understood: not JSON, too
	// large, or missing a field the protocol requires (such as data.did).
	ErrInvalidReply = protocol.ErrInvalidReply
)

// apiKeyHint is appended to every 401 message.
const apiKeyHint = "check the `api_key` provider argument or the CAPISCIO_API_KEY environment variable"

// APIError is a non-2xx reply of the registry. Its message comes from the
// reply body (sanitised and truncated) and never contains the API key or the
// request body.
type APIError struct {
	StatusCode int
	// Code is the machine code of the reply ("not_found"), empty if none.
	Code string
	// Message is the human text of the reply, or the HTTP status text.
	Message string
	Method  string
	// Path is the escaped request path, without the base URL or query.
	Path string
	// RetryAfter is the parsed Retry-After header of the reply, 0 if absent.
	RetryAfter time.Duration
	// Attempts is how many HTTP attempts were made (1 when not retried).
	Attempts int
}

// Error gives "registry returned HTTP 404 (not_found) for GET /v1/sdk/servers/<id>: <message>".
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "registry returned HTTP %d", e.StatusCode)
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	fmt.Fprintf(&b, " for %s %s", e.Method, e.Path)
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	if msg != "" {
		b.WriteString(": ")
		b.WriteString(msg)
	}
	switch {
	case e.StatusCode == http.StatusUnauthorized:
		b.WriteString("; " + apiKeyHint)
	case e.StatusCode == http.StatusTooManyRequests && e.RetryAfter > 0:
		fmt.Fprintf(&b, " (the registry asked to retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Is reports whether the error matches one of the sentinel errors by status.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrBadRequest:
		return e.StatusCode == http.StatusBadRequest || e.StatusCode == http.StatusUnprocessableEntity
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrConflict:
		return e.StatusCode == http.StatusConflict
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	}
	return false
}

// RequestError is a failure to get any reply: a network error, a per-attempt
// timeout, a cancelled context, or a refused redirect. It unwraps to the
// cause, so errors.Is(err, context.Canceled) works.
type RequestError struct {
	Method   string
	Path     string
	Attempts int
	// Reached is false when no attempt can have reached the registry (the
	// name did not resolve, no connection, a failed TLS handshake): then the
	// request certainly changed nothing.
	Reached bool
	Err     error
}

func (e *RequestError) Error() string {
	attempts := "1 attempt"
	if e.Attempts != 1 {
		attempts = fmt.Sprintf("%d attempts", e.Attempts)
	}
	return fmt.Sprintf("registry request %s %s failed after %s: %v", e.Method, e.Path, attempts, e.Err)
}

func (e *RequestError) Unwrap() error { return e.Err }

// IsNotFound reports whether err is, or wraps, a 404 from the registry.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsOutcomeUnknown reports whether err leaves it unknown if the registry
// carried out a request: no reply after the request may have left (a reset,
// a timeout, a cancelled wait), a 5xx after every retry, or a 2xx reply that
// cannot be read or that describes something else than was asked
// (ErrInvalidReply). A definitive 4xx is not, and neither is a request that
// provably never left.
func IsOutcomeUnknown(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrInvalidReply) {
		return true
	}
	var reqErr *RequestError
	if errors.As(err, &reqErr) {
		return reqErr.Reached
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode >= 500
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
