package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// Proof of deletion.
//
// A 404 is not proof that a record is gone. The registry answers 404 for a
// record of another organisation (so ids cannot be probed), a wrong base path
// (a registry URL ending in /v1) gives 404s for every route, and something
// that is not the registry at all may answer 404 too. A provider that took
// any 404 for a deletion would drop an identity, and its generated private
// key, from state while the record lives on. So a deletion counts as proven
// only when all of these agree:
//
//  1. the authenticated read answered the protocol's not_found for the record
//     (a JSON error with that code, not a route-level 404);
//  2. the base URL serves this registry: /.well-known/jwks.json answers a key
//     set there;
//  3. the public routes for the id, which answer whatever organisation the
//     record belongs to, say not found too: the server status document and
//     the DID document.

// Why a 404 was not taken as a deletion.
const (
	// UnprovenWrongBase: the 404 did not come from the registry's record
	// routes: the registry URL's path is likely wrong, or it is not a
	// CapiscIO registry.
	UnprovenWrongBase = "wrong_base"
	// UnprovenOtherOrganisation: the public routes still serve the record,
	// so it exists and the API key belongs to another organisation.
	UnprovenOtherOrganisation = "other_organisation"
	// UnprovenInconclusive: a check could not be made (network error, an
	// unexpected status).
	UnprovenInconclusive = "inconclusive"
)

// NotProvenError is ProveGone's answer when the record may still exist.
type NotProvenError struct {
	ID     string
	Reason string // one of the Unproven* constants
	// Detail says what was seen, in words for the user.
	Detail string
	// Err is the failure behind an inconclusive check, if any.
	Err error
}

func (e *NotProvenError) Error() string {
	msg := fmt.Sprintf("the registry's 404 for server record %s is not proof that it was deleted: %s", e.ID, e.Detail)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *NotProvenError) Unwrap() error { return e.Err }

// ProveGone decides whether notFound, a 404 from an authenticated read of
// server record id, proves that the record was deleted. It returns nil when
// it does, and a *NotProvenError otherwise. It costs up to three public GETs,
// made only after a 404.
func (c *Client) ProveGone(ctx context.Context, id string, notFound error) error {
	ctx = c.MaskSecrets(ctx)
	var apiErr *APIError
	if !errors.As(notFound, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Code != protocol.CodeNotFound {
		return &NotProvenError{ID: id, Reason: UnprovenWrongBase,
			Detail: fmt.Sprintf("the reply is not the registry's not_found for a record (%s), so %s is probably not the registry's base URL (a path such as /v1 at its end?)", describe404(apiErr), c.baseURL)}
	}
	if err := c.ServesRegistry(ctx); err != nil {
		return &NotProvenError{ID: id, Reason: UnprovenWrongBase,
			Detail: fmt.Sprintf("%s does not serve the registry's key set at %s, so it is probably not the registry's base URL", c.baseURL, protocol.PathJWKS), Err: err}
	}
	for _, route := range []string{protocol.PathServerStatus, protocol.PathDIDDocument} {
		path := protocol.Path(route, id)
		_, err := c.do(ctx, request{method: http.MethodGet, path: path, retryable: true})
		switch {
		case err == nil:
			return &NotProvenError{ID: id, Reason: UnprovenOtherOrganisation,
				Detail: fmt.Sprintf("the public route %s still serves it, so the record exists and the API key belongs to another organisation than the record's", path)}
		case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound && apiErr.Code == protocol.CodeNotFound:
			continue
		default:
			return &NotProvenError{ID: id, Reason: UnprovenInconclusive,
				Detail: fmt.Sprintf("checking the public route %s failed", path), Err: err}
		}
	}
	return nil
}

// ServesRegistry checks that the base URL serves a registry: a JWK set with
// a key at /.well-known/jwks.json.
func (c *Client) ServesRegistry(ctx context.Context) error {
	set, err := c.keySet(ctx)
	if err != nil {
		return err
	}
	if len(set.Keys) == 0 {
		return protocol.InvalidReply("the key set has no keys")
	}
	return nil
}

func describe404(e *APIError) string {
	if e == nil {
		return "no HTTP reply"
	}
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d without an error code", e.StatusCode)
	}
	return fmt.Sprintf("HTTP %d %s", e.StatusCode, e.Code)
}

// IsNotProven reports whether err is a *NotProvenError, and returns it.
func IsNotProven(err error) (*NotProvenError, bool) {
	var np *NotProvenError
	ok := errors.As(err, &np)
	return np, ok
}
