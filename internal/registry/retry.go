package registry

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Retry rules (PROTOCOL.md A6):
//
//   - Retried: 429, 500, 502, 503, 504 and network errors (connection
//     refused or reset, per-attempt timeouts, a body cut short), for GET,
//     PUT, DELETE and the badge, revoke, disable and enable POSTs. A create
//     POST is retried only when it carries an Idempotency-Key.
//   - Never retried: any other status (a 4xx other than 429 in particular),
//     TLS certificate errors, refused redirects, replies over 1 MiB.
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
// The loop itself is go-retryablehttp's Client.Do. A new retryablehttp.Client
// is made per call (a small struct sharing the one *http.Client) so that its
// CheckRetry, Backoff and hooks can carry the call's state: the attempt
// number, the planned wait and the reply body.

// retryAfterCeiling is the longest Retry-After ever waited for when it is
// longer than MaxBackoff.
const retryAfterCeiling = 5 * time.Minute

// retryableStatus reports whether a reply status is worth another attempt.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryableError reports whether a transport error is worth another attempt.
func retryableError(err error) bool {
	if errors.Is(err, errRedirectRefused) || errors.Is(err, errReplyTooLarge) || errors.Is(err, http.ErrSchemeMismatch) {
		return false
	}
	var (
		verifyErr    *tls.CertificateVerificationError
		unknownAuth  x509.UnknownAuthorityError
		hostnameErr  x509.HostnameError
		certInvalid  x509.CertificateInvalidError
		recordHeader tls.RecordHeaderError
	)
	if errors.As(err, &verifyErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostnameErr) ||
		errors.As(err, &certInvalid) || errors.As(err, &recordHeader) {
		return false
	}
	msg := err.Error()
	for _, permanent := range []string{"unsupported protocol scheme", "invalid header", "certificate is not trusted"} {
		if strings.Contains(msg, permanent) {
			return false
		}
	}
	return true
}

// neverSent reports whether a transport error shows that the request never
// reached the registry: the host name did not resolve, no connection could
// be made (refused, unreachable, timed out while dialling), or the TLS
// handshake failed (certificate, alert, or a plain-HTTP server). Such an
// attempt changed nothing remote.
func neverSent(err error) bool {
	var (
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
	case errors.Is(err, http.ErrSchemeMismatch), errors.As(err, &dnsErr),
		errors.As(err, &verifyErr), errors.As(err, &alert), errors.As(err, &recordHeader),
		errors.As(err, &unknownAuth), errors.As(err, &hostnameErr), errors.As(err, &certInvalid):
		return true
	case errors.As(err, &opErr):
		return opErr.Op == "dial"
	}
	return false
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

// planWait is the client's Backoff: the wait before retry k after a reply
// (resp may be nil after a network error). ok is false when a Retry-After
// asks for longer than the client is ever willing to wait.
func (c *Client) planWait(k int, resp *http.Response) (time.Duration, bool) {
	if resp != nil {
		if ra, found := parseRetryAfter(resp.Header, c.now()); found {
			if ra > max(c.maxBackoff, retryAfterCeiling) {
				return ra, false
			}
			return max(ra, c.minBackoff), true
		}
	}
	return jitterBackoff(c.minBackoff, c.maxBackoff, k, c.jitter()), true
}

var (
	errRedirectRefused = errors.New("the registry redirected to another origin; not following it so the API key is not sent there")
	errReplyTooLarge   = invalidReply("the reply body is larger than 1 MiB")
)

// callState is the state of one client call across its attempts. All of its
// methods run on the goroutine that called retryablehttp.Client.Do.
type callState struct {
	c         *Client
	ctx       context.Context
	method    string
	path      string
	retryable bool

	attempt      int       // number of the attempt in flight or just done (1-based)
	reached      bool      // an attempt may have reached the registry (see neverSent)
	checked      int       // last attempt CheckRetry has judged
	attemptStart time.Time // start of the attempt in flight
	wait         time.Duration
	body         []byte // body of the final reply, read by readBody
}

// retryClient is a retryablehttp.Client wired to this call. Its own logger is
// disabled: the call logs through tflog itself (logging.go).
func (st *callState) retryClient() *retryablehttp.Client {
	return &retryablehttp.Client{
		HTTPClient:     st.c.httpClient,
		Logger:         nil,
		RetryWaitMin:   st.c.minBackoff,
		RetryWaitMax:   st.c.maxBackoff,
		RetryMax:       st.c.maxRetries,
		RequestLogHook: st.beforeAttempt,
		CheckRetry:     st.checkRetry,
		Backoff:        st.backoff,
		ErrorHandler:   st.errorHandler,
	}
}

// beforeAttempt is the RequestLogHook: it runs before every attempt.
func (st *callState) beforeAttempt(_ retryablehttp.Logger, _ *http.Request, i int) {
	st.attempt = i + 1
	st.attemptStart = time.Now()
	st.c.logAttempt(st)
}

// checkRetry is the CheckRetry policy. retryablehttp calls it after each
// attempt and, when it said no and a reply came, once more after readBody
// consumed that reply (with readBody's error, if any).
func (st *callState) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return false, ctxErr
	}
	if st.checked == st.attempt {
		// Second look at the same attempt: the first said "do not retry".
		// Only a failure while reading the body can change that.
		if err == nil {
			return false, nil
		}
	} else {
		st.checked = st.attempt
		st.c.logOutcome(st, resp, err)
		if resp != nil || !neverSent(err) {
			st.reached = true
		}
	}
	if !st.retryable {
		return false, nil
	}
	if err != nil {
		if !retryableError(err) {
			return false, nil
		}
	} else if !retryableStatus(resp.StatusCode) {
		return false, nil
	}
	if st.attempt > st.c.maxRetries {
		return false, nil
	}
	if err != nil {
		resp = nil // no reply headers to honour
	}
	wait, ok := st.c.planWait(st.attempt, resp)
	if !ok {
		st.c.logNoRetry(st, "Retry-After is longer than the client waits", wait)
		return false, nil
	}
	if deadline, has := ctx.Deadline(); has && time.Until(deadline) < wait {
		st.c.logNoRetry(st, "the wait would outlast the context deadline", wait)
		return false, nil
	}
	st.wait = wait
	st.c.logRetry(st, resp, wait)
	if st.c.onWait != nil {
		st.c.onWait(st.attempt, wait)
	}
	return true, nil
}

// backoff is the Backoff hook: the wait checkRetry planned for this retry.
func (st *callState) backoff(_, _ time.Duration, _ int, _ *http.Response) time.Duration {
	return st.wait
}

// errorHandler is the ErrorHandler: it closes any reply and returns the cause
// unwrapped; do() wraps it with the method, path and attempt count.
func (st *callState) errorHandler(resp *http.Response, err error, _ int) (*http.Response, error) {
	if resp != nil {
		_ = resp.Body.Close()
	}
	if err == nil {
		err = errors.New("the retry loop ended without a reply")
	}
	return nil, err
}

// readBody is the response handler: it reads the final reply into st.body
// (capped at 1 MiB) inside the retry loop, so a body cut short by the network
// or the per-attempt timeout is retried like any network error.
func (st *callState) readBody(resp *http.Response) error {
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes+1))
	if err != nil {
		return err
	}
	if len(data) > maxReplyBytes {
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return errReplyTooLarge
		}
		data = data[:maxReplyBytes] // error replies are only quoted, never decoded whole
	}
	st.body = st.c.redactBody(bytes.Clone(data))
	return nil
}
