package registry

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// Retry rules:
//
//   - Retried: 429, 500, 502, 503, 504 and network errors (connection
//     refused or reset, per-attempt timeouts, a body cut short), for GET,
//     PUT, DELETE and the badge, revoke, disable and enable POSTs. A create
//     POST is retried only when it carries an Idempotency-Key, which makes a
//     repeat return the record the first attempt made.
//   - Never retried: any other status (a 4xx other than 429 in particular),
//     TLS failures (certificates, a plain-HTTP server on an https:// URL),
//     refused redirects, replies over 1 MiB.
//   - At most Config.MaxRetries retries after the first attempt.
//   - The wait before retry k (1-based) is drawn uniformly from
//     [MinBackoff, min(MaxBackoff, MinBackoff*2^k)] (capped exponential
//     backoff with full jitter above a floor).
//   - A Retry-After header (delta-seconds or HTTP-date) on a retryable reply
//     replaces that wait, exactly, never less than MinBackoff. The registry
//     said when it will accept the call again; an earlier retry would only
//     draw another 429. A Retry-After beyond max(MaxBackoff, 5m) is not
//     waited for: the error is returned with APIError.RetryAfter set.
//   - If the wait would end after the context deadline, the client does not
//     sleep: it returns the last error at once.
//   - Cancelling the context stops everything at once, mid-attempt or
//     mid-wait.
//
// The loop is this file's own: a few lines that read as the rules above. (A
// general retry library would need each of its hooks replaced to keep the
// Retry-After ceiling, the deadline rule, the body read inside the attempt
// and the per-call policy.)

// retryAfterCeiling is the longest Retry-After ever waited for when it is
// longer than MaxBackoff.
const retryAfterCeiling = 5 * time.Minute

// attemptResult is what one attempt (or the last one) brought.
type attemptResult struct {
	attempt int // 1-based number of the attempt
	status  int // 0 after a transport error
	header  http.Header
	body    []byte
	err     error // transport error, or the body cut short
	// reached is true once any attempt may have reached the registry.
	reached bool
}

// withRetries runs the attempts of one call and returns the last result.
func (c *Client) withRetries(ctx context.Context, r request, body []byte) attemptResult {
	var res attemptResult
	for attempt := 1; ; attempt++ {
		reached := res.reached
		res = c.attempt(ctx, r, body, attempt)
		res.reached = res.reached || reached
		if !c.retryable(ctx, r, res) {
			return res
		}
		wait, ok := c.planWait(attempt, res)
		if !ok {
			c.logNoRetry(ctx, r, res, "Retry-After is longer than the client waits", wait)
			return res
		}
		if deadline, has := ctx.Deadline(); has && time.Until(deadline) < wait {
			c.logNoRetry(ctx, r, res, "the wait would outlast the context deadline", wait)
			return res
		}
		c.logRetry(ctx, r, res, wait)
		if c.onWait != nil {
			c.onWait(attempt, wait)
		}
		if err := sleep(ctx, wait); err != nil {
			res.err, res.status = err, 0
			return res
		}
	}
}

// attempt sends the request once and reads the whole reply (capped at
// 1 MiB), so that a body cut short is a failed attempt like any network
// error.
func (c *Client) attempt(ctx context.Context, r request, body []byte, n int) attemptResult {
	res := attemptResult{attempt: n}
	req, err := c.newHTTPRequest(ctx, r, body)
	if err != nil {
		res.err = err
		return res
	}
	c.logAttempt(ctx, r, n)
	start := time.Now()
	resp, err := c.httpClient.Do(req)
	if err != nil {
		res.err, res.reached = err, !neverSent(err)
		c.logOutcome(ctx, r, res, time.Since(start))
		return res
	}
	defer resp.Body.Close()
	res.reached, res.status, res.header = true, resp.StatusCode, resp.Header
	res.body, res.err = readCapped(resp)
	if res.err != nil {
		res.status = 0
	}
	c.logOutcome(ctx, r, res, time.Since(start))
	res.body = c.redactBody(res.body)
	return res
}

// newHTTPRequest builds one attempt's request. Header values are checked
// here, so a value no HTTP server would accept is a plain error before any
// I/O rather than a transport failure to retry.
func (c *Client) newHTTPRequest(ctx context.Context, r request, body []byte) (*http.Request, error) {
	target := c.baseURL + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, rd)
	if err != nil {
		return nil, errorsWithoutRetry(fmt.Errorf("building the request: %w", err))
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.auth {
		req.Header.Set(protocol.HeaderAPIKey, c.apiKey)
	}
	if r.idempotencyKey != "" {
		req.Header.Set(protocol.HeaderIdempotencyKey, r.idempotencyKey)
	}
	for name, values := range req.Header {
		for _, v := range values {
			if !httpguts.ValidHeaderFieldValue(v) {
				return nil, errorsWithoutRetry(fmt.Errorf("the %s header value is not a valid HTTP header value", name))
			}
		}
	}
	return req, nil
}

// readCapped reads a reply body, keeping at most maxReplyBytes. A 2xx body
// over the cap is an error (it would be decoded); an error body is only
// quoted, so it is cut.
func readCapped(resp *http.Response) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxReplyBytes {
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return nil, errReplyTooLarge
		}
		data = data[:maxReplyBytes]
	}
	return data, nil
}

// retryable decides whether the call is worth another attempt.
func (c *Client) retryable(ctx context.Context, r request, res attemptResult) bool {
	switch {
	case ctx.Err() != nil, !r.retryable, res.attempt > c.maxRetries:
		return false
	case res.err != nil:
		return retryableError(res.err)
	}
	return retryableStatus(res.status)
}

// retryableStatus reports whether a reply status is worth another attempt.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryableError reports whether a transport error is worth another attempt:
// every one but those that another attempt would meet again.
func retryableError(err error) bool {
	var (
		noRetry      *permanentError
		verifyErr    *tls.CertificateVerificationError
		unknownAuth  x509.UnknownAuthorityError
		hostnameErr  x509.HostnameError
		certInvalid  x509.CertificateInvalidError
		recordHeader tls.RecordHeaderError
	)
	switch {
	case errors.Is(err, errRedirectRefused), errors.Is(err, errReplyTooLarge), errors.Is(err, http.ErrSchemeMismatch),
		errors.As(err, &noRetry), errors.As(err, &verifyErr), errors.As(err, &unknownAuth), errors.As(err, &hostnameErr),
		errors.As(err, &certInvalid), errors.As(err, &recordHeader):
		return false
	}
	return true
}

// permanentError marks a failure another attempt would meet again.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func errorsWithoutRetry(err error) error { return &permanentError{err: err} }

// neverSent reports whether a transport error shows that the request never
// reached the registry: the host name did not resolve, no connection could
// be made (refused, unreachable, timed out while dialling), or the TLS
// handshake failed (certificate, alert, or a plain-HTTP server). Such an
// attempt changed nothing remote.
func neverSent(err error) bool {
	var (
		noRetry      *permanentError
		dnsErr       *net.DNSError
		opErr        *net.OpError
		verifyErr    *tls.CertificateVerificationError
		alert        tls.AlertError
		recordHeader tls.RecordHeaderError
		unknownAuth  x509.UnknownAuthorityError
		hostnameErr  x509.HostnameError
		certInvalid  x509.CertificateInvalidError
	)
	switch {
	case errors.Is(err, http.ErrSchemeMismatch), errors.As(err, &noRetry), errors.As(err, &dnsErr),
		errors.As(err, &verifyErr), errors.As(err, &alert), errors.As(err, &recordHeader),
		errors.As(err, &unknownAuth), errors.As(err, &hostnameErr), errors.As(err, &certInvalid):
		return true
	case errors.As(err, &opErr):
		return opErr.Op == "dial"
	}
	return false
}

// planWait is the wait before retry k after res. ok is false when a
// Retry-After asks for longer than the client is ever willing to wait.
func (c *Client) planWait(k int, res attemptResult) (time.Duration, bool) {
	if res.err == nil {
		if ra, found := parseRetryAfter(res.header, c.now()); found {
			if ra > max(c.maxBackoff, retryAfterCeiling) {
				return ra, false
			}
			return max(ra, c.minBackoff), true
		}
	}
	return jitterBackoff(c.minBackoff, c.maxBackoff, k, c.jitter()), true
}

// sleep waits for d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// parseRetryAfter parses a Retry-After header: delta-seconds or an HTTP-date
// (RFC 9110 10.2.3; all three date forms http.ParseTime knows). A date in the
// past gives 0. ok is false when the header is absent or malformed.
func parseRetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > math.MaxInt64/int64(time.Second) {
			return time.Duration(math.MaxInt64), true
		}
		return time.Duration(secs) * time.Second, true
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d := at.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}

// jitterBackoff is the wait before retry k (1-based) without Retry-After:
// uniform in [min, min(max, min*2^k)], rnd being a draw from [0, 1).
func jitterBackoff(minWait, maxWait time.Duration, k int, rnd float64) time.Duration {
	ceiling := maxWait
	if k < 62 {
		if c := float64(minWait) * math.Exp2(float64(k)); c < float64(maxWait) {
			ceiling = time.Duration(c)
		}
	}
	if ceiling <= minWait {
		return minWait
	}
	return minWait + time.Duration(rnd*float64(ceiling-minWait))
}

var (
	errRedirectRefused = errors.New("the registry redirected to another origin; not following it so the API key is not sent there")
	errReplyTooLarge   = protocol.InvalidReply("the reply body is larger than 1 MiB")
)
