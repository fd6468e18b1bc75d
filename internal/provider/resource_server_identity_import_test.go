package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// TestServerIdentity_ImportWarning calls ImportState directly: the harness
// cannot see warnings, and the warning is the user's only hint that the
// private key stays null and how to get one.
func TestServerIdentity_ImportWarning(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := NewServerIdentityResource().(*serverIdentityResource)
	var sr resource.SchemaResponse
	r.Schema(ctx, resource.SchemaRequest{}, &sr)
	empty := tftypes.NewValue(sr.Schema.Type().TerraformType(ctx), nil)

	cases := map[string]struct {
		id      string
		wantErr bool
	}{
		"uuid":     {id: "550e8400-e29b-41d4-a716-446655440000"},
		"not uuid": {id: "my-server", wantErr: true},
		"empty":    {id: "", wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resp := resource.ImportStateResponse{State: tfsdk.State{Schema: sr.Schema, Raw: empty}}
			r.ImportState(ctx, resource.ImportStateRequest{ID: tc.id}, &resp)
			if tc.wantErr {
				if !resp.Diagnostics.HasError() {
					t.Fatalf("import of %q succeeded", tc.id)
				}
				return
			}
			if resp.Diagnostics.HasError() || resp.Diagnostics.WarningsCount() != 1 {
				t.Fatalf("diagnostics = %v, want one warning", resp.Diagnostics)
			}
			w := resp.Diagnostics.Warnings()[0]
			for _, want := range []string{"private_key_pem", "-replace", tc.id, "leave the record in place"} {
				if !strings.Contains(w.Detail(), want) {
					t.Errorf("warning detail does not mention %q: %s", want, w.Detail())
				}
			}
		})
	}
}
