package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/function"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
)

var _ function.Function = (*publicKeyJWKFunction)(nil)

// NewPublicKeyJWKFunction returns the public_key_jwk function.
func NewPublicKeyJWKFunction() function.Function {
	return &publicKeyJWKFunction{}
}

type publicKeyJWKFunction struct{}

func (f *publicKeyJWKFunction) Metadata(_ context.Context, _ function.MetadataRequest, resp *function.MetadataResponse) {
	resp.Name = "public_key_jwk"
}

func (f *publicKeyJWKFunction) Definition(_ context.Context, _ function.DefinitionRequest, resp *function.DefinitionResponse) {
	resp.Definition = function.Definition{
		Summary: "The public JWK of an Ed25519 public key, as JSON",
		MarkdownDescription: "Returns the public JSON Web Key (RFC 8037) of an Ed25519 public key as a JSON string with " +
			"`kty` (`OKP`), `crv` (`Ed25519`), `x` (the 32 key bytes, base64url) and `kid`, the RFC 7638 thumbprint, " +
			"which is also the resource's `key_id`. Use `jsondecode()` to read single members. Computed offline, at plan " +
			"time.\n\n" +
			"The key must be an SPKI PEM (`-----BEGIN PUBLIC KEY-----`), with real line breaks or in the one-line form " +
			"with literal `\\n`, such as `capiscio_server_identity.NAME.public_key_pem`. Error messages never quote key " +
			"material.",
		Parameters: []function.Parameter{
			function.StringParameter{
				Name:                "public_key_pem",
				MarkdownDescription: "SPKI PEM of an Ed25519 public key.",
			},
		},
		Return: function.StringReturn{},
	}
}

func (f *publicKeyJWKFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
	var value string
	resp.Error = req.Arguments.Get(ctx, &value)
	if resp.Error != nil {
		return
	}
	pub, err := keys.ParsePublicPEM(value)
	if err != nil {
		resp.Error = function.NewArgumentFuncError(0, err.Error())
		return
	}
	out, err := keys.PublicJWK(pub).MarshalJSON()
	if err != nil {
		resp.Error = function.NewFuncError("encoding the JWK failed: " + err.Error())
		return
	}
	resp.Error = resp.Result.Set(ctx, string(out))
}
