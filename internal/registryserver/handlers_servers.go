package registryserver

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// Limits of the server routes.
const (
	defaultPageSize   = 100
	maxPageSize       = 1000
	maxIdempotencyKey = 255
	defaultTrustLevel = "1" // "Registered": the API key vouches for the key
	defaultNamePrefix = "MCP Server "
)

// createServer handles POST /v1/sdk/servers: 201 with the new server, or with
// an Idempotency-Key already used for the same body, 200 with the server that
// request created.
func (s *Server) createServer(w http.ResponseWriter, r *http.Request) error {
	var req protocol.CreateServerRequest
	if err := decodeBody(w, r, &req, false); err != nil {
		return err
	}
	key, err := parseIdentity(req.DID, req.PublicKey)
	if err != nil {
		return err
	}
	name, err := cleanName(req.Name)
	if err != nil {
		return err
	}
	idemKey, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	rec, replayed, err := s.store.createServer(createRequest{
		rec:      s.newServerRecord(orgOf(r), name, key),
		idemKey:  idemKey,
		bodyHash: hashBody(req),
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", protocol.Path(protocol.PathServer, rec.ID))
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
		return ok(w, http.StatusOK, s.toWire(rec))
	}
	return ok(w, http.StatusCreated, s.toWire(rec))
}

func (s *Server) newServerRecord(org, name string, key publicKey) serverRecord {
	id := uuid.NewString()
	if name == "" {
		name = defaultNamePrefix + id[:8]
	}
	now := s.now().UTC()
	return serverRecord{
		ID: id, Org: org, Name: name,
		PublicKey: key.raw, PublicKeyPEM: key.pem, DIDKey: key.didKey,
		Status: protocol.StatusActive, TrustLevel: defaultTrustLevel,
		CreatedAt: now, UpdatedAt: now, KeyUpdatedAt: now,
	}
}

// listServers handles GET /v1/sdk/servers?limit=&cursor=: the caller's
// servers in creation order, with nextCursor while more remain.
func (s *Server) listServers(w http.ResponseWriter, r *http.Request) error {
	q, err := singleQuery(r, "limit", "cursor")
	if err != nil {
		return err
	}
	limit, err := pageLimit(q)
	if err != nil {
		return err
	}
	after, err := decodeSeqCursor(q.Get("cursor"))
	if err != nil {
		return err
	}
	recs, next, err := s.store.listServers(orgOf(r), after, limit)
	if err != nil {
		return err
	}
	page := make([]protocol.Server, 0, len(recs))
	for _, rec := range recs {
		page = append(page, s.toWire(rec))
	}
	writeJSON(w, http.StatusOK, protocol.Envelope[[]protocol.Server]{Success: true, Data: page, NextCursor: encodeSeqCursor(next)})
	return nil
}

// getServer handles GET /v1/sdk/servers/{id}.
func (s *Server) getServer(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	rec, err := s.store.orgServer(orgOf(r), id)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, s.toWire(rec))
}

// registerKey handles PUT /v1/sdk/servers/{id}: the same key
// is an idempotent success, a new key replaces the old one and revokes its
// badges. An unknown id is 404; PUT never creates.
func (s *Server) registerKey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req protocol.RegisterKeyRequest
	if err := decodeBody(w, r, &req, false); err != nil {
		return err
	}
	key, err := parseIdentity(req.DID, req.PublicKey)
	if err != nil {
		return err
	}
	name, err := cleanName(req.Name)
	if err != nil {
		return err
	}
	rec, err := s.store.registerKey(keyChange{org: orgOf(r), id: id, key: key, name: name, now: s.now().UTC()})
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, s.toWire(rec))
}

// deleteServer handles DELETE /v1/sdk/servers/{id}: 200 with the deleted
// server; its outstanding badges are revoked with reason server_deleted.
func (s *Server) deleteServer(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	rec, err := s.store.deleteServer(orgOf(r), id, s.now().UTC())
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, s.toWire(rec))
}

// disableServer handles POST /v1/sdk/servers/{id}/disable.
func (s *Server) disableServer(w http.ResponseWriter, r *http.Request) error {
	return s.setStatus(w, r, protocol.StatusDisabled)
}

// enableServer handles POST /v1/sdk/servers/{id}/enable.
func (s *Server) enableServer(w http.ResponseWriter, r *http.Request) error {
	return s.setStatus(w, r, protocol.StatusActive)
}

func (s *Server) setStatus(w http.ResponseWriter, r *http.Request, status string) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	rec, err := s.store.setStatus(orgOf(r), id, status, s.now().UTC())
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, s.toWire(rec))
}

// discover handles POST .../discover: not supported here. The 404 says
// no_route, never the record's not_found: it is no evidence about a record.
func (s *Server) discover(http.ResponseWriter, *http.Request) error {
	return errorf(http.StatusNotFound, protocol.CodeNoRoute,
		"server discovery (POST .../discover) is not supported by the local registry; its semantics are undocumented")
}

// toWire is the server object as the wire type protocol.Server defines it.
func (s *Server) toWire(rec serverRecord) protocol.Server {
	return protocol.Server{
		ID:           rec.ID,
		Name:         rec.Name,
		DID:          s.DID(rec.ID),
		DIDKey:       rec.DIDKey,
		PublicKey:    rec.PublicKeyPEM,
		Status:       rec.Status,
		Domain:       rec.Domain,
		TrustLevel:   rec.TrustLevel,
		CreatedAt:    rec.CreatedAt,
		UpdatedAt:    rec.UpdatedAt,
		KeyUpdatedAt: rec.KeyUpdatedAt,
		DisabledAt:   rec.DisabledAt,
	}
}

// ---- input validation ----

// parseIdentity checks that publicKey is an Ed25519 SPKI PEM and did is its
// did:key. The PEM is stored re-encoded, so every reply shows one spelling.
func parseIdentity(did, pemInput string) (publicKey, error) {
	if strings.TrimSpace(pemInput) == "" {
		return publicKey{}, errorf(http.StatusBadRequest, protocol.CodeInvalidPublicKey,
			"publicKey is required: an Ed25519 public key as an SPKI PEM (-----BEGIN PUBLIC KEY-----)")
	}
	pub, err := keys.ParsePublicPEM(pemInput)
	if err != nil {
		return publicKey{}, errorf(http.StatusBadRequest, protocol.CodeInvalidPublicKey, "publicKey: %v", err)
	}
	pemText, err := keys.EncodePublicPEM(pub)
	if err != nil {
		return publicKey{}, errorf(http.StatusBadRequest, protocol.CodeInvalidPublicKey, "publicKey: %v", err)
	}
	want := keys.DIDKey(pub)
	switch did {
	case want:
		return publicKey{raw: pub, pem: pemText, didKey: want}, nil
	case "":
		return publicKey{}, errorf(http.StatusBadRequest, protocol.CodeInvalidDID, "did is required: send the did:key of publicKey (%s)", want)
	default:
		return publicKey{}, errorf(http.StatusBadRequest, protocol.CodeInvalidDID, "did %q is not the did:key of publicKey; expected %s", clip(did, 120), want)
	}
}

// cleanName trims name and checks it (protocol.CheckText). Empty stays
// empty (the caller picks the default).
func cleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if err := protocol.CheckText(name, "name", protocol.MaxNameRunes); err != nil {
		return "", badRequest("%s", err.Error())
	}
	return name, nil
}

// idempotencyKey returns the Idempotency-Key header: empty, or 1-255
// printable ASCII characters.
func idempotencyKey(r *http.Request) (string, error) {
	key := r.Header.Get(protocol.HeaderIdempotencyKey)
	if len(key) > maxIdempotencyKey || strings.IndexFunc(key, func(c rune) bool { return c < 0x20 || c > 0x7e }) >= 0 {
		return "", badRequest("the %s header must be 1-%d printable ASCII characters", protocol.HeaderIdempotencyKey, maxIdempotencyKey)
	}
	return key, nil
}

// hashBody fingerprints a create request for the idempotency check. The
// decoded fields are hashed, so JSON whitespace and field order do not matter.
func hashBody(req protocol.CreateServerRequest) string {
	raw, _ := json.Marshal(req) // three strings always marshal
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// pathID returns the {id} path wildcard if it is a server id as the registry
// assigns them (protocol.CheckServerID). Anything else cannot name a record:
// errNotFound.
func pathID(r *http.Request) (string, error) {
	v := r.PathValue("id")
	if protocol.CheckServerID(v) != nil {
		return "", errNotFound
	}
	return v, nil
}

// pathJTI returns the {jti} path wildcard if it is a badge id
// (protocol.CheckJTI); anything else: errNotFound.
func pathJTI(r *http.Request) (string, error) {
	v := r.PathValue("jti")
	if protocol.CheckJTI(v) != nil {
		return "", errNotFound
	}
	return v, nil
}

// singleQuery parses the query string of r and refuses a malformed one, and
// any of names given more than once: which of two values wins differs between
// servers, proxies and caches, so a repeated parameter is an error, not a
// guess.
func singleQuery(r *http.Request, names ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest("the query string is malformed (%s); percent-encode the parameter values", clip(err.Error(), 80))
	}
	for _, name := range names {
		if n := len(q[name]); n > 1 {
			return nil, badRequest("the query parameter %s is given %d times; give it once", name, n)
		}
	}
	return q, nil
}

// pageLimit reads limit (default 100, 1-1000), written as plain digits
// without sign or leading zeros.
func pageLimit(q url.Values) (int, error) {
	raw := q.Get("limit")
	if raw == "" {
		return defaultPageSize, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > maxPageSize || strconv.Itoa(n) != raw {
		return 0, badRequest("limit must be a whole number from 1 to %d, got %q", maxPageSize, clip(raw, 20))
	}
	return n, nil
}

// cursorEncoding is the alphabet of every cursor. Strict decoding refuses
// spellings the server never writes (non-zero padding bits), so each cursor
// has exactly one valid form.
var cursorEncoding = base64.RawURLEncoding.Strict()

// Server list cursors are opaque to clients: base64url of the creation
// sequence number of the last server on the previous page.
func encodeSeqCursor(seq uint64) string {
	if seq == 0 {
		return ""
	}
	return cursorEncoding.EncodeToString(binary.BigEndian.AppendUint64(nil, seq))
}

// decodeSeqCursor returns the sequence number a list cursor resumes after.
// Sequence numbers start at 1, and the next page starts at seq+1, so 0 and
// the largest uint64 (which would wrap around to the first page) are refused.
func decodeSeqCursor(cursor string) (uint64, error) {
	if cursor == "" {
		return 0, nil
	}
	raw, err := cursorEncoding.DecodeString(cursor)
	if err != nil || len(raw) != 8 {
		return 0, invalidCursor("it is not the base64url of 8 bytes")
	}
	seq := binary.BigEndian.Uint64(raw)
	if seq == 0 || seq == math.MaxUint64 {
		return 0, invalidCursor("its position is out of range")
	}
	return seq, nil
}

func invalidCursor(why string) *apiError {
	return badRequest("cursor is not valid (%s); pass the nextCursor of the previous page unchanged", why)
}

// clip shortens user input quoted in error messages.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
