package registryserver

import (
	"net/http"
	"time"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// uuidLength is the length of a canonical UUID, the form of every jti.
const uuidLength = 36

// DID document vocabulary (W3C DID Core, did:web).
var didContext = []string{"https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/ed25519-2020/v1"}

const (
	didKeyFragment     = "#key-1"
	verificationMethod = "Ed25519VerificationKey2020"
	didJSONContentType = "application/did+json"
)

// serverStatus handles GET /v1/servers/{id}/status (public, unwrapped).
func (s *Server) serverStatus(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.publicServer(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, protocol.ServerStatus{
		ID: rec.ID, DID: s.DID(rec.ID), Status: rec.Status, DisabledAt: rec.DisabledAt,
	})
	return nil
}

// badgeStatus handles GET /v1/servers/badges/{jti}/status and
// GET /v1/badges/{jti}/status (public, unwrapped; the same document).
func (s *Server) badgeStatus(w http.ResponseWriter, r *http.Request) error {
	jti, err := pathJTI(r)
	if err != nil {
		return err
	}
	b, err := s.store.badge(jti)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, protocol.BadgeStatus{
		JTI: b.JTI, Sub: b.Subject, Revoked: b.Revoked, Reason: b.Reason,
		RevokedAt: b.RevokedAt, ExpiresAt: &b.ExpiresAt,
	})
	return nil
}

// revocations handles GET /v1/revocations?since=RFC3339&limit=&cursor=
// (public, unwrapped): revocations in time order.
func (s *Server) revocations(w http.ResponseWriter, r *http.Request) error {
	q, err := singleQuery(r, "since", "limit", "cursor")
	if err != nil {
		return err
	}
	var since time.Time
	if raw := q.Get("since"); raw != "" {
		t, err := time.Parse(time.RFC3339, raw)
		if err != nil {
			return badRequest("since must be an RFC 3339 time such as 2026-01-02T15:04:05Z, got %q", clip(raw, 40))
		}
		since = t
	}
	limit, err := pageLimit(q)
	if err != nil {
		return err
	}
	after, err := decodeRevocationCursor(q.Get("cursor"))
	if err != nil {
		return err
	}
	list, next, err := s.store.listRevocations(after, since, limit)
	if err != nil {
		return err
	}
	reply := protocol.RevocationList{Revocations: list, SyncedAt: s.now().UTC()}
	if next != nil {
		reply.NextCursor = cursorEncoding.EncodeToString(next)
	}
	writeJSON(w, http.StatusOK, reply)
	return nil
}

// decodeRevocationCursor returns the revocation key a revocations cursor
// resumes after: 8 bytes of revocation time (Unix nanoseconds, big endian,
// at most the largest int64) followed by the badge's jti, a UUID.
func decodeRevocationCursor(cursor string) ([]byte, error) {
	if cursor == "" {
		return nil, nil
	}
	raw, err := cursorEncoding.DecodeString(cursor)
	if err != nil || len(raw) != 8+uuidLength {
		return nil, invalidCursor("it is not the base64url of a revocation position")
	}
	if raw[0]&0x80 != 0 {
		return nil, invalidCursor("its time is out of range")
	}
	if protocol.CheckJTI(string(raw[8:])) != nil {
		return nil, invalidCursor("it does not name a badge")
	}
	return raw, nil
}

// didDocument handles GET /servers/{id}/did.json: the did:web document with
// the server's current key only.
func (s *Server) didDocument(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.publicServer(r)
	if err != nil {
		return err
	}
	did := s.DID(rec.ID)
	vm := did + didKeyFragment
	writeJSONAs(w, http.StatusOK, didJSONContentType, protocol.DIDDocument{
		Context: didContext,
		ID:      did,
		VerificationMethod: []protocol.VerificationMethod{{
			ID: vm, Type: verificationMethod, Controller: did,
			PublicKeyMultibase: keys.Multibase(rec.PublicKey),
		}},
		Authentication:  []string{vm},
		AssertionMethod: []string{vm},
	})
	return nil
}

// jwks handles GET /.well-known/jwks.json, signing key first.
func (s *Server) jwks(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, s.ca.jwks())
	return nil
}

// health handles GET /health.
func (s *Server) health(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, protocol.Health{Status: "ok"})
	return nil
}

// serveStats handles GET /debug/stats.
func (s *Server) serveStats(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, s.Stats())
	return nil
}

// publicServer loads the server named by the {id} wildcard, whatever its
// organisation.
func (s *Server) publicServer(r *http.Request) (serverRecord, error) {
	id, err := pathID(r)
	if err != nil {
		return serverRecord{}, err
	}
	return s.store.server(id)
}
