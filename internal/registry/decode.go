package registry

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Reply decoding. The wire types in wire.go describe what the local registry
// sends (PROTOCOL.md Part A). The hosted registry is closed source and the
// public sources disagree (Part B, Q5), so the decoders here accept every
// shape Part B lists:
//
//   - the {"success":true,"data":{...}} envelope, or a bare object;
//   - camelCase or snake_case field names (camelCase wins when both appear);
//   - trust levels as strings or numbers;
//   - timestamps as RFC 3339 strings or unix seconds (milliseconds when the
//     number is too large to be seconds);
//   - badges under data.badge, data.token, badge or token (A4).
//
// Unknown fields are ignored. What the protocol requires is still required:
// a server object without a did is an error (A2), never a silent fallback.
// Error messages never quote reply values that could be secret (badges).

// maxReplyBytes caps every reply body the client reads.
const maxReplyBytes = 1 << 20

// maxErrorTextBytes is how much of a non-JSON error body is kept.
const maxErrorTextBytes = 200

// maxErrorMessageBytes caps a JSON error message shown to the user.
const maxErrorMessageBytes = 1000

// object is a decoded JSON object whose members are decoded on demand.
type object map[string]json.RawMessage

// parseObject decodes raw as a JSON object. ok is false for anything else
// (arrays, strings, null, invalid JSON).
func parseObject(raw []byte) (object, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	var o object
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, false
	}
	return o, true
}

// lookup returns the first member among keys that is present and not null,
// with the key that matched.
func (o object) lookup(keys ...string) (json.RawMessage, string, bool) {
	for _, k := range keys {
		v, ok := o[k]
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		if len(v) == 0 || string(v) == "null" {
			continue
		}
		return v, k, true
	}
	return nil, "", false
}

// str reads a string member. A member of another type is an error.
func (o object) str(keys ...string) (string, error) {
	raw, key, ok := o.lookup(keys...)
	if !ok {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", invalidReply("field %q is not a string", key)
	}
	return s, nil
}

// text reads a member that may be a string or a number, as a string.
// Integral numbers are written without a fraction ("1", not "1.0").
func (o object) text(keys ...string) (string, error) {
	raw, key, ok := o.lookup(keys...)
	if !ok {
		return "", nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", invalidReply("field %q is not a string", key)
		}
		return s, nil
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", invalidReply("field %q is not a number", key)
		}
		if i, err := n.Int64(); err == nil {
			return strconv.FormatInt(i, 10), nil
		}
		f, err := n.Float64()
		if err != nil {
			return "", invalidReply("field %q is not a number", key)
		}
		if f == math.Trunc(f) && math.Abs(f) < 1e15 {
			return strconv.FormatInt(int64(f), 10), nil
		}
		return n.String(), nil
	}
	return "", invalidReply("field %q is neither a string nor a number", key)
}

// boolean reads a bool member; "true"/"false" strings are accepted.
func (o object) boolean(keys ...string) (bool, error) {
	raw, key, ok := o.lookup(keys...)
	if !ok {
		return false, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		return b, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if v, err := strconv.ParseBool(s); err == nil {
			return v, nil
		}
	}
	return false, invalidReply("field %q is not a boolean", key)
}

// timestamp reads a time member: an RFC 3339 string, a string of digits, or a
// JSON number of unix seconds (or milliseconds, see unixTime). An empty string
// is the zero time.
func (o object) timestamp(keys ...string) (time.Time, error) {
	raw, key, ok := o.lookup(keys...)
	if !ok {
		return time.Time{}, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		s = strings.TrimSpace(s)
		if s == "" {
			return time.Time{}, nil
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t, nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			if t, ok := unixTime(f); ok {
				return t, nil
			}
		}
		return time.Time{}, invalidReply("field %q is not an RFC 3339 time", key)
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err == nil {
		if t, ok := unixTime(f); ok {
			return t, nil
		}
	}
	return time.Time{}, invalidReply("field %q is neither an RFC 3339 time nor unix seconds", key)
}

// unixTime converts unix seconds to a UTC time. Values of 1e11 and above
// (later than the year 5000 as seconds) are taken as milliseconds, which some
// JSON APIs send. Negative, NaN and absurd values are rejected.
func unixTime(f float64) (time.Time, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f >= 1e14 {
		return time.Time{}, false
	}
	if f >= 1e11 {
		f /= 1000
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}

// timePtr reads an optional time member as a pointer (nil when absent).
func (o object) timePtr(keys ...string) (*time.Time, error) {
	t, err := o.timestamp(keys...)
	if err != nil || t.IsZero() {
		return nil, err
	}
	return &t, nil
}

// unwrapped returns the data object of an enveloped reply, or the reply
// itself for the unwrapped documents (status, JWKS, DID documents) of B2.6.
func unwrapped(body []byte) (object, error) {
	top, data, err := payload(body)
	if data != nil {
		return data, err
	}
	return top, err
}

// payload returns the object a reply carries: data when the reply is an
// envelope, else the reply itself (a bare object). A reply that says
// "success": false is an error even with a 2xx status.
func payload(body []byte) (top, data object, err error) {
	top, ok := parseObject(body)
	if !ok {
		return nil, nil, invalidReply("the reply is not a JSON object")
	}
	if raw, _, ok := top.lookup("success"); ok && string(raw) == "false" {
		msg, _ := top.text("message")
		if msg == "" {
			msg, _ = top.text("error")
		}
		return nil, nil, &reportedFailure{message: msg}
	}
	if raw, _, ok := top.lookup("data"); ok {
		if data, ok := parseObject(raw); ok {
			return top, data, nil
		}
		return top, nil, nil
	}
	return top, nil, nil
}

// decodeServer decodes a reply carrying one server object.
func decodeServer(body []byte) (*Server, error) {
	top, data, err := payload(body)
	if err != nil {
		return nil, err
	}
	if data == nil {
		// A bare server object (tolerated); without one of its fields we
		// would be guessing.
		if _, _, ok := top.lookup("id", "did"); !ok {
			return nil, invalidReply("the reply has no data object")
		}
		data = top
	}
	return decodeServerObject(data)
}

// decodeServerObject reads a server object in either field style.
func decodeServerObject(o object) (*Server, error) {
	var s Server
	var err error
	read := func(dst *string, f func(...string) (string, error), keys ...string) {
		if err == nil {
			*dst, err = f(keys...)
		}
	}
	readTime := func(dst *time.Time, keys ...string) {
		if err == nil {
			*dst, err = o.timestamp(keys...)
		}
	}
	read(&s.ID, o.text, "id", "server_id", "serverId")
	read(&s.Name, o.str, "name")
	read(&s.DID, o.str, "did")
	read(&s.DIDKey, o.str, "didKey", "did_key")
	read(&s.PublicKey, o.str, "publicKey", "public_key")
	read(&s.Status, o.str, "status")
	read(&s.Domain, o.str, "domain")
	read(&s.TrustLevel, o.text, "trustLevel", "trust_level")
	readTime(&s.CreatedAt, "createdAt", "created_at")
	readTime(&s.UpdatedAt, "updatedAt", "updated_at")
	readTime(&s.KeyUpdatedAt, "keyUpdatedAt", "key_updated_at")
	if err == nil {
		s.DisabledAt, err = o.timePtr("disabledAt", "disabled_at")
	}
	if err != nil {
		return nil, err
	}
	if s.ID == "" {
		return nil, invalidReply("the server object has no id")
	}
	// PROTOCOL.md A2: the registry's DID is authoritative; never fall back
	// to the locally derived did:key.
	if s.DID == "" {
		return nil, invalidReply("the server object %q has no data.did (the registry must assign the server's DID)", s.ID)
	}
	if !strings.HasPrefix(s.DID, "did:") {
		return nil, invalidReply("the server object %q has a did that is not a DID", s.ID)
	}
	return &s, nil
}

// decodeServerList decodes the reply of GET /v1/sdk/servers: data as an
// array (A7), or data.servers / data.items, or top-level servers / items, or
// a bare array. A missing or null data is an empty page (a Go server encodes
// an empty slice as null). The cursor is nextCursor or next_cursor, inside
// data when data is an object, else at the top level.
func decodeServerList(body []byte) ([]Server, string, error) {
	trimmed := bytes.TrimSpace(body)
	var list json.RawMessage
	var cursor string
	if len(trimmed) > 0 && trimmed[0] == '[' {
		list = trimmed
	} else {
		top, _, err := payload(trimmed)
		if err != nil {
			return nil, "", err
		}
		if raw, _, ok := top.lookup("data"); ok {
			list = raw
			if data, isObj := parseObject(raw); isObj {
				if list, _, ok = data.lookup("servers", "items"); !ok {
					return nil, "", invalidReply("the reply's data holds no list of servers")
				}
				if cursor, err = data.str("nextCursor", "next_cursor"); err != nil {
					return nil, "", err
				}
			}
		} else {
			list, _, _ = top.lookup("servers", "items")
		}
		if cursor == "" {
			if cursor, err = top.str("nextCursor", "next_cursor"); err != nil {
				return nil, "", err
			}
		}
	}
	var items []json.RawMessage
	if list != nil {
		if err := json.Unmarshal(list, &items); err != nil {
			return nil, "", invalidReply("the list of servers is not an array")
		}
	}
	servers := make([]Server, 0, len(items))
	for i, raw := range items {
		o, ok := parseObject(raw)
		if !ok {
			return nil, "", invalidReply("entry %d of the list of servers is not an object", i)
		}
		s, err := decodeServerObject(o)
		if err != nil {
			return nil, "", err
		}
		servers = append(servers, *s)
	}
	return servers, cursor, nil
}

// decodeBadge decodes a badge reply (PROTOCOL.md A4). The token is read from
// data.badge, then data.token, then top-level badge, then token. jti, expiry,
// subject and trust level come from the reply object that holds the token's
// siblings (data, else the top level); what is missing is taken from the JWS
// claims, decoded without verifying the signature.
func decodeBadge(body []byte) (*Badge, error) {
	top, data, err := payload(body)
	if err != nil {
		return nil, err
	}
	var token string
	for _, src := range []struct {
		o   object
		key string
	}{{data, "badge"}, {data, "token"}, {top, "badge"}, {top, "token"}} {
		if src.o == nil {
			continue
		}
		if token, err = src.o.str(src.key); err != nil {
			return nil, err
		}
		if token != "" {
			break
		}
	}
	if token == "" {
		return nil, invalidReply("the reply carries no badge (looked for data.badge, data.token, badge, token)")
	}
	token = strings.TrimSpace(token)
	claims, err := jwsClaims(token)
	if err != nil {
		return nil, err
	}
	fields := data
	if fields == nil {
		fields = top
	}
	b := &Badge{Badge: token, Token: token}
	if b.JTI, err = fields.text("jti"); err != nil {
		return nil, err
	}
	if b.Subject, err = fields.str("subject", "sub"); err != nil {
		return nil, err
	}
	if b.TrustLevel, err = fields.text("trustLevel", "trust_level"); err != nil {
		return nil, err
	}
	if b.ExpiresAt, err = fields.timestamp("expiresAt", "expires_at"); err != nil {
		return nil, err
	}
	if b.JTI == "" {
		b.JTI, _ = claims.text("jti")
	}
	if b.Subject == "" {
		b.Subject, _ = claims.str("sub")
	}
	if b.ExpiresAt.IsZero() {
		b.ExpiresAt, _ = claims.timestamp("exp")
	}
	if b.TrustLevel == "" {
		b.TrustLevel = claimLevel(claims)
	}
	if b.JTI == "" {
		return nil, invalidReply("the badge has no jti, neither in the reply nor in its claims")
	}
	if b.ExpiresAt.IsZero() {
		return nil, invalidReply("the badge has no expiry, neither in the reply nor in its claims")
	}
	return b, nil
}

// jwsClaims decodes the payload of a compact JWS without verifying it. The
// token is never quoted in errors: it is a bearer credential.
func jwsClaims(token string) (object, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return nil, invalidReply("the badge is not a compact JWS (header.payload.signature)")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, invalidReply("the badge payload is not base64url")
	}
	claims, ok := parseObject(raw)
	if !ok {
		return nil, invalidReply("the badge payload is not a JSON object")
	}
	return claims, nil
}

// claimLevel reads vc.credentialSubject.level from badge claims, "" if absent.
func claimLevel(claims object) string {
	rawVC, _, ok := claims.lookup("vc")
	if !ok {
		return ""
	}
	vc, ok := parseObject(rawVC)
	if !ok {
		return ""
	}
	rawSubj, _, ok := vc.lookup("credentialSubject")
	if !ok {
		return ""
	}
	subj, ok := parseObject(rawSubj)
	if !ok {
		return ""
	}
	level, _ := subj.text("level")
	return level
}

// decodeBadgeStatus decodes a badge status document (not wrapped, B2.6; a
// data envelope is tolerated).
func decodeBadgeStatus(body []byte) (*BadgeStatus, error) {
	o, err := unwrapped(body)
	if err != nil {
		return nil, err
	}
	var st BadgeStatus
	if st.JTI, err = o.text("jti"); err != nil {
		return nil, err
	}
	if st.Sub, err = o.str("sub", "subject"); err != nil {
		return nil, err
	}
	if _, _, ok := o.lookup("revoked"); !ok {
		return nil, invalidReply("the badge status has no revoked field")
	}
	if st.Revoked, err = o.boolean("revoked"); err != nil {
		return nil, err
	}
	if st.Reason, err = o.str("reason"); err != nil {
		return nil, err
	}
	if st.RevokedAt, err = o.timePtr("revokedAt", "revoked_at"); err != nil {
		return nil, err
	}
	if st.ExpiresAt, err = o.timePtr("expiresAt", "expires_at"); err != nil {
		return nil, err
	}
	return &st, nil
}

// decodeJWKS decodes {"keys":[...]} or, as CORE accepts, a bare single JWK.
func decodeJWKS(body []byte) (*JWKS, error) {
	o, err := unwrapped(body)
	if err != nil {
		return nil, err
	}
	if raw, _, ok := o.lookup("keys"); ok {
		var set JWKS
		if err := json.Unmarshal(raw, &set.Keys); err != nil {
			return nil, invalidReply("the key set's keys is not an array of JWKs")
		}
		return &set, nil
	}
	if _, _, ok := o.lookup("kty"); ok {
		var k JWK
		if err := json.Unmarshal(body, &k); err != nil {
			return nil, invalidReply("the reply is not a JWK")
		}
		return &JWKS{Keys: []JWK{k}}, nil
	}
	return nil, invalidReply("the reply is neither a JWK set nor a JWK")
}

// decodeDIDDocument decodes a DID document. @context may be a string or an
// array; authentication and assertionMethod entries may be references or
// embedded methods (their id is kept).
func decodeDIDDocument(body []byte) (*DIDDocument, error) {
	o, err := unwrapped(body)
	if err != nil {
		return nil, err
	}
	var doc DIDDocument
	if doc.ID, err = o.str("id"); err != nil {
		return nil, err
	}
	if doc.ID == "" {
		return nil, invalidReply("the DID document has no id")
	}
	if raw, _, ok := o.lookup("@context"); ok {
		if doc.Context, err = stringsOrIDs(raw, "@context"); err != nil {
			return nil, err
		}
	}
	if raw, _, ok := o.lookup("verificationMethod"); ok {
		if err := json.Unmarshal(raw, &doc.VerificationMethod); err != nil {
			return nil, invalidReply("the DID document's verificationMethod is not an array of methods")
		}
	}
	if raw, _, ok := o.lookup("authentication"); ok {
		if doc.Authentication, err = stringsOrIDs(raw, "authentication"); err != nil {
			return nil, err
		}
	}
	if raw, _, ok := o.lookup("assertionMethod"); ok {
		if doc.AssertionMethod, err = stringsOrIDs(raw, "assertionMethod"); err != nil {
			return nil, err
		}
	}
	return &doc, nil
}

// stringsOrIDs reads a string, or an array whose entries are strings or
// objects with an id.
func stringsOrIDs(raw json.RawMessage, field string) ([]string, error) {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, invalidReply("field %q is neither a string nor an array", field)
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		var s string
		if err := json.Unmarshal(it, &s); err == nil {
			out = append(out, s)
			continue
		}
		if o, ok := parseObject(it); ok {
			if id, err := o.str("id"); err == nil && id != "" {
				out = append(out, id)
			}
			continue
		}
		return nil, invalidReply("field %q has an entry that is neither a string nor an object", field)
	}
	return out, nil
}

// decodeError reads the code and message of an error reply. It never fails:
//
//   - {"error":"<code>","message":"<text>"} (A5);
//   - {"error":"<text>"} (DOCS api.md): a single token becomes the code, text
//     with spaces the message;
//   - {"error":{"code","message"}} and {"message"} alone;
//   - anything else: the first 200 bytes of the body, control characters
//     removed, as the message.
//
// redact runs on each text whole, before it is cut to its display length.
func decodeError(body []byte, redact func(string) string) (code, message string) {
	if o, ok := parseObject(body); ok {
		errText, _ := o.text("error", "code")
		message, _ = o.text("message", "error_description", "detail")
		if raw, _, ok := o.lookup("error"); ok {
			if nested, ok := parseObject(raw); ok {
				errText, _ = nested.text("code", "error")
				if message == "" {
					message, _ = nested.text("message")
				}
			}
		}
		errText = sanitizeText(redact(errText), maxErrorMessageBytes)
		message = sanitizeText(redact(message), maxErrorMessageBytes)
		switch {
		case errText == "":
		case isCode(errText):
			code = errText
		case message == "":
			message = errText
		}
		if code != "" || message != "" {
			return code, message
		}
	}
	return "", sanitizeText(redact(string(body)), maxErrorTextBytes)
}

// isCode reports whether s looks like a machine code: short, one token of
// letters, digits, '_', '-' or '.'.
func isCode(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r == '.' || r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return false
		}
	}
	return true
}

// sanitizeText keeps the first limit bytes of s, as valid UTF-8, with
// control characters (including terminal escapes) replaced by spaces and
// runs of spaces collapsed.
func sanitizeText(s string, limit int) string {
	if len(s) > limit {
		s = s[:limit]
		// Drop a rune cut in half rather than emitting U+FFFD.
		for len(s) > 0 {
			r, size := utf8.DecodeLastRuneInString(s)
			if r != utf8.RuneError || size != 1 {
				break
			}
			s = s[:len(s)-1]
		}
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
