package protocol

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// CompactJWS is a compact JWS (header.claims.signature) read without
// verifying its signature. Verification is go-jose's job (the registry client
// verifies every badge it believes); this reader exists for what go-jose does
// not do: read a token that cannot be verified here, and say exactly which
// part of it is wrong without ever quoting it (go-jose's parse errors can
// echo their input, and a badge is a bearer credential).
type CompactJWS struct {
	// Header and Claims are the two JSON objects, member by member.
	Header, Claims map[string]json.RawMessage
	// RawHeader and RawClaims are the same objects as compact JSON.
	RawHeader, RawClaims []byte
}

// jwsParts names the three parts of a compact JWS, for messages.
var jwsParts = [3]string{"header (part 1)", "claims (part 2)", "signature (part 3)"}

// ParseCompactJWS reads token as a compact JWS (RFC 7515 section 7.1):
// three unpadded base64url parts, a header and claims that are JSON objects,
// a header naming its alg (never "none"), a signature present. Its errors
// name the part at fault and never quote the token.
func ParseCompactJWS(token string) (*CompactJWS, error) {
	raw, err := jwsSegments(token)
	if err != nil {
		return nil, err
	}
	var j CompactJWS
	if j.Header, err = jwsObject(raw[0], jwsParts[0]); err != nil {
		return nil, err
	}
	if err := checkAlg(j.Header); err != nil {
		return nil, err
	}
	if j.Claims, err = jwsObject(raw[1], jwsParts[1]); err != nil {
		return nil, err
	}
	j.RawHeader, j.RawClaims = compact(raw[0]), compact(raw[1])
	return &j, nil
}

// jwsSegments splits token into its three parts and decodes each.
func jwsSegments(token string) ([3][]byte, error) {
	var raw [3][]byte
	switch {
	case token == "":
		return raw, errors.New("the badge is empty; give a compact JWS such as the badge attribute of a capiscio_server_identity")
	case strings.TrimSpace(token) != token:
		return raw, errors.New("the badge has leading or trailing whitespace; remove it (trimspace() helps with a badge read from a file)")
	}
	parts := strings.Split(token, ".")
	switch {
	case len(parts) == 5:
		return raw, errors.New("the value has 5 dot-separated parts, like an encrypted JWE; a badge is a signed compact JWS of 3 parts (header.claims.signature)")
	case len(parts) != 3:
		return raw, fmt.Errorf("the value has %d dot-separated part(s); a badge is a compact JWS of 3 base64url parts (header.claims.signature)", len(parts))
	}
	for i, p := range parts {
		if p == "" {
			return raw, fmt.Errorf("the badge's %s is empty; a badge is signed, so all three parts are present", jwsParts[i])
		}
		dec, err := base64.RawURLEncoding.Strict().DecodeString(p)
		if err != nil {
			return raw, fmt.Errorf("the badge's %s is not unpadded base64url (RFC 7515): %s", jwsParts[i], describeBase64Error(p, err))
		}
		raw[i] = dec
	}
	return raw, nil
}

// checkAlg refuses a header without an alg, or with alg "none".
func checkAlg(header map[string]json.RawMessage) error {
	var alg string
	if raw := nonNull(header["alg"]); raw != nil && json.Unmarshal(raw, &alg) != nil {
		return errors.New(`the badge's header member "alg" is not a JSON string`)
	}
	switch alg {
	case "":
		return errors.New("the badge's header has no alg; a JWS header must name its signature algorithm (CapiscIO badges use EdDSA)")
	case "none":
		return errors.New(`the badge's header has alg "none": it is an unsigned token, not a badge`)
	}
	return nil
}

// jwsObject decodes data as exactly one JSON object.
func jwsObject(data []byte, what string) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
		return nil, fmt.Errorf("the badge's %s is not a JSON object", what)
	}
	return obj, nil
}

// compact is data, valid JSON already, without insignificant spaces.
func compact(data []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, data) != nil {
		return data
	}
	return buf.Bytes()
}

// describeBase64Error says what is wrong without quoting the data.
func describeBase64Error(part string, err error) string {
	switch {
	case strings.Contains(part, "="):
		return "it has = padding, which a JWS leaves out"
	case strings.ContainsAny(part, "+/"):
		return "it uses the standard alphabet (+ or /) instead of the URL-safe one (- and _)"
	default:
		var corrupt base64.CorruptInputError
		if errors.As(err, &corrupt) {
			return fmt.Sprintf("invalid data at offset %d", int64(corrupt))
		}
		return "it does not decode"
	}
}
