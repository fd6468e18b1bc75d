package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/function"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
)

var _ function.Function = (*didKeyFunction)(nil)

// NewDIDKeyFunction returns the did_key function.
func NewDIDKeyFunction() function.Function {
	return &didKeyFunction{}
}

type didKeyFunction struct{}

func (f *didKeyFunction) Metadata(_ context.Context, _ function.MetadataRequest, resp *function.MetadataResponse) {
	resp.Name = "did_key"
}

func (f *didKeyFunction) Definition(_ context.Context, _ function.DefinitionRequest, resp *function.DefinitionResponse) {
	resp.Definition = function.Definition{
		Summary: "The did:key of an Ed25519 public key",
		MarkdownDescription: "Returns the `did:key` of an Ed25519 public key: `did:key:z` followed by the base58btc " +
			"encoding of the multicodec prefix `0xed01` and the 32 key bytes, so always `did:key:z6Mk...`. It is the " +
			"value the CapiscIO SDKs register and the resource exports as `did_key`, computed offline, for keys made " +
			"outside Terraform (KMS, HSM, the CapiscIO CLI).\n\n" +
			"The key must be an SPKI PEM (`-----BEGIN PUBLIC KEY-----`), with real line breaks or in the one-line " +
			"form with literal `\\n`. A private key, a certificate or a key of another algorithm (RSA, ECDSA, X25519) " +
			"is an error that says what was found; error messages never quote key material.",
		Parameters: []function.Parameter{
			function.StringParameter{
				Name:                "public_key_pem",
				MarkdownDescription: "SPKI PEM of an Ed25519 public key, such as `openssl pkey -in key.pem -pubout` prints.",
			},
		},
		Return: function.StringReturn{},
	}
}

func (f *didKeyFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
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
	resp.Error = resp.Result.Set(ctx, keys.DIDKey(pub))
}
