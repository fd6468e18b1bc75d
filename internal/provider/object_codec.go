package provider

import (
	"context"
	"fmt"
	"reflect"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// objectCodec converts a resource's model struct to and from the
// tftypes.Value of its schema, as tfsdk.Plan/State Get and Set do with a
// struct, but with the struct's layout worked out once instead of on every
// call.
//
// Why: the framework (v1.19) reads a struct's tfsdk tags on every Get and
// Set and compiles a regular expression for each tag while doing so
// (https://github.com/hashicorp/terraform-plugin-framework/issues/725, open
// since 2023), then walks a path per field (each step copies the schema's
// attribute map). A profile of an apply of 300 identities on remote state put a fifth of the
// provider's CPU there: the model has 25 attributes and an apply converts it
// about six times per identity. The codec keeps the framework's own value
// types and conversions (attr.Type.ValueFromTerraform, attr.Value
// ToTerraformValue) and hands the framework a tftypes.Value, which Set
// accepts as it is after checking its type.
//
// TestObjectCodec_AgreesWithFramework holds it to the framework's result for
// null, unknown and known values of every attribute.
type objectCodec[T any] struct {
	typ    tftypes.Object
	fields []codecField
}

type codecField struct {
	name  string
	index int
	typ   attr.Type
	tf    tftypes.Type
}

// newObjectCodec maps the tfsdk-tagged fields of T onto the attributes and
// blocks of s. Every attribute needs a field of the framework value type the
// schema gives it, and every field an attribute: anything else is a bug in
// this provider, which the first conversion reports (identityCodec panics
// with the reason), so every test that plans an identity catches it before
// a release does.
func newObjectCodec[T any](ctx context.Context, s schema.Schema) (*objectCodec[T], error) {
	objType, ok := s.Type().TerraformType(ctx).(tftypes.Object)
	if !ok {
		return nil, fmt.Errorf("schema type is %s, not an object", s.Type().TerraformType(ctx))
	}
	c := &objectCodec[T]{typ: objType}
	rt := reflect.TypeFor[T]()
	for i := range rt.NumField() {
		f := rt.Field(i)
		name := f.Tag.Get("tfsdk")
		if name == "" || name == "-" {
			continue
		}
		typ, diags := s.TypeAtPath(ctx, path.Root(name))
		if diags.HasError() {
			return nil, fmt.Errorf("field %s: no attribute %q in the schema", f.Name, name)
		}
		if want := reflect.TypeOf(typ.ValueType(ctx)); f.Type != want {
			return nil, fmt.Errorf("field %s (%q) is a %s, the schema's value type is %s", f.Name, name, f.Type, want)
		}
		c.fields = append(c.fields, codecField{name: name, index: i, typ: typ, tf: objType.AttributeTypes[name]})
	}
	if len(c.fields) != len(objType.AttributeTypes) {
		return nil, fmt.Errorf("%s has %d tagged fields for %d schema attributes", rt, len(c.fields), len(objType.AttributeTypes))
	}
	return c, nil
}

// get reads raw (a plan, state or configuration) into target, as
// tfsdk.Plan.Get does.
func (c *objectCodec[T]) get(ctx context.Context, raw tftypes.Value, target *T) diag.Diagnostics {
	var diags diag.Diagnostics
	if !raw.Type().Equal(c.typ) {
		diags.AddError("Value Conversion Error", fmt.Sprintf("An unexpected error was encountered reading the resource's "+
			"data. This is always an error in the provider; please report it.\n\nThe data is a %s, not the schema's object type.", raw.Type()))
		return diags
	}
	var values map[string]tftypes.Value
	if err := raw.As(&values); err != nil || raw.IsNull() || !raw.IsKnown() {
		diags.AddError("Value Conversion Error", "An unexpected error was encountered reading the resource's data. This is "+
			"always an error in the provider; please report it.\n\nThe data is null or unknown, or unreadable as an object.")
		return diags
	}
	rv := reflect.ValueOf(target).Elem()
	for _, f := range c.fields {
		v, err := f.typ.ValueFromTerraform(ctx, values[f.name])
		if err != nil {
			diags.AddAttributeError(path.Root(f.name), "Value Conversion Error",
				"An unexpected error was encountered reading this attribute. This is always an error in the provider; please report it.\n\n"+err.Error())
			return diags
		}
		rv.Field(f.index).Set(reflect.ValueOf(v))
	}
	return diags
}

// value is m as the schema's object: what tfsdk.State.Set makes of a struct.
func (c *objectCodec[T]) value(ctx context.Context, m *T) (tftypes.Value, diag.Diagnostics) {
	var diags diag.Diagnostics
	rv := reflect.ValueOf(m).Elem()
	values := make(map[string]tftypes.Value, len(c.fields))
	for _, f := range c.fields {
		av, ok := rv.Field(f.index).Interface().(attr.Value)
		if !ok { // newObjectCodec checked the field's type: never
			diags.AddAttributeError(path.Root(f.name), "Value Conversion Error", "This is always an error in the provider; please report it.")
			return tftypes.Value{}, diags
		}
		v, err := av.ToTerraformValue(ctx)
		if err == nil && !v.Type().Equal(f.tf) {
			err = fmt.Errorf("the value is a %s, the schema's type is %s", v.Type(), f.tf)
		}
		if err != nil {
			diags.AddAttributeError(path.Root(f.name), "Value Conversion Error",
				"An unexpected error was encountered writing this attribute. This is always an error in the provider; please report it.\n\n"+err.Error())
			return tftypes.Value{}, diags
		}
		values[f.name] = v
	}
	return tftypes.NewValue(c.typ, values), diags
}

// objectSetter is a plan or a state.
type objectSetter interface {
	Set(context.Context, any) diag.Diagnostics
}

// set writes m into target (a plan or state), as target.Set(ctx, m) does.
func (c *objectCodec[T]) set(ctx context.Context, target objectSetter, m *T) diag.Diagnostics {
	v, diags := c.value(ctx, m)
	if diags.HasError() {
		return diags
	}
	return target.Set(ctx, v)
}
