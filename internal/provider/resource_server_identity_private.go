package provider

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
)

// Private state of capiscio_server_identity.
//
// Terraform keeps a resource's private state in the state file, base64 of the
// framework's JSON map whose values are base64 of the provider's JSON: every
// byte here costs about 1.8 bytes in every identity's state. So the keys are
// one letter and the usual content, a record this resource created, is the
// eleven bytes {"m":"MQ=="}.
//
//	m  1 when this resource created the record and so may delete it
//	p  a create whose outcome the registry never confirmed (pendingCreate)
//	d  the drift Read found, for ModifyPlan to act on (driftInfo)

// The first provider versions wrote one JSON object under "identity"; it is
// still read, and replaced by the keys above on the next write.
const (
	privateManaged = "m"
	privatePending = "p"
	privateDrift   = "d"
	privateLegacy  = "identity"
)

// privateState is what the resource keeps in Terraform's private state.
type privateState struct {
	// Managed is true when this resource created the record and may delete it.
	Managed bool
	// Pending holds a create whose outcome the registry never confirmed.
	Pending *pendingCreate
	// Drift is what Read found that the next plan must act on (nil = none).
	Drift *driftInfo
}

// pendingCreate is the request of an unconfirmed create, resent as is to
// resolve it (same body, same Idempotency-Key).
type pendingCreate struct {
	IdempotencyKey string `json:"k"`
	Name           string `json:"n,omitempty"`
}

// driftInfo is what Read saw in the registry that ModifyPlan explains: the
// times state has no attribute for. It is written only while there is drift.
type driftInfo struct {
	// KeyChanged: the record holds another key than this resource's.
	KeyChanged bool `json:"k,omitempty"`
	// KeyChangedAt is when that key was registered (RFC 3339), if known.
	KeyChangedAt string `json:"ka,omitempty"`
	// Disabled: the record is disabled.
	Disabled bool `json:"x,omitempty"`
	// DisabledAt is when it was disabled (RFC 3339), if known.
	DisabledAt string `json:"xa,omitempty"`
}

// same reports whether two drift records are the same (both may be nil).
func (d *driftInfo) same(o *driftInfo) bool {
	if d == nil || o == nil {
		return d == o
	}
	return *d == *o
}

// legacyPrivateState is the private state the first versions wrote.
type legacyPrivateState struct {
	Managed bool           `json:"managed,omitempty"`
	Pending *pendingCreate `json:"pending,omitempty"`
	Drift   string         `json:"drift,omitempty"`
}

// legacyPending is pendingCreate as the first versions spelled it.
type legacyPending struct {
	IdempotencyKey string `json:"idempotency_key"`
	Name           string `json:"name,omitempty"`
}

// pendingIDPrefix marks the id of an identity whose create was unconfirmed.
const pendingIDPrefix = "pending-"

// recoverPending rebuilds the pending request from state when private state
// is missing: Terraform does not pass private state for a tainted object to
// the plan that replaces it, so Delete would otherwise see an empty one and
// orphan a record the registry did create. The id carries the
// Idempotency-Key and the state carries the request's name.
func (p *privateState) recoverPending(state serverIdentityModel) {
	key, ok := strings.CutPrefix(state.ID.ValueString(), pendingIDPrefix)
	if p.Pending != nil || !ok || key == "" {
		return
	}
	p.Managed = true
	p.Pending = &pendingCreate{IdempotencyKey: key, Name: state.Name.ValueString()}
}

type privateGetter interface {
	GetKey(context.Context, string) ([]byte, diag.Diagnostics)
}

type privateSetter interface {
	SetKey(context.Context, string, []byte) diag.Diagnostics
}

func getPrivate(ctx context.Context, p privateGetter) (privateState, diag.Diagnostics) {
	var ps privateState
	var diags diag.Diagnostics
	corrupt := func() {
		diags.AddError("Corrupt Private State", "The provider's private state for this identity does not decode. This is always a bug in the provider; please report it.")
	}
	read := func(key string, into any) bool {
		raw, d := p.GetKey(ctx, key)
		diags.Append(d...)
		if len(raw) == 0 {
			return false
		}
		if err := json.Unmarshal(raw, into); err != nil {
			corrupt()
			return false
		}
		return true
	}
	var managed int
	ps.Managed = read(privateManaged, &managed) && managed == 1
	var pending pendingCreate
	if read(privatePending, &pending) {
		ps.Pending = &pending
	}
	var drift driftInfo
	if read(privateDrift, &drift) {
		ps.Drift = &drift
	}
	var legacy struct {
		legacyPrivateState
		Pending *legacyPending `json:"pending,omitempty"`
	}
	if read(privateLegacy, &legacy) {
		ps.Managed = ps.Managed || legacy.Managed
		if legacy.Pending != nil && ps.Pending == nil {
			ps.Pending = &pendingCreate{IdempotencyKey: legacy.Pending.IdempotencyKey, Name: legacy.Pending.Name}
		}
		// Version 0's drift marker asked for a replacement; version 1 reads
		// drift again on the next refresh, so it is dropped.
	}
	return ps, diags
}

// setPrivate writes ps, each part under its own key; an absent part deletes
// its key (SetKey with no value), and the legacy key is always dropped.
func setPrivate(ctx context.Context, p privateSetter, ps privateState) diag.Diagnostics {
	var diags diag.Diagnostics
	write := func(key string, v any, present bool) {
		var raw []byte
		if present {
			var err error
			if raw, err = json.Marshal(v); err != nil {
				diags.AddError("Unable to Save Private State", err.Error())
				return
			}
		}
		diags.Append(p.SetKey(ctx, key, raw)...)
	}
	write(privateManaged, 1, ps.Managed)
	write(privatePending, ps.Pending, ps.Pending != nil)
	write(privateDrift, ps.Drift, ps.Drift != nil)
	write(privateLegacy, nil, false)
	return diags
}
