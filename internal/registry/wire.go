// Package registry is the HTTP client for the CapiscIO registry API and the one
// definition of its wire types (PROTOCOL.md Part A). The local registry server in
// internal/registryserver uses these same types, so client and server cannot drift.
//
// This package never imports terraform-plugin-framework.
package registry

import (
	"encoding/json"
	"time"
)

// Header names of the protocol.
const (
	// HeaderAPIKey carries the registry API key (PROTOCOL.md A1). Never a Bearer token.
	HeaderAPIKey = "X-Capiscio-Registry-Key"
	// HeaderIdempotencyKey makes a create POST safe to retry (PROTOCOL.md A6).
	HeaderIdempotencyKey = "Idempotency-Key"
)

// Route paths. Placeholders are written as {id} and {jti}.
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

// Server status values (PROTOCOL.md A7).
const (
	StatusActive   = "active"
	StatusDisabled = "disabled"
)

// Machine-readable error codes sent in ErrorBody.Error.
const (
	CodeBadRequest       = "bad_request"
	CodeInvalidJSON      = "invalid_json"
	CodeInvalidPublicKey = "invalid_public_key"
	CodeInvalidDID       = "invalid_did"
	CodeUnauthorized     = "unauthorized"
	CodeForbidden        = "forbidden"
	CodeServerDisabled   = "server_disabled"
	CodeNotFound         = "not_found"
	// CodeNoRoute is the local registry's 404 for a path it has no route for
	// (a wrong base path such as .../v1), as opposed to not_found for a
	// record: only the latter is evidence that a record is gone.
	CodeNoRoute          = "no_route"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeConflict         = "conflict"
	CodeBodyTooLarge     = "body_too_large"
	CodeRateLimited      = "rate_limited"
	CodeInternal         = "internal_error"
)

// Revocation reasons.
const (
	ReasonKeyRotated = "key_rotated"
	ReasonRevoked    = "revoked"
)

// Added by the local registry (internal/registryserver): the revocation reason
// of badges whose server was deleted.
const (
	ReasonServerDeleted = "server_deleted"
)

// MaxBodyBytes is the largest request body the registry accepts (413 above it).
const MaxBodyBytes = 64 << 10

// Envelope wraps every successful reply of the /v1/sdk routes:
// {"success":true,"data":...,"nextCursor"?}.
type Envelope[T any] struct {
	Success    bool   `json:"success"`
	Data       T      `json:"data"`
	Message    string `json:"message,omitempty"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// ErrorBody is the body of every error reply: HTTP status plus
// {"success":false,"error":<code>,"message":<text>}.
type ErrorBody struct {
	Success bool   `json:"success"`
	Error   string `json:"error"`
	Message string `json:"message"`
}

// Server is the server object of PROTOCOL.md A7.
type Server struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	DID          string    `json:"did"`
	DIDKey       string    `json:"didKey"`
	PublicKey    string    `json:"publicKey"`
	Status       string    `json:"status"`
	Domain       string    `json:"domain"`
	TrustLevel   string    `json:"trustLevel"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
	KeyUpdatedAt time.Time `json:"keyUpdatedAt"`
	// DisabledAt is when the record was disabled; set while it is.
	DisabledAt *time.Time `json:"disabledAt,omitempty"`
}

// CreateServerRequest is the body of POST /v1/sdk/servers.
type CreateServerRequest struct {
	Name      string `json:"name"`
	DID       string `json:"did"`
	PublicKey string `json:"publicKey"`
}

// RegisterKeyRequest is the body of PUT /v1/sdk/servers/{id}. The runtime SDK
// sends exactly these two fields. Name is an extension the provider uses to
// change the display name in place; the SDK never sends it.
type RegisterKeyRequest struct {
	DID       string `json:"did"`
	PublicKey string `json:"publicKey"`
	Name      string `json:"name,omitempty"`
}

// BadgeRequest is the body of POST /v1/sdk/servers/{id}/badge; {} is valid.
type BadgeRequest struct {
	Domain string `json:"domain,omitempty"`
}

// Badge is the data of a badge reply (PROTOCOL.md A4). Token repeats Badge.
type Badge struct {
	Badge      string    `json:"badge"`
	Token      string    `json:"token"`
	JTI        string    `json:"jti"`
	Subject    string    `json:"subject"`
	TrustLevel string    `json:"trustLevel"`
	ExpiresAt  time.Time `json:"expiresAt"`
}

// RevokeRequest is the body of POST /v1/sdk/servers/badges/{jti}/revoke.
type RevokeRequest struct {
	Reason string `json:"reason,omitempty"`
}

// RevokeReply is the data of a revoke reply.
type RevokeReply struct {
	JTI       string    `json:"jti"`
	Revoked   bool      `json:"revoked"`
	RevokedAt time.Time `json:"revokedAt"`
}

// BadgeStatus is the (unwrapped) badge status document.
type BadgeStatus struct {
	JTI       string     `json:"jti"`
	Sub       string     `json:"sub,omitempty"`
	Revoked   bool       `json:"revoked"`
	Reason    string     `json:"reason,omitempty"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
}

// ServerStatus is the (unwrapped) server status document.
type ServerStatus struct {
	ID         string     `json:"id"`
	DID        string     `json:"did"`
	Status     string     `json:"status"`
	DisabledAt *time.Time `json:"disabledAt,omitempty"`
	Reason     string     `json:"reason,omitempty"`
}

// Revocation is one entry of the revocation list.
type Revocation struct {
	JTI       string    `json:"jti"`
	RevokedAt time.Time `json:"revokedAt"`
	Reason    string    `json:"reason,omitempty"`
}

// RevocationList is the (unwrapped) reply of GET /v1/revocations.
type RevocationList struct {
	Revocations []Revocation `json:"revocations"`
	NextCursor  string       `json:"nextCursor,omitempty"`
	SyncedAt    time.Time    `json:"syncedAt"`
}

// JWK is a public Ed25519 JSON Web Key as served in the JWKS and put in badges.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid,omitempty"`
	Alg string `json:"alg,omitempty"`
	Use string `json:"use,omitempty"`
}

// JWKS is the (unwrapped) key set at /.well-known/jwks.json, signing key first.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// DIDDocument is the (unwrapped) did:web document at /servers/{id}/did.json.
type DIDDocument struct {
	Context            []string             `json:"@context"`
	ID                 string               `json:"id"`
	VerificationMethod []VerificationMethod `json:"verificationMethod"`
	Authentication     []string             `json:"authentication"`
	AssertionMethod    []string             `json:"assertionMethod"`
}

// VerificationMethod is one key of a DID document.
type VerificationMethod struct {
	ID                 string `json:"id"`
	Type               string `json:"type"`
	Controller         string `json:"controller"`
	PublicKeyMultibase string `json:"publicKeyMultibase"`
}

// Health is the (unwrapped) reply of GET /health.
type Health struct {
	Status string `json:"status"`
}

// compile-time check that the envelope decodes raw payloads too.
var _ = Envelope[json.RawMessage]{}
