package provider

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
)

// Environment variable names the runtime SDK reads (seed guide).
const (
	envServerID     = "CAPISCIO_SERVER_ID"
	envServerURL    = "CAPISCIO_SERVER_URL"
	envServerDomain = "CAPISCIO_SERVER_DOMAIN"
	envPrivateKey   = "CAPISCIO_SERVER_PRIVATE_KEY_PEM"
)

// Drift reasons kept in private state by Read and acted on by ModifyPlan.
const (
	driftKeyChanged = "key_changed"
	driftDisabled   = "disabled"
)

// serverIdentityModel is the state of capiscio_server_identity, in schema order.
type serverIdentityModel struct {
	ServerID         types.String   `tfsdk:"server_id"`
	Name             types.String   `tfsdk:"name"`
	Domain           types.String   `tfsdk:"domain"`
	ExternalKeyPEM   types.String   `tfsdk:"external_public_key_pem"`
	PrivateKeyWO     types.String   `tfsdk:"private_key_wo"`
	PrivateKeyWOVer  types.Int64    `tfsdk:"private_key_wo_version"`
	RotateAfter      types.String   `tfsdk:"rotate_after"`
	RotationTriggers types.Map      `tfsdk:"rotation_triggers"`
	IssueBadge       types.Bool     `tfsdk:"issue_badge"`
	Timeouts         timeouts.Value `tfsdk:"timeouts"`

	ID                         types.String `tfsdk:"id"`
	DID                        types.String `tfsdk:"did"`
	DIDKey                     types.String `tfsdk:"did_key"`
	KeyID                      types.String `tfsdk:"key_id"`
	PublicKeyPEM               types.String `tfsdk:"public_key_pem"`
	PublicKeyJWK               types.String `tfsdk:"public_key_jwk"`
	PublicKeyMultibase         types.String `tfsdk:"public_key_multibase"`
	PublicKeyFingerprintSHA256 types.String `tfsdk:"public_key_fingerprint_sha256"`
	PrivateKeyPEM              types.String `tfsdk:"private_key_pem"`
	PrivateKeyPEMEnv           types.String `tfsdk:"private_key_pem_env"`
	Env                        types.Map    `tfsdk:"env"`
	Badge                      types.String `tfsdk:"badge"`
	BadgeJTI                   types.String `tfsdk:"badge_jti"`
	BadgeExpiresAt             types.String `tfsdk:"badge_expires_at"`
	TrustLevel                 types.String `tfsdk:"trust_level"`
	KeyCreatedAt               types.String `tfsdk:"key_created_at"`
	KeySerial                  types.Int64  `tfsdk:"key_serial"`
	ReadyForRotation           types.Bool   `tfsdk:"ready_for_rotation"`
	RegistryURL                types.String `tfsdk:"registry_url"`
}

// applyKey sets every key-derived attribute. mat is nil when only the public
// key is known (import, external key): the private attributes are then null.
func (m *serverIdentityModel) applyKey(pub keys.Public, mat *keys.Material, created time.Time) {
	m.DIDKey = types.StringValue(pub.DIDKey)
	m.KeyID = types.StringValue(pub.KeyID)
	m.PublicKeyPEM = types.StringValue(pub.PEM)
	m.PublicKeyJWK = types.StringValue(pub.JWKJSON)
	m.PublicKeyMultibase = types.StringValue(pub.Multibase)
	m.PublicKeyFingerprintSHA256 = types.StringValue(pub.Fingerprint)
	m.PrivateKeyPEM, m.PrivateKeyPEMEnv = types.StringNull(), types.StringNull()
	if mat != nil {
		m.PrivateKeyPEM = types.StringValue(mat.PrivatePEM)
		m.PrivateKeyPEMEnv = types.StringValue(mat.PrivatePEMEnv)
	}
	m.KeyCreatedAt = types.StringValue(created.UTC().Format(time.RFC3339))
	m.KeySerial = types.Int64Value(created.Unix())
	m.ReadyForRotation = types.BoolValue(false)
}

// applyServer copies the registry's view of the record.
func (m *serverIdentityModel) applyServer(s *registry.Server, registryURL string) {
	m.ID = types.StringValue(s.ID)
	m.ServerID = types.StringValue(s.ID)
	m.DID = types.StringValue(s.DID)
	m.Name = types.StringValue(s.Name)
	m.RegistryURL = types.StringValue(registryURL)
	if m.Domain.IsNull() || m.Domain.IsUnknown() {
		m.Domain = types.StringValue(registry.DefaultDomain(registryURL))
	}
	if m.TrustLevel.IsNull() || m.TrustLevel.IsUnknown() {
		m.TrustLevel = stringOrNull(s.TrustLevel)
	}
	if m.IssueBadge.IsNull() || m.IssueBadge.IsUnknown() {
		m.IssueBadge = types.BoolValue(true)
	}
}

// applyPending fills a state for an unconfirmed create: the key is known,
// the record is not. The id names the pending request, never a real record.
func (m *serverIdentityModel) applyPending(idempotencyKey, registryURL string) {
	m.ID = types.StringValue(pendingIDPrefix + idempotencyKey)
	if m.ServerID.IsUnknown() {
		m.ServerID = types.StringNull()
	}
	m.DID = types.StringNull()
	if m.Name.IsUnknown() {
		m.Name = types.StringNull()
	}
	m.RegistryURL = types.StringValue(registryURL)
	m.applyBadge(nil)
	if m.TrustLevel.IsUnknown() {
		m.TrustLevel = types.StringNull()
	}
	m.refreshEnv()
}

// applyBadge records the first badge, or clears it (nil) after a failure.
func (m *serverIdentityModel) applyBadge(b *registry.Badge) {
	if b == nil {
		m.Badge, m.BadgeJTI, m.BadgeExpiresAt = types.StringNull(), types.StringNull(), types.StringNull()
		if m.TrustLevel.IsUnknown() {
			m.TrustLevel = types.StringNull()
		}
		return
	}
	m.Badge = types.StringValue(b.Badge)
	m.BadgeJTI = stringOrNull(b.JTI)
	m.BadgeExpiresAt = types.StringNull()
	if !b.ExpiresAt.IsZero() {
		m.BadgeExpiresAt = types.StringValue(b.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if b.TrustLevel != "" {
		m.TrustLevel = types.StringValue(b.TrustLevel)
	}
}

// refreshEnv rebuilds the env map from the other attributes.
// CAPISCIO_SERVER_DOMAIN is set only when the domain differs from the one the
// runtime SDK derives from CAPISCIO_SERVER_URL by itself.
func (m *serverIdentityModel) refreshEnv() {
	env := map[string]string{
		envServerID:  m.ID.ValueString(),
		envServerURL: m.RegistryURL.ValueString(),
	}
	if d := m.Domain.ValueString(); d != "" && d != registry.DefaultDomain(m.RegistryURL.ValueString()) {
		env[envServerDomain] = d
	}
	if !m.PrivateKeyPEMEnv.IsNull() && !m.PrivateKeyPEMEnv.IsUnknown() {
		env[envPrivateKey] = m.PrivateKeyPEMEnv.ValueString()
	}
	m.Env = stringMap(env)
}

// refreshFrom updates state from the registry's record in Read and returns the
// drift reason that must plan a replacement ("" when none).
func (m *serverIdentityModel) refreshFrom(s *registry.Server, registryURL string) string {
	drift := ""
	if m.PublicKeyPEM.IsNull() {
		// Imported: adopt the registered key as this resource's key.
		if pub, err := keys.ParsePublicPEM(s.PublicKey); err == nil {
			if desc, err := keys.DescribePublic(pub); err == nil {
				m.applyKey(desc, nil, keyTimeOf(s))
			}
		}
	} else if !sameKey(s, m.PublicKeyPEM.ValueString()) {
		drift = driftKeyChanged
	}
	if drift == "" && s.Status == registry.StatusDisabled {
		drift = driftDisabled
	}
	if m.RegistryURL.IsNull() {
		m.RegistryURL = types.StringValue(registryURL)
	}
	m.applyServer(s, m.RegistryURL.ValueString())
	if m.ReadyForRotation.IsNull() {
		m.ReadyForRotation = types.BoolValue(false)
	}
	m.refreshEnv()
	return drift
}

// copyComputedFrom carries the computed attributes of state into a plan whose
// values are unknown, before an in-place update fills what changed.
func (m *serverIdentityModel) copyComputedFrom(s serverIdentityModel) {
	m.ID, m.ServerID, m.DID = s.ID, s.ServerID, s.DID
	m.DIDKey, m.KeyID, m.PublicKeyPEM, m.PublicKeyJWK = s.DIDKey, s.KeyID, s.PublicKeyPEM, s.PublicKeyJWK
	m.PublicKeyMultibase, m.PublicKeyFingerprintSHA256 = s.PublicKeyMultibase, s.PublicKeyFingerprintSHA256
	m.PrivateKeyPEM, m.PrivateKeyPEMEnv = s.PrivateKeyPEM, s.PrivateKeyPEMEnv
	m.Badge, m.BadgeJTI, m.BadgeExpiresAt, m.TrustLevel = s.Badge, s.BadgeJTI, s.BadgeExpiresAt, s.TrustLevel
	m.KeyCreatedAt, m.KeySerial, m.ReadyForRotation = s.KeyCreatedAt, s.KeySerial, s.ReadyForRotation
	if m.Name.IsUnknown() {
		m.Name = s.Name
	}
}

// markKeyUnknown makes every attribute that a new key changes unknown, for a
// plan that replaces the identity.
func (m *serverIdentityModel) markKeyUnknown() {
	for _, p := range []*types.String{&m.DIDKey, &m.KeyID, &m.PublicKeyPEM, &m.PublicKeyJWK, &m.PublicKeyMultibase,
		&m.PublicKeyFingerprintSHA256, &m.PrivateKeyPEM, &m.PrivateKeyPEMEnv, &m.KeyCreatedAt, &m.Badge, &m.BadgeJTI, &m.BadgeExpiresAt} {
		*p = types.StringUnknown()
	}
	m.KeySerial = types.Int64Unknown()
	m.Env = types.MapUnknown(types.StringType)
}

// ModifyPlan fills values known at plan time (registry_url, the derived
// domain, id from server_id) and turns drift found by Read into a replacement
// with a reason, since Read itself cannot ask for one.
func (r *serverIdentityResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return // destroy, or the provider is not configured yet (validate)
	}
	var plan serverIdentityModel
	var configDomain types.String
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("domain"), &configDomain)...)
	if resp.Diagnostics.HasError() {
		return
	}
	planned := plan
	plan.RegistryURL = types.StringValue(r.data.registryURL)
	if configDomain.IsNull() {
		plan.Domain = types.StringValue(registry.DefaultDomain(r.data.registryURL))
	}
	if req.State.Raw.IsNull() {
		if !plan.ServerID.IsUnknown() && !plan.ServerID.IsNull() {
			plan.ID = plan.ServerID
		}
		plan.ReadyForRotation = types.BoolValue(false)
		keyConfig, diags := withWriteOnlyKey(ctx, plan, req.Config)
		resp.Diagnostics.Append(diags...)
		plan.planNewKey(keyConfig)
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		return
	}
	var state serverIdentityModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	priv, diags := getPrivate(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !state.RegistryURL.IsNull() && !state.RegistryURL.Equal(plan.RegistryURL) {
		resp.RequiresReplace.Append(path.Root("registry_url"))
		plan.markKeyUnknown()
	}
	if reason := driftReason(priv.Drift, state.ID.ValueString()); reason != "" {
		resp.Diagnostics.AddWarning("Server Identity Will Be Replaced", reason)
		resp.RequiresReplace.Append(path.Root("public_key_pem"))
		plan.markKeyUnknown()
	}
	r.planRotation(state, &plan, &resp.RequiresReplace, &resp.Diagnostics)
	if !plan.Domain.Equal(state.Domain) && plan.IssueBadge.ValueBool() {
		plan.Badge, plan.BadgeJTI, plan.BadgeExpiresAt = types.StringUnknown(), types.StringUnknown(), types.StringUnknown()
		plan.Env = types.MapUnknown(types.StringType)
	}
	// Most plans of an existing identity change nothing here: then the
	// framework's plan stands, without converting the whole object again.
	if !plan.equal(planned) {
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
	}
}

// equal reports whether every attribute of m equals o's.
func (m serverIdentityModel) equal(o serverIdentityModel) bool {
	a, b := reflect.ValueOf(m), reflect.ValueOf(o)
	for i := range a.NumField() {
		x, _ := a.Field(i).Interface().(attr.Value)
		y, _ := b.Field(i).Interface().(attr.Value)
		if x == nil || y == nil || !x.Equal(y) {
			return false
		}
	}
	return true
}

func driftReason(drift, id string) string {
	switch drift {
	case driftKeyChanged:
		return "Server record " + id + " now holds another key than the one in Terraform state (it was rotated outside Terraform). " +
			"This apply generates and registers a new key so that state and registry agree again."
	case driftDisabled:
		return "Server record " + id + " is disabled in the registry, so it cannot get badges. This apply replaces the identity " +
			"with a new key. To keep the current key instead, enable the record in the CapiscIO dashboard and refresh."
	default:
		return ""
	}
}

// sameKey reports whether the registry's record holds the key of pemText.
func sameKey(s *registry.Server, pemText string) bool {
	ours, err := keys.ParsePublicPEM(pemText)
	if err != nil {
		return false
	}
	if theirs, err := keys.ParsePublicPEM(s.PublicKey); err == nil {
		return ours.Equal(theirs)
	}
	if s.DIDKey != "" {
		return s.DIDKey == keys.DIDKey(ours)
	}
	return false
}

func keyTimeOf(s *registry.Server) time.Time {
	for _, t := range []time.Time{s.KeyUpdatedAt, s.UpdatedAt, s.CreatedAt} {
		if !t.IsZero() {
			return t.Truncate(time.Second)
		}
	}
	return time.Unix(0, 0)
}

// serialGuard keeps key_serial strictly increasing within one provider
// process: a destroy-then-create replacement in the same second still gets a
// new serial, so write-only secret versions always move.
type serialGuard struct {
	mu   sync.Mutex
	last int64
}

func (g *serialGuard) next(now time.Time) time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := now.Unix()
	if s <= g.last {
		s = g.last + 1
	}
	g.last = s
	return time.Unix(s, 0).UTC()
}

func (g *serialGuard) observe(serial int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if serial > g.last {
		g.last = serial
	}
}

// maskSecrets masks the API key and secret-bearing field keys in every log
// line of this request.
func maskSecrets(ctx context.Context, c *registry.Client) context.Context {
	ctx = c.MaskSecrets(ctx)
	return tflog.MaskFieldValuesWithFieldKeys(ctx, "private_key_pem", "private_key_pem_env", "private_key", "badge", "api_key", "env")
}

// maskKeyMaterial masks the private key, whole and line by line, in every log
// line of this request (a defence in depth: no code logs it).
func maskKeyMaterial(ctx context.Context, mat *keys.Material) context.Context {
	if mat == nil {
		return ctx
	}
	secrets := []string{mat.PrivatePEM, mat.PrivatePEMEnv}
	for _, line := range strings.Split(mat.PrivatePEM, "\n") {
		if line != "" && !strings.HasPrefix(line, "-----") {
			secrets = append(secrets, line)
		}
	}
	ctx = tflog.MaskMessageStrings(ctx, secrets...)
	return tflog.MaskAllFieldValuesStrings(ctx, secrets...)
}

func stringOrNull(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

func stringMap(m map[string]string) types.Map {
	elems := make(map[string]attr.Value, len(m))
	for k, v := range m {
		elems[k] = types.StringValue(v)
	}
	return types.MapValueMust(types.StringType, elems)
}
