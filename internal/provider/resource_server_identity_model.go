package provider

import (
	"context"
	"reflect"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
)

// Environment variable names the runtime SDK reads.
const (
	envServerID     = "CAPISCIO_SERVER_ID"
	envServerURL    = "CAPISCIO_SERVER_URL"
	envServerDomain = "CAPISCIO_SERVER_DOMAIN"
	envPrivateKey   = "CAPISCIO_SERVER_PRIVATE_KEY_PEM"
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

	ID               types.String `tfsdk:"id"`
	DID              types.String `tfsdk:"did"`
	DIDKey           types.String `tfsdk:"did_key"`
	KeyID            types.String `tfsdk:"key_id"`
	PublicKeyPEM     types.String `tfsdk:"public_key_pem"`
	PrivateKeyPEM    types.String `tfsdk:"private_key_pem"`
	Env              types.Map    `tfsdk:"env"`
	BadgeJTI         types.String `tfsdk:"badge_jti"`
	BadgeExpiresAt   types.String `tfsdk:"badge_expires_at"`
	TrustLevel       types.String `tfsdk:"trust_level"`
	KeyCreatedAt     types.String `tfsdk:"key_created_at"`
	KeySerial        types.Int64  `tfsdk:"key_serial"`
	ReadyForRotation types.Bool   `tfsdk:"ready_for_rotation"`
	Status           types.String `tfsdk:"status"`
	RegistryURL      types.String `tfsdk:"registry_url"`
}

// identityCodec converts serverIdentityModel to and from plans and states:
// the resource's CRUD methods and ModifyPlan use it rather than the
// framework's Get and Set, which cost about ten times as much per call (see
// objectCodec and BenchmarkModelConversion). The model and the schema are
// checked against each other once; a mismatch is a bug in this provider,
// which TestObjectCodec_AgreesWithFramework fails on.
var identityCodec = sync.OnceValue(func() *objectCodec[serverIdentityModel] {
	ctx := context.Background()
	c, err := newObjectCodec[serverIdentityModel](ctx, serverIdentitySchema(ctx))
	if err != nil {
		panic("capiscio_server_identity: model and schema disagree: " + err.Error())
	}
	return c
})

// newKey is a key this resource has just made or been given, with the facts
// state records about it.
type newKey struct {
	pub     keys.Public
	stored  *keys.Material // the private key state keeps: generate mode only
	created time.Time
	serial  int64
}

// applyKey sets every key-derived attribute. k.stored is nil when only the
// public key is kept (write-only and external keys, imports): the private
// attributes are then null.
func (m *serverIdentityModel) applyKey(k newKey) {
	m.DIDKey = types.StringValue(k.pub.DIDKey)
	m.KeyID = types.StringValue(k.pub.KeyID)
	m.PublicKeyPEM = types.StringValue(k.pub.PEM)
	m.PrivateKeyPEM = types.StringNull()
	if k.stored != nil {
		m.PrivateKeyPEM = types.StringValue(k.stored.PrivatePEM)
	}
	m.KeyCreatedAt = types.StringValue(k.created.UTC().Format(time.RFC3339))
	m.KeySerial = types.Int64Value(k.serial)
	m.ReadyForRotation = types.BoolValue(false)
}

// applyServer copies the registry's view of the record.
func (m *serverIdentityModel) applyServer(s *protocol.Server, registryURL string) {
	m.ID = types.StringValue(s.ID)
	m.ServerID = types.StringValue(s.ID)
	m.DID = types.StringValue(s.DID)
	m.Name = types.StringValue(s.Name)
	m.Status = types.StringValue(recordStatus(s))
	m.RegistryURL = types.StringValue(registryURL)
	if m.Domain.IsUnknown() {
		m.Domain = types.StringNull()
	}
	if m.TrustLevel.IsNull() || m.TrustLevel.IsUnknown() {
		m.TrustLevel = stringOrNull(s.TrustLevel)
	}
	if m.IssueBadge.IsNull() || m.IssueBadge.IsUnknown() {
		m.IssueBadge = types.BoolValue(true)
	}
}

// recordStatus is the status of a record the registry answered for: one
// without a status is not disabled.
func recordStatus(s *protocol.Server) string {
	if s.Status == "" {
		return protocol.StatusActive
	}
	return s.Status
}

// applyPending fills a state for an unconfirmed create: the key is known,
// the record is not. The id names the pending request, never a real record.
func (m *serverIdentityModel) applyPending(idempotencyKey, registryURL string) {
	m.ID = types.StringValue(pendingIDPrefix + idempotencyKey)
	if m.ServerID.IsUnknown() {
		m.ServerID = types.StringNull()
	}
	m.DID = types.StringNull()
	m.applyUnconfirmed(registryURL)
}

// applyUnconfirmedKey fills a state for a key registration on a given record
// that the registry never confirmed: the record is the given one, its DID as
// planned (or unknown: null), its status unknown (null).
func (m *serverIdentityModel) applyUnconfirmedKey(registryURL string) {
	m.ID = m.ServerID
	if m.DID.IsUnknown() {
		m.DID = types.StringNull()
	}
	m.applyUnconfirmed(registryURL)
}

// applyUnconfirmed fills what an unconfirmed registration leaves unknown:
// the name as planned (or null), no status, no badge.
func (m *serverIdentityModel) applyUnconfirmed(registryURL string) {
	if m.Name.IsUnknown() {
		m.Name = types.StringNull()
	}
	m.Status = types.StringNull()
	m.RegistryURL = types.StringValue(registryURL)
	m.applyBadge(nil)
	if m.TrustLevel.IsUnknown() {
		m.TrustLevel = types.StringNull()
	}
	m.refreshEnv()
}

// applyBadge records the facts of a verified first badge, or clears them
// (nil). The token itself is never kept: it is a bearer credential that
// expires minutes after the apply.
func (m *serverIdentityModel) applyBadge(b *registry.VerifiedBadge) {
	if b == nil {
		m.BadgeJTI, m.BadgeExpiresAt = types.StringNull(), types.StringNull()
		if m.TrustLevel.IsUnknown() {
			m.TrustLevel = types.StringNull()
		}
		return
	}
	m.BadgeJTI = stringOrNull(b.JTI)
	m.BadgeExpiresAt = types.StringNull()
	if !b.ExpiresAt.IsZero() {
		m.BadgeExpiresAt = types.StringValue(b.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if b.TrustLevel != "" {
		m.TrustLevel = types.StringValue(b.TrustLevel)
	}
}

// effectiveDomain is the domain badges are asked for: domain, or when unset
// (null) the one the runtime SDK derives from the registry URL.
func (m *serverIdentityModel) effectiveDomain() string {
	if m.Domain.IsNull() || m.Domain.IsUnknown() {
		return protocol.DefaultDomain(m.RegistryURL.ValueString())
	}
	return m.Domain.ValueString()
}

// refreshEnv rebuilds the env map from the other attributes.
// CAPISCIO_SERVER_DOMAIN is set only when the domain differs from the one the
// runtime SDK derives from CAPISCIO_SERVER_URL by itself; the private key is
// given in the one-line form the SDK and .env files take.
func (m *serverIdentityModel) refreshEnv() {
	env := map[string]string{
		envServerID:  m.ID.ValueString(),
		envServerURL: m.RegistryURL.ValueString(),
	}
	if d := m.Domain.ValueString(); d != "" && d != protocol.DefaultDomain(m.RegistryURL.ValueString()) {
		env[envServerDomain] = d
	}
	if !m.PrivateKeyPEM.IsNull() && !m.PrivateKeyPEM.IsUnknown() {
		env[envPrivateKey] = keys.EnvEscape(m.PrivateKeyPEM.ValueString())
	}
	m.Env = stringMap(env)
}

// refreshFrom updates state from the registry's record in Read (registryURL
// is the address the record was read from) and returns what the next plan
// must explain (nil when nothing).
//
// did_key and key_id describe the key the record holds; public_key_pem stays
// this resource's own key. When another key was registered on the record
// (key drift), the two differ, and the plan registers this resource's key
// again: a diff on did_key and key_id, no replacement, no new record.
func (m *serverIdentityModel) refreshFrom(s *protocol.Server, registryURL string) *driftInfo {
	var drift driftInfo
	registered, known := registeredPublic(s)
	switch {
	case m.PublicKeyPEM.IsNull():
		// Imported: adopt the registered key as this resource's key.
		if known {
			t := keyTimeOf(s)
			m.applyKey(newKey{pub: registered, created: t, serial: t.UnixMilli()})
		}
	case known:
		m.DIDKey, m.KeyID = types.StringValue(registered.DIDKey), types.StringValue(registered.KeyID)
		if declared, ok := m.declaredKey(); ok && !declared.Key.Equal(registered.Key) {
			drift.KeyChanged, drift.KeyChangedAt = true, formatTime(s.KeyUpdatedAt)
		}
	}
	if s.Status == protocol.StatusDisabled {
		drift.Disabled = true
		if s.DisabledAt != nil {
			drift.DisabledAt = formatTime(*s.DisabledAt)
		}
	}
	m.applyServer(s, registryURL)
	if m.ReadyForRotation.IsNull() {
		m.ReadyForRotation = types.BoolValue(false)
	}
	m.refreshEnv()
	if drift == (driftInfo{}) {
		return nil
	}
	return &drift
}

// copyComputedFrom carries the computed attributes of state into a plan whose
// values are unknown, before an in-place update fills what changed.
func (m *serverIdentityModel) copyComputedFrom(s serverIdentityModel) {
	m.ID, m.ServerID, m.DID = s.ID, s.ServerID, s.DID
	m.DIDKey, m.KeyID, m.PublicKeyPEM, m.PrivateKeyPEM = s.DIDKey, s.KeyID, s.PublicKeyPEM, s.PrivateKeyPEM
	m.BadgeJTI, m.BadgeExpiresAt, m.TrustLevel = s.BadgeJTI, s.BadgeExpiresAt, s.TrustLevel
	m.KeyCreatedAt, m.KeySerial, m.ReadyForRotation, m.Status = s.KeyCreatedAt, s.KeySerial, s.ReadyForRotation, s.Status
	if m.Name.IsUnknown() {
		m.Name = s.Name
	}
}

// markKeyUnknown makes every attribute that a new key changes unknown, for a
// plan that replaces the identity.
func (m *serverIdentityModel) markKeyUnknown() {
	for _, p := range []*types.String{&m.DIDKey, &m.KeyID, &m.PublicKeyPEM, &m.PrivateKeyPEM, &m.KeyCreatedAt,
		&m.BadgeJTI, &m.BadgeExpiresAt} {
		*p = types.StringUnknown()
	}
	m.KeySerial = types.Int64Unknown()
	m.Env = types.MapUnknown(types.StringType)
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

// registeredPublic describes the key the registry's record holds; ok is
// false when the reply does not say (some registries send only id and did)
// or says it unreadably.
func registeredPublic(s *protocol.Server) (keys.Public, bool) {
	pub, err := registeredKey(s)
	if err != nil || pub == nil {
		return keys.Public{}, false
	}
	desc, err := keys.DescribePublic(pub)
	return desc, err == nil
}

// holdsKey reports whether the registry's record holds the key of pemText;
// known is false when the reply does not say which key the record holds.
func holdsKey(s *protocol.Server, pemText string) (same, known bool) {
	ours, err := keys.ParsePublicPEM(pemText)
	theirs, theirErr := registeredKey(s)
	if err != nil || theirErr != nil || theirs == nil {
		return false, false
	}
	return ours.Equal(theirs), true
}

// declaredKey describes this resource's own key, the one in public_key_pem.
func (m *serverIdentityModel) declaredKey() (keys.Public, bool) {
	pub, err := keys.ParsePublicPEM(m.PublicKeyPEM.ValueString())
	if err != nil {
		return keys.Public{}, false
	}
	desc, err := keys.DescribePublic(pub)
	return desc, err == nil
}

// keyTimeOf is when the record's current key was registered, as far as the
// reply tells.
func keyTimeOf(s *protocol.Server) time.Time {
	for _, t := range []time.Time{s.KeyUpdatedAt, s.UpdatedAt, s.CreatedAt} {
		if !t.IsZero() {
			return t.Truncate(time.Second)
		}
	}
	return time.Unix(0, 0)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
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
