package protocol

import "time"

// The wire types. Their tags are the one definition of the protocol's
// members:
//
//   - json: the member's name, for the local registry's encoding and for
//     decoding alike;
//   - alias: other names some registries send the member under (decoding
//     only; see decode.go);
//   - decode:"number": the member is a string that may arrive as a JSON
//     number (a numeric id or trust level).

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

// Server is a server record. Every reply that carries one has its id and
// did, the did:web the registry assigned (decoding refuses one without).
type Server struct {
	ID           string    `json:"id" alias:"server_id,serverId" decode:"number"`
	Name         string    `json:"name"`
	DID          string    `json:"did"`
	DIDKey       string    `json:"didKey"`
	PublicKey    string    `json:"publicKey"`
	Status       string    `json:"status"`
	Domain       string    `json:"domain"`
	TrustLevel   string    `json:"trustLevel" decode:"number"`
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

// RegisterKeyRequest is the body of PUT /v1/sdk/servers/{id}: the did:key
// and SPKI PEM of the key, as the runtime SDK sends them. Name is this
// project's extension to rename a record in place; the SDK never sends it.
type RegisterKeyRequest struct {
	DID       string `json:"did"`
	PublicKey string `json:"publicKey"`
	Name      string `json:"name,omitempty"`
}

// BadgeRequest is the body of POST /v1/sdk/servers/{id}/badge; {} is valid
// (the runtime SDK renews with it).
type BadgeRequest struct {
	Domain string `json:"domain,omitempty"`
}

// Badge is the data of a badge reply. Token repeats Badge: the runtime SDK's
// first issuance reads either, its renewal only badge.
type Badge struct {
	Badge      string    `json:"badge"`
	Token      string    `json:"token"`
	JTI        string    `json:"jti" decode:"number"`
	Subject    string    `json:"subject" alias:"sub"`
	TrustLevel string    `json:"trustLevel" decode:"number"`
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
	JTI       string     `json:"jti" decode:"number"`
	Sub       string     `json:"sub,omitempty" alias:"subject"`
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

// DIDDocument is the (unwrapped) did:web document at /servers/{id}/did.json.
type DIDDocument struct {
	Context            StringList           `json:"@context"`
	ID                 string               `json:"id"`
	VerificationMethod []VerificationMethod `json:"verificationMethod"`
	Authentication     StringList           `json:"authentication"`
	AssertionMethod    StringList           `json:"assertionMethod"`
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
