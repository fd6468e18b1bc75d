package provider

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// codecModels are identities in the shapes a plan and a state take: all
// null, a created identity, a planned create (unknowns), and one with every
// field unknown.
func codecModels(t testing.TB) map[string]serverIdentityModel {
	t.Helper()
	var null, unknown serverIdentityModel
	nv, uv := reflect.ValueOf(&null).Elem(), reflect.ValueOf(&unknown).Elem()
	for i := range nv.NumField() {
		zero := nv.Field(i).Interface().(attr.Value)
		nv.Field(i).Set(reflect.ValueOf(nullOf(t, zero)))
		uv.Field(i).Set(reflect.ValueOf(unknownOf(t, zero)))
	}
	created := null
	created.Name = types.StringValue("weather")
	created.IssueBadge = types.BoolValue(true)
	created.RotateAfter = types.StringValue("720h")
	created.RotationTriggers = stringMap(map[string]string{"build": "42"})
	created.Timeouts = timeouts.Value{Object: types.ObjectValueMust(timeoutsAttrTypes, map[string]attr.Value{
		"create": types.StringValue("2m"), "read": types.StringNull(), "update": types.StringNull(), "delete": types.StringNull(),
	})}
	created.ID = types.StringValue("7b0a3c1e-5d0f-4a43-9d8e-2b6f6f0c8a11")
	created.ServerID = created.ID
	created.DID = types.StringValue("did:web:registry.capisc.io:servers:7b0a3c1e-5d0f-4a43-9d8e-2b6f6f0c8a11")
	created.DIDKey = types.StringValue("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK")
	created.KeyID = types.StringValue(created.DID.ValueString() + "#key-1")
	created.PublicKeyPEM = types.StringValue("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n")
	created.PrivateKeyPEM = types.StringValue("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2Vw\n-----END PRIVATE KEY-----\n")
	created.Env = stringMap(map[string]string{envServerID: created.ID.ValueString(), envServerURL: "https://registry.capisc.io"})
	created.BadgeJTI = types.StringValue("5f1e0c8e-3b7a-4d4e-8f55-0c2d9f1a7b63")
	created.BadgeExpiresAt = types.StringValue("2026-12-02T12:05:00Z")
	created.TrustLevel = types.StringValue("1")
	created.KeyCreatedAt = types.StringValue("2026-12-02T12:00:00Z")
	created.KeySerial = types.Int64Value(3)
	created.ReadyForRotation = types.BoolValue(false)
	created.Status = types.StringValue("active")
	created.RegistryURL = types.StringValue("https://registry.capisc.io")
	planned := created
	planned.markKeyUnknown()
	planned.ID, planned.DID, planned.Status = types.StringUnknown(), types.StringUnknown(), types.StringUnknown()
	return map[string]serverIdentityModel{"null": null, "unknown": unknown, "created": created, "planned": planned}
}

func identityCodecForTest(t testing.TB) (*objectCodec[serverIdentityModel], schema.Schema) {
	t.Helper()
	s := serverIdentitySchema(context.Background())
	c, err := newObjectCodec[serverIdentityModel](context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

// TestObjectCodec_AgreesWithFramework: the codec writes the value the
// framework's State.Set writes for the same struct, and reads back the struct
// the framework's Get reads.
func TestObjectCodec_AgreesWithFramework(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, s := identityCodecForTest(t)
	typ := s.Type().TerraformType(ctx)
	for name, m := range codecModels(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			framework := tfsdk.State{Schema: s, Raw: tftypes.NewValue(typ, nil)}
			if diags := framework.Set(ctx, &m); diags.HasError() {
				t.Fatalf("framework Set: %v", diags)
			}
			ours := tfsdk.State{Schema: s, Raw: tftypes.NewValue(typ, nil)}
			if diags := c.set(ctx, &ours, &m); diags.HasError() {
				t.Fatalf("codec set: %v", diags)
			}
			if !ours.Raw.Equal(framework.Raw) {
				t.Fatalf("codec wrote\n%s\nframework wrote\n%s", ours.Raw, framework.Raw)
			}
			var viaFramework, viaCodec serverIdentityModel
			if diags := framework.Get(ctx, &viaFramework); diags.HasError() {
				t.Fatalf("framework Get: %v", diags)
			}
			if diags := c.get(ctx, framework.Raw, &viaCodec); diags.HasError() {
				t.Fatalf("codec get: %v", diags)
			}
			if !reflect.DeepEqual(viaCodec, viaFramework) || !viaCodec.equal(m) {
				t.Fatalf("codec read %+v\nframework read %+v", viaCodec, viaFramework)
			}
		})
	}
}

// TestObjectCodec_RefusesMismatchedModels: a model that does not fit the
// schema is refused when the codec is built, not on a user's apply.
func TestObjectCodec_RefusesMismatchedModels(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := schema.Schema{Attributes: map[string]schema.Attribute{
		"name":  schema.StringAttribute{Optional: true},
		"count": schema.Int64Attribute{Optional: true},
	}}
	type fits struct {
		Name  types.String `tfsdk:"name"`
		Count types.Int64  `tfsdk:"count"`
		Notes string       `tfsdk:"-"`
	}
	type wrongType struct {
		Name  types.String `tfsdk:"name"`
		Count types.String `tfsdk:"count"`
	}
	type missing struct {
		Name types.String `tfsdk:"name"`
	}
	type extra struct {
		Name  types.String `tfsdk:"name"`
		Count types.Int64  `tfsdk:"count"`
		Other types.String `tfsdk:"other"`
	}
	if _, err := newObjectCodec[fits](ctx, s); err != nil {
		t.Fatalf("a fitting model was refused: %v", err)
	}
	for name, err := range map[string]error{
		"wrong type": second(newObjectCodec[wrongType](ctx, s)),
		"missing":    second(newObjectCodec[missing](ctx, s)),
		"extra":      second(newObjectCodec[extra](ctx, s)),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := second(newObjectCodec[wrongType](ctx, s)); err == nil || !strings.Contains(err.Error(), "Count") {
		t.Errorf("the error does not name the field: %v", err)
	}
}

// TestObjectCodec_RefusesWrongValues: a value the schema's type cannot hold
// (a map of another element type) and data of another type are errors on
// the attribute, never a panic.
func TestObjectCodec_RefusesWrongValues(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, _ := identityCodecForTest(t)
	m := codecModels(t)["created"]
	m.Env = types.MapNull(types.Int64Type)
	if _, diags := c.value(ctx, &m); !diags.HasError() || !strings.Contains(diags[0].Detail(), "Map[tftypes.Number]") {
		t.Errorf("a map of numbers was written: %v", diags)
	}
	var out serverIdentityModel
	if diags := c.get(ctx, tftypes.NewValue(tftypes.String, "x"), &out); !diags.HasError() {
		t.Error("a string was read as an identity")
	}
	typ := c.typ
	if diags := c.get(ctx, tftypes.NewValue(typ, nil), &out); !diags.HasError() {
		t.Error("a null object was read as an identity")
	}
}

func second[A, B any](_ A, b B) B { return b }

// BenchmarkModelConversion compares one read and one write of a created
// identity through the framework's reflection and through the codec.
func BenchmarkModelConversion(b *testing.B) {
	ctx := context.Background()
	c, s := identityCodecForTest(b)
	m := codecModels(b)["created"]
	typ := s.Type().TerraformType(ctx)
	b.Run("framework", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			st := tfsdk.State{Schema: s, Raw: tftypes.NewValue(typ, nil)}
			_ = st.Set(ctx, &m)
			var out serverIdentityModel
			_ = st.Get(ctx, &out)
		}
	})
	b.Run("codec", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			st := tfsdk.State{Schema: s, Raw: tftypes.NewValue(typ, nil)}
			_ = c.set(ctx, &st, &m)
			var out serverIdentityModel
			_ = c.get(ctx, st.Raw, &out)
		}
	})
}
