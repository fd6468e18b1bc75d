package provider

import (
	"context"
	"encoding/json"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// removedInV1 are the version 0 attributes that version 1 no longer stores:
// the badge token (a bearer credential stale minutes after the apply) and
// four re-encodings of the key. Where each went:
//
//	badge                          ephemeral "capiscio_server_badge" when a run needs one
//	private_key_pem_env            env["CAPISCIO_SERVER_PRIVATE_KEY_PEM"], or provider::capiscio::pem_env(private_key_pem)
//	public_key_jwk                 provider::capiscio::public_key_jwk(public_key_pem)
//	public_key_multibase           did_key without its "did:key:" prefix
//	public_key_fingerprint_sha256  key_id (the RFC 7638 thumbprint) identifies the key
var removedInV1 = []string{"badge", "private_key_pem_env", "public_key_jwk", "public_key_multibase", "public_key_fingerprint_sha256"}

// UpgradeState upgrades a state written by schema version 0.
func (r *serverIdentityResource) UpgradeState(_ context.Context) map[int64]resource.StateUpgrader {
	return map[int64]resource.StateUpgrader{
		0: {StateUpgrader: upgradeStateV0},
	}
}

// upgradeStateV0 drops the attributes version 1 removed and adds status,
// which the next refresh fills. It works on the raw JSON and needs no
// registry call, so an upgrade works offline and changes no remote object;
// every kept attribute keeps its value, so the next plan is empty.
func upgradeStateV0(_ context.Context, req resource.UpgradeStateRequest, resp *resource.UpgradeStateResponse) {
	if req.RawState == nil || len(req.RawState.JSON) == 0 {
		resp.Diagnostics.AddError("Unable to Upgrade State", "The version 0 state of capiscio_server_identity is empty. This is always a bug in the provider; please report it.")
		return
	}
	var attrs map[string]json.RawMessage
	if err := json.Unmarshal(req.RawState.JSON, &attrs); err != nil {
		resp.Diagnostics.AddError("Unable to Upgrade State",
			"The version 0 state of capiscio_server_identity is not a JSON object: "+err.Error()+". Please report this to the provider developers.")
		return
	}
	for _, name := range removedInV1 {
		delete(attrs, name)
	}
	if _, ok := attrs["status"]; !ok {
		attrs["status"] = json.RawMessage("null")
	}
	raw, err := json.Marshal(attrs)
	if err != nil {
		resp.Diagnostics.AddError("Unable to Upgrade State", err.Error())
		return
	}
	resp.DynamicValue = &tfprotov6.DynamicValue{JSON: raw}
}
