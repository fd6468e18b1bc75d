package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
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

// decodeBadge decodes a compact JWS without verifying it
// (protocol.ParseCompactJWS), then reads the claims this function returns.
// Its errors name the part or claim at fault and never quote the token.
func decodeBadge(token string) (decodedBadge, error) {
	var b decodedBadge
	jws, err := protocol.ParseCompactJWS(token)
	if err != nil {
		return b, err
	}
	b.header, b.claims = jws.RawHeader, jws.RawClaims
	return b, b.readClaims(jws.Claims)
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
