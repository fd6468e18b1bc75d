package provider

import (
	"reflect"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// TestServerIdentityModelEqual checks that equal looks at every field: a
// difference in any one of them, whatever its type, makes the models differ.
// ModifyPlan and Read skip writing a plan or state that equal calls unchanged,
// so a field it missed would silently drop a change.
func TestServerIdentityModelEqual(t *testing.T) {
	t.Parallel()
	var base serverIdentityModel
	v := reflect.ValueOf(&base).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		null, ok := reflect.Zero(f.Type()).Interface().(attr.Value)
		if !ok {
			t.Fatalf("field %s is not an attr.Value", v.Type().Field(i).Name)
		}
		// Start from null values of each field's own type.
		f.Set(reflect.ValueOf(nullOf(t, null)))
	}
	if !base.equal(base) {
		t.Fatal("a model does not equal itself")
	}
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		changed := base
		cv := reflect.ValueOf(&changed).Elem().Field(i)
		cv.Set(reflect.ValueOf(unknownOf(t, cv.Interface().(attr.Value))))
		if base.equal(changed) || changed.equal(base) {
			t.Errorf("models that differ only in %s compare equal", name)
		}
	}
}

var timeoutsAttrTypes = map[string]attr.Type{
	"create": types.StringType, "read": types.StringType, "update": types.StringType, "delete": types.StringType,
}

// nullOf and unknownOf return a null or an unknown value of v's type.
func nullOf(t testing.TB, v attr.Value) attr.Value    { return valueOf(t, v, false) }
func unknownOf(t testing.TB, v attr.Value) attr.Value { return valueOf(t, v, true) }

func valueOf(t testing.TB, v attr.Value, unknown bool) attr.Value {
	t.Helper()
	pick := func(null, unk attr.Value) attr.Value {
		if unknown {
			return unk
		}
		return null
	}
	switch v.(type) {
	case types.String:
		return pick(types.StringNull(), types.StringUnknown())
	case types.Int64:
		return pick(types.Int64Null(), types.Int64Unknown())
	case types.Bool:
		return pick(types.BoolNull(), types.BoolUnknown())
	case types.Map:
		return pick(types.MapNull(types.StringType), types.MapUnknown(types.StringType))
	case timeouts.Value:
		return pick(timeouts.Value{Object: types.ObjectNull(timeoutsAttrTypes)}, timeouts.Value{Object: types.ObjectUnknown(timeoutsAttrTypes)})
	}
	t.Fatalf("no null or unknown value for %T", v)
	return nil
}
