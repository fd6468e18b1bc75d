package provider

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// badgeClaimsAttrTypes is the object badge_claims returns.
var badgeClaimsAttrTypes = map[string]attr.Type{
	"header":      types.StringType,
	"claims":      types.StringType,
	"jti":         types.StringType,
	"sub":         types.StringType,
	"iss":         types.StringType,
	"exp":         types.NumberType,
	"iat":         types.NumberType,
	"trust_level": types.StringType,
}

var _ function.Function = (*badgeClaimsFunction)(nil)

// NewBadgeClaimsFunction returns the badge_claims function.
func NewBadgeClaimsFunction() function.Function {
	return &badgeClaimsFunction{}
}

type badgeClaimsFunction struct{}

func (f *badgeClaimsFunction) Metadata(_ context.Context, _ function.MetadataRequest, resp *function.MetadataResponse) {
	resp.Name = "badge_claims"
}

func (f *badgeClaimsFunction) Definition(_ context.Context, _ function.DefinitionRequest, resp *function.DefinitionResponse) {
	resp.Definition = function.Definition{
		Summary: "Decode the header and claims of a trust badge, without verifying it",
		MarkdownDescription: "Decodes the header and claims of a CapiscIO trust badge (a compact JWS, " +
			"`header.claims.signature`).\n\n" +
			"**This function does not verify the signature; use it to read `exp`/`sub`/`jti` at plan time, never " +
			"to trust a badge.** Anyone can write a token that decodes. To trust a badge, verify it against the " +
			"registry's JWKS and revocation status, as the CapiscIO SDKs do.\n\n" +
			"It returns an object with these attributes:\n\n" +
			"- `header` (string): the JOSE header as compact JSON; `jsondecode()` it for `alg`, `kid`, `typ`.\n" +
			"- `claims` (string): the claims as compact JSON; `jsondecode()` it for any claim not listed here " +
			"(`aud`, `nbf`, `ial`, `key`, `vc`, ...).\n" +
			"- `jti`, `sub`, `iss` (string): the badge id, the subject DID (a server's `did:web`) and the issuer; " +
			"null when absent.\n" +
			"- `exp`, `iat` (number): expiry and issue time, in Unix seconds; null when absent. " +
			"`formatdate()` needs RFC 3339: use `timeadd(\"1970-01-01T00:00:00Z\", \"${exp}s\")`.\n" +
			"- `trust_level` (string): `vc.credentialSubject.level`, such as `\"1\"`; null when absent.\n\n" +
			"A value that is not three base64url parts, whose header or claims are not JSON objects, whose header " +
			"has no `alg`, or that has no signature is an error; so is a standard claim of the wrong JSON type. " +
			"Error messages never quote the badge.\n\n" +
			"The `badge` of a `capiscio_server_badge` is ephemeral and sensitive, and so is the result: use it in " +
			"`check` blocks, provisioners, write-only arguments and other ephemeral contexts. For a badge that is only " +
			"sensitive, wrap a claim in `nonsensitive()` to show it in an output.",
		Parameters: []function.Parameter{
			function.StringParameter{
				Name:                "badge",
				MarkdownDescription: "A trust badge as a compact JWS, such as `ephemeral.capiscio_server_badge.NAME.badge`.",
			},
		},
		Return: function.ObjectReturn{AttributeTypes: badgeClaimsAttrTypes},
	}
}

func (f *badgeClaimsFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
	var token string
	resp.Error = req.Arguments.Get(ctx, &token)
	if resp.Error != nil {
		return
	}
	b, err := decodeBadge(token)
	if err != nil {
		resp.Error = function.NewArgumentFuncError(0, err.Error())
		return
	}
	obj, diags := types.ObjectValue(badgeClaimsAttrTypes, b.attrValues())
	resp.Error = function.FuncErrorFromDiags(ctx, diags)
	if resp.Error != nil {
		return
	}
	resp.Error = resp.Result.Set(ctx, obj)
}

// decodedBadge is what decodeBadge reads from a badge. Absent claims are nil.
type decodedBadge struct {
	header, claims []byte // compact JSON objects
	jti, sub, iss  *string
	exp, iat       *big.Float
	trustLevel     *string
}

func (b decodedBadge) attrValues() map[string]attr.Value {
	return map[string]attr.Value{
		"header":      types.StringValue(string(b.header)),
		"claims":      types.StringValue(string(b.claims)),
		"jti":         types.StringPointerValue(b.jti),
		"sub":         types.StringPointerValue(b.sub),
		"iss":         types.StringPointerValue(b.iss),
		"exp":         types.NumberValue(b.exp),
		"iat":         types.NumberValue(b.iat),
		"trust_level": types.StringPointerValue(b.trustLevel),
	}
}

// jwsParts names the three parts of a compact JWS, for messages.
var jwsParts = [3]string{"header (part 1)", "claims (part 2)", "signature (part 3)"}

// decodeBadge decodes a compact JWS without verifying it (RFC 7515 §7.1).
// Its errors name the part at fault and never quote the token.
func decodeBadge(token string) (decodedBadge, error) {
	var b decodedBadge
	if token == "" {
		return b, fmt.Errorf("the badge is empty; give a compact JWS such as the badge attribute of a capiscio_server_identity")
	}
	if strings.TrimSpace(token) != token {
		return b, fmt.Errorf("the badge has leading or trailing whitespace; remove it (trimspace() helps with a badge read from a file)")
	}
	parts := strings.Split(token, ".")
	switch {
	case len(parts) == 5:
		return b, fmt.Errorf("the value has 5 dot-separated parts, like an encrypted JWE; a badge is a signed compact JWS of 3 parts (header.claims.signature)")
	case len(parts) != 3:
		return b, fmt.Errorf("the value has %d dot-separated part(s); a badge is a compact JWS of 3 base64url parts (header.claims.signature)", len(parts))
	}
	var raw [3][]byte
	for i, p := range parts {
		if p == "" {
			return b, fmt.Errorf("the badge's %s is empty; a badge is signed, so all three parts are present", jwsParts[i])
		}
		dec, err := base64.RawURLEncoding.Strict().DecodeString(p)
		if err != nil {
			return b, fmt.Errorf("the badge's %s is not unpadded base64url (RFC 7515): %s", jwsParts[i], describeBase64Error(p, err))
		}
		raw[i] = dec
	}
	header, err := jsonObject(raw[0], jwsParts[0])
	if err != nil {
		return b, err
	}
	alg, err := stringMember(header, "alg", "header")
	switch {
	case err != nil:
		return b, err
	case alg == nil || *alg == "":
		return b, fmt.Errorf("the badge's header has no alg; a JWS header must name its signature algorithm (CapiscIO badges use EdDSA)")
	case *alg == "none":
		return b, fmt.Errorf("the badge's header has alg \"none\": it is an unsigned token, not a badge")
	}
	claims, err := jsonObject(raw[1], jwsParts[1])
	if err != nil {
		return b, err
	}
	if b.header, err = compactJSON(raw[0]); err != nil {
		return b, err
	}
	if b.claims, err = compactJSON(raw[1]); err != nil {
		return b, err
	}
	return b, b.readClaims(claims)
}

// readClaims takes the registered claims and the trust level from claims.
func (b *decodedBadge) readClaims(claims map[string]json.RawMessage) error {
	var err error
	for _, c := range []struct {
		name string
		into **string
	}{{"jti", &b.jti}, {"sub", &b.sub}, {"iss", &b.iss}} {
		if *c.into, err = stringMember(claims, c.name, "claims"); err != nil {
			return err
		}
	}
	if b.exp, err = numberMember(claims, "exp"); err != nil {
		return err
	}
	if b.iat, err = numberMember(claims, "iat"); err != nil {
		return err
	}
	vc, ok := claims["vc"]
	if !ok || string(vc) == "null" {
		return nil
	}
	vcObj, err := jsonObject(vc, "vc claim")
	if err != nil {
		return err
	}
	subj, ok := vcObj["credentialSubject"]
	if !ok || string(subj) == "null" {
		return nil
	}
	subjObj, err := jsonObject(subj, "vc.credentialSubject claim")
	if err != nil {
		return err
	}
	b.trustLevel, err = stringMember(subjObj, "level", "vc.credentialSubject")
	return err
}

// jsonObject decodes data as one JSON object (json.Unmarshal refuses data
// after it).
func jsonObject(data []byte, what string) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
		return nil, fmt.Errorf("the badge's %s is not a JSON object", what)
	}
	return obj, nil
}

func compactJSON(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return nil, fmt.Errorf("the badge's JSON does not compact: %w", err)
	}
	return buf.Bytes(), nil
}

// stringMember returns obj[name] as a string; nil when absent or null.
func stringMember(obj map[string]json.RawMessage, name, where string) (*string, error) {
	v, ok := obj[name]
	if !ok || string(v) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, fmt.Errorf("the badge's %s member %q is not a JSON string", where, name)
	}
	return &s, nil
}

// numberMember returns claims[name] as a number; nil when absent or null.
func numberMember(claims map[string]json.RawMessage, name string) (*big.Float, error) {
	v, ok := claims[name]
	if !ok || string(v) == "null" {
		return nil, nil
	}
	// v is valid JSON (the claims decoded); a JSON number starts with - or a digit.
	if v[0] != '-' && (v[0] < '0' || v[0] > '9') {
		return nil, fmt.Errorf("the badge's claim %q is not a JSON number (a NumericDate in Unix seconds)", name)
	}
	f, _, err := big.ParseFloat(string(v), 10, 512, big.ToNearestEven)
	if err != nil {
		return nil, fmt.Errorf("the badge's claim %q is not a usable number", name)
	}
	return f, nil
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
