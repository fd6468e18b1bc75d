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

func nullOf(t *testing.T, v attr.Value) attr.Value {
	t.Helper()
	switch v.(type) {
	case types.String:
		return types.StringNull()
	case types.Int64:
		return types.Int64Null()
	case types.Bool:
		return types.BoolNull()
	case types.Map:
		return types.MapNull(types.StringType)
	case timeouts.Value:
		return timeouts.Value{Object: types.ObjectNull(timeoutsAttrTypes)}
	}
	t.Fatalf("no null value for %T", v)
	return nil
}

func unknownOf(t *testing.T, v attr.Value) attr.Value {
	t.Helper()
	switch v.(type) {
	case types.String:
		return types.StringUnknown()
	case types.Int64:
		return types.Int64Unknown()
	case types.Bool:
		return types.BoolUnknown()
	case types.Map:
		return types.MapUnknown(types.StringType)
	case timeouts.Value:
		return timeouts.Value{Object: types.ObjectUnknown(timeoutsAttrTypes)}
	}
	t.Fatalf("no unknown value for %T", v)
	return nil
}
