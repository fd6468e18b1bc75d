package registry

import (
	"bytes"
	"errors"
	"regexp"
	"strings"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// Redaction. Text that came from the network may carry secrets: a proxy or a
// registry that echoes the request's X-Capiscio-Registry-Key header, a key or
// a badge quoted in an error. Two steps keep them out of errors and logs:
//
//  1. every reply body, whatever its status, has the API key replaced as it is
//     read (readBody), before anything parses, quotes or cuts it;
//  2. every error text taken from a reply (an error reply's code and message,
//     the message of a 2xx that says success: false, a plain-text body) goes
//     through redact, whole, before it is cut to its display length: the API
//     key again (in case JSON escapes hid it from step 1), PEM blocks, and
//     anything shaped like a compact JWS.
//
// Cutting first and redacting after would leave pieces of a secret that sat
// across the cut.

const (
	redactedAPIKey = "[redacted API key]"
	redactedPEM    = "[redacted PEM]"
	redactedJWS    = "[redacted JWS]"
)

var (
	// pemBlock matches a PEM block, or its start when the text is cut.
	pemBlock = regexp.MustCompile(`-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(?:-----END [A-Z0-9 ]+-----|$)`)
	// jwsShaped matches a compact JWS (JSON header, so base64url "eyJ") with
	// or without its signature.
	jwsShaped = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?`)
)

// redactBody replaces the API key in a raw reply body (step 1).
func (c *Client) redactBody(body []byte) []byte {
	if c.apiKey == "" || !bytes.Contains(body, []byte(c.apiKey)) {
		return body
	}
	return bytes.ReplaceAll(body, []byte(c.apiKey), []byte(redactedAPIKey))
}

// redact removes secrets from an error text taken from a reply (step 2).
func (c *Client) redact(s string) string {
	if c.apiKey != "" {
		s = strings.ReplaceAll(s, c.apiKey, redactedAPIKey)
	}
	s = pemBlock.ReplaceAllString(s, redactedPEM)
	return jwsShaped.ReplaceAllString(s, redactedJWS)
}

// replyErr wraps a failure to understand a 2xx reply with the call it belongs
// to, its text redacted (and a reported failure's message redacted whole,
// then cut).
func (c *Client) replyErr(method, path string, err error) error {
	var rf *protocol.ReportedFailure
	if errors.As(err, &rf) {
		err = &protocol.ReportedFailure{Message: protocol.SanitizeText(c.redact(rf.Message), protocol.MaxErrorMessageBytes)}
	}
	return &redactedError{msg: c.redact(decodeErr(method, path, err).Error()), err: err}
}

// redactedError is an error whose text was redacted; it still matches what it wraps.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
