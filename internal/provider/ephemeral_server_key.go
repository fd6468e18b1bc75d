package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
)

var _ ephemeral.EphemeralResource = (*serverKeyEphemeralResource)(nil)

// NewServerKeyEphemeralResource returns the capiscio_server_key ephemeral resource.
func NewServerKeyEphemeralResource() ephemeral.EphemeralResource {
	return &serverKeyEphemeralResource{}
}

// serverKeyEphemeralResource generates an Ed25519 key that never reaches plan
// or state. It creates nothing remote: Terraform opens it on every plan and
// again on every apply, each time with a new key.
type serverKeyEphemeralResource struct{}

type serverKeyModel struct {
	PrivateKeyPEM    types.String `tfsdk:"private_key_pem"`
	PrivateKeyPEMEnv types.String `tfsdk:"private_key_pem_env"`
	PublicKeyPEM     types.String `tfsdk:"public_key_pem"`
	DIDKey           types.String `tfsdk:"did_key"`
	KeyID            types.String `tfsdk:"key_id"`
}

func (e *serverKeyEphemeralResource) Metadata(_ context.Context, req ephemeral.MetadataRequest, resp *ephemeral.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_server_key"
}

func (e *serverKeyEphemeralResource) Schema(_ context.Context, _ ephemeral.SchemaRequest, resp *ephemeral.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Generates an Ed25519 key for an MCP server identity that never reaches plan or state. " +
			"Pass `private_key_pem` to `capiscio_server_identity.private_key_wo` and, in the same apply, to a secret " +
			"store's write-only argument (`secret_string_wo`, `secret_data_wo`, `data_wo`), both versioned together.\n\n" +
			"Terraform opens an ephemeral resource during plan **and again** during apply, with a new key each time: " +
			"only the apply's key is registered and stored, and attributes derived from it are unknown until apply. " +
			"This resource creates nothing remote. Requires Terraform or OpenTofu >= 1.11.",
		Attributes: map[string]schema.Attribute{
			"private_key_pem": schema.StringAttribute{
				MarkdownDescription: "The private key as an unencrypted PKCS#8 PEM.",
				Computed:            true,
				Sensitive:           true,
			},
			"private_key_pem_env": schema.StringAttribute{
				MarkdownDescription: "The same key on one line with literal `\\n`, as `CAPISCIO_SERVER_PRIVATE_KEY_PEM` takes it.",
				Computed:            true,
				Sensitive:           true,
			},
			"public_key_pem": schema.StringAttribute{
				MarkdownDescription: "The public key as an SPKI PEM.",
				Computed:            true,
			},
			"did_key": schema.StringAttribute{
				MarkdownDescription: "The `did:key:z6Mk...` of the public key.",
				Computed:            true,
			},
			"key_id": schema.StringAttribute{
				MarkdownDescription: "RFC 7638 JWK thumbprint of the public key.",
				Computed:            true,
			},
		},
	}
}

// Open generates the key with the same builder as the resource's generate mode.
func (e *serverKeyEphemeralResource) Open(ctx context.Context, _ ephemeral.OpenRequest, resp *ephemeral.OpenResponse) {
	mat, err := keys.NewMaterial(nil)
	if err != nil {
		resp.Diagnostics.AddError("Unable to Generate Key", "Generating an Ed25519 key failed: "+err.Error())
		return
	}
	ctx = maskKeyMaterial(ctx, &mat)
	tflog.Debug(ctx, "Generated ephemeral server key", map[string]any{"did_key": mat.DIDKey, "key_id": mat.KeyID})
	resp.Diagnostics.Append(resp.Result.Set(ctx, &serverKeyModel{
		PrivateKeyPEM:    types.StringValue(mat.PrivatePEM),
		PrivateKeyPEMEnv: types.StringValue(mat.PrivatePEMEnv),
		PublicKeyPEM:     types.StringValue(mat.PEM),
		DIDKey:           types.StringValue(mat.DIDKey),
		KeyID:            types.StringValue(mat.KeyID),
	})...)
}
