package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
)

// keyMode says where an identity's key comes from.
type keyMode int

const (
	modeGenerate  keyMode = iota // the provider generates the key; the private key is in state
	modeWriteOnly                // private_key_wo: given at apply time, never stored
	modeExternal                 // external_public_key_pem: only a public key, never a private one
)

func modeOf(config serverIdentityModel) keyMode {
	switch {
	case !config.PrivateKeyWO.IsNull() || !config.PrivateKeyWOVer.IsNull():
		return modeWriteOnly
	case !config.ExternalKeyPEM.IsNull():
		return modeExternal
	default:
		return modeGenerate
	}
}

// identityKey is the key a Create registers. stored is the material that goes
// into state: set in generate mode only.
type identityKey struct {
	pub    keys.Public
	stored *keys.Material
	secret *keys.Material // any private material in memory, to mask in logs
}

// resolveKey builds the key of a new identity from the configuration: one
// builder for all three modes (and, through keys.NewMaterial, for the
// capiscio_server_key ephemeral resource).
func resolveKey(ctx context.Context, config serverIdentityModel) (identityKey, diag.Diagnostics) {
	var diags diag.Diagnostics
	switch modeOf(config) {
	case modeWriteOnly:
		if config.PrivateKeyWO.IsNull() || config.PrivateKeyWO.IsUnknown() {
			diags.AddAttributeError(path.Root("private_key_wo"), "Missing Write-Only Private Key",
				"private_key_wo_version is set but private_key_wo has no value in this apply. Write-only values are not "+
					"stored, so the key must be given in the same apply that registers it (for example from "+
					"ephemeral.capiscio_server_key.NAME.private_key_pem).")
			return identityKey{}, diags
		}
		tflog.Debug(ctx, "Using the write-only private key of this apply")
		priv, err := keys.ParsePrivatePEM(config.PrivateKeyWO.ValueString())
		if err != nil {
			diags.AddAttributeError(path.Root("private_key_wo"), "Invalid Private Key", "private_key_wo: "+err.Error())
			return identityKey{}, diags
		}
		mat, err := keys.DescribePrivate(priv)
		if err != nil {
			diags.AddAttributeError(path.Root("private_key_wo"), "Invalid Private Key", "private_key_wo: "+err.Error())
			return identityKey{}, diags
		}
		return identityKey{pub: mat.Public, secret: &mat}, diags
	case modeExternal:
		tflog.Debug(ctx, "Using the external public key")
		pub, err := keys.ParsePublicPEM(config.ExternalKeyPEM.ValueString())
		if err == nil {
			var desc keys.Public
			if desc, err = keys.DescribePublic(pub); err == nil {
				return identityKey{pub: desc}, diags
			}
		}
		diags.AddAttributeError(path.Root("external_public_key_pem"), "Invalid Public Key", "external_public_key_pem: "+err.Error())
		return identityKey{}, diags
	default:
		tflog.Debug(ctx, "Generating Ed25519 key")
		mat, err := keys.NewMaterial(nil)
		if err != nil {
			diags.AddError("Unable to Generate Key", "Generating an Ed25519 key failed: "+err.Error())
			return identityKey{}, diags
		}
		return identityKey{pub: mat.Public, stored: &mat, secret: &mat}, diags
	}
}

// withWriteOnlyKey returns m with private_key_wo read from the configuration.
// A plan holds every argument but the write-only one, which only the
// configuration carries; resolveKey and planNewKey need both. Reading that one
// attribute costs far less than converting the whole configuration.
func withWriteOnlyKey(ctx context.Context, m serverIdentityModel, config tfsdk.Config) (serverIdentityModel, diag.Diagnostics) {
	diags := config.GetAttribute(ctx, path.Root("private_key_wo"), &m.PrivateKeyWO)
	return m, diags
}

// planNewKey fills the plan of a new identity with what is known before
// apply: an external key's public encodings, and null private attributes for
// the modes that never store one. A write-only key's encodings stay unknown:
// the ephemeral value seen at plan differs from the one seen at apply.
func (m *serverIdentityModel) planNewKey(config serverIdentityModel) {
	mode := modeOf(config)
	if mode == modeGenerate {
		return
	}
	m.PrivateKeyPEM = types.StringNull()
	if mode != modeExternal {
		return
	}
	pub, err := keys.ParsePublicPEM(config.ExternalKeyPEM.ValueString())
	if err != nil {
		return // the validator reports it
	}
	desc, err := keys.DescribePublic(pub)
	if err != nil {
		return
	}
	m.DIDKey, m.KeyID, m.PublicKeyPEM = types.StringValue(desc.DIDKey), types.StringValue(desc.KeyID), types.StringValue(desc.PEM)
}

// externalKeyChanged forces a replacement when external_public_key_pem names
// another key than the one registered: reformatting the same key, or adding
// the argument after importing that key, changes nothing remote.
func externalKeyChanged(ctx context.Context, req planmodifier.StringRequest, resp *stringplanmodifier.RequiresReplaceIfFuncResponse) {
	if req.State.Raw.IsNull() {
		return
	}
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		resp.RequiresReplace = true
		return
	}
	var registered types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("public_key_pem"), &registered)...)
	want, err1 := keys.ParsePublicPEM(req.ConfigValue.ValueString())
	have, err2 := keys.ParsePublicPEM(registered.ValueString())
	resp.RequiresReplace = err1 != nil || err2 != nil || !want.Equal(have)
}
