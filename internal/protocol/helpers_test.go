package protocol

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"
)

// ---- fixtures: canned replies in the shapes registries send ----

const (
	testServerID = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
	testDIDWeb   = "did:web:localhost%3A8080:servers:6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
	testDIDKey   = "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw"
	testPEMBody  = "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
	testPEM      = "-----BEGIN PUBLIC KEY-----\n" + testPEMBody + "\n-----END PUBLIC KEY-----\n"
	testJTI      = "0b6a3f2e-1c4d-4e5f-9a8b-7c6d5e4f3a2b"
)

var (
	testCreated    = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	testUpdated    = time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	testKeyUpdated = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	testExpires    = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
)

// wantServer is the server every canned server reply describes.
func wantServer() *Server {
	return &Server{
		ID: testServerID, Name: "billing-mcp", DID: testDIDWeb, DIDKey: testDIDKey,
		PublicKey: testPEM, Status: StatusActive, Domain: "mcp.example.com", TrustLevel: "1",
		CreatedAt: testCreated, UpdatedAt: testUpdated, KeyUpdatedAt: testKeyUpdated,
	}
}

// serverCamel is the server object as the local registry sends it.
func serverCamel() map[string]any {
	return map[string]any{
		"id": testServerID, "name": "billing-mcp", "did": testDIDWeb, "didKey": testDIDKey,
		"publicKey": testPEM, "status": "active", "domain": "mcp.example.com", "trustLevel": "1",
		"createdAt": "2026-01-02T03:04:05Z", "updatedAt": "2026-02-03T04:05:06Z",
		"keyUpdatedAt": "2026-03-04T05:06:07Z", "unknownField": map[string]any{"x": 1},
	}
}

// serverSnake is the same server in the agent API's snake_case style, with a
// numeric trust level and unix-second timestamps (the agent API's style).
func serverSnake() map[string]any {
	return map[string]any{
		"id": testServerID, "name": "billing-mcp", "did": testDIDWeb, "did_key": testDIDKey,
		"public_key": testPEM, "status": "active", "domain": "mcp.example.com", "trust_level": 1,
		"created_at": testCreated.Unix(), "updated_at": testUpdated.Unix(),
		"key_updated_at": testKeyUpdated.Unix(), "org_id": "org-1",
	}
}

func envelope(data any) map[string]any { return map[string]any{"success": true, "data": data} }

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// testJWS builds an unsigned-looking compact JWS with the given claims;
// decoding never verifies badges, it only reads their claims.
func testJWS(t testing.TB, claims map[string]any) string {
	t.Helper()
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"EdDSA","typ":"JWT","kid":"capiscio-ca-1"}`))
	return h + "." + base64.RawURLEncoding.EncodeToString([]byte(mustJSON(t, claims))) + ".c2lnbmF0dXJlLW5vdC1jaGVja2Vk"
}

func testBadgeClaims() map[string]any {
	return map[string]any{
		"jti": testJTI, "iss": "https://registry.example.com", "sub": testDIDWeb,
		"iat": testExpires.Add(-5 * time.Minute).Unix(), "exp": testExpires.Unix(), "ial": "0",
		"vc": map[string]any{
			"type":              []string{"VerifiableCredential", "AgentIdentity"},
			"credentialSubject": map[string]any{"level": "1"},
		},
	}
}

// Decoders as the registry client uses them.

func decodeServer(body []byte) (*Server, error) { return decodeAs[Server](body) }

func decodeBadgeStatus(body []byte) (*BadgeStatus, error) { return decodeAs[BadgeStatus](body) }

func decodeDIDDocument(body []byte) (*DIDDocument, error) { return decodeAs[DIDDocument](body) }

func decodeServerList(body []byte) ([]Server, string, error) { return DecodeServerPage(body) }

func decodeBadge(body []byte) (*Badge, error) { return DecodeBadge(body) }

func decodeAs[T any](body []byte) (*T, error) {
	var v T
	if err := DecodeReply(body, &v); err != nil {
		return nil, err
	}
	return &v, nil
}
