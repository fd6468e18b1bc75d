// Package protocol is the CapiscIO registry protocol as this project speaks
// it: routes, header names, error codes, the wire types whose JSON tags are
// the one definition of every member name, the tolerant decoding of the
// shapes other registries send, and the canonical form of every identifier
// (server id, badge domain, registry URL). The registry client
// (internal/registry) and the local registry (internal/registryserver) both
// import it and nothing else of each other, so they cannot drift apart: a
// renamed tag renames the member for both.
//
// docs/design/protocol.md describes the protocol in prose. This package
// imports no HTTP client, logging or Terraform library.
package protocol

import (
	"net/url"
	"strings"
	"time"
)

// Header names.
const (
	// HeaderAPIKey carries the registry API key. Never a Bearer token.
	HeaderAPIKey = "X-Capiscio-Registry-Key"
	// HeaderIdempotencyKey makes a create safe to retry: the same key and
	// body return the record the first request made.
	HeaderIdempotencyKey = "Idempotency-Key"
)

// Route templates; {id} and {jti} are filled by Path.
const (
	PathServers         = "/v1/sdk/servers"
	PathServer          = "/v1/sdk/servers/{id}"
	PathServerBadge     = "/v1/sdk/servers/{id}/badge"
	PathServerDisable   = "/v1/sdk/servers/{id}/disable"
	PathServerEnable    = "/v1/sdk/servers/{id}/enable"
	PathBadgeRevoke     = "/v1/sdk/servers/badges/{jti}/revoke"
	PathServerStatus    = "/v1/servers/{id}/status"
	PathServerBadgeStat = "/v1/servers/badges/{jti}/status"
	PathBadgeStatus     = "/v1/badges/{jti}/status"
	PathRevocations     = "/v1/revocations"
	PathDIDDocument     = "/servers/{id}/did.json"
	PathJWKS            = "/.well-known/jwks.json"
	PathHealth          = "/health"
)

// Path fills the one {id} or {jti} placeholder of a route template with
// value, path-escaped. A template without a placeholder is returned as is.
func Path(route, value string) string {
	for _, p := range []string{"{id}", "{jti}"} {
		if strings.Contains(route, p) {
			return strings.Replace(route, p, url.PathEscape(value), 1)
		}
	}
	return route
}

// Server status values.
const (
	StatusActive   = "active"
	StatusDisabled = "disabled"
)

// Machine-readable error codes, sent in ErrorBody.Error.
const (
	CodeBadRequest       = "bad_request"
	CodeInvalidJSON      = "invalid_json"
	CodeInvalidPublicKey = "invalid_public_key"
	CodeInvalidDID       = "invalid_did"
	CodeUnauthorized     = "unauthorized"
	CodeForbidden        = "forbidden"
	CodeServerDisabled   = "server_disabled"
	// CodeNotFound is the 404 for a record: the one 404 that can be evidence
	// that a record is gone.
	CodeNotFound = "not_found"
	// CodeNoRoute is the 404 for a path the registry has no route for (a
	// wrong base path such as .../v1): never evidence about a record.
	CodeNoRoute          = "no_route"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeConflict         = "conflict"
	CodeBodyTooLarge     = "body_too_large"
	CodeRateLimited      = "rate_limited"
	CodeInternal         = "internal_error"
)

// Badge revocation reasons.
const (
	ReasonKeyRotated = "key_rotated"
	ReasonRevoked    = "revoked"
	// ReasonServerDeleted: the badge's server was deleted.
	ReasonServerDeleted = "server_deleted"
)

// MaxBodyBytes is the largest request body the registry accepts (413 above).
const MaxBodyBytes = 64 << 10

// Badge lifetimes.
const (
	DefaultBadgeTTL = 300 * time.Second
	MinBadgeTTL     = 60 * time.Second
	MaxBadgeTTL     = 3600 * time.Second
)
