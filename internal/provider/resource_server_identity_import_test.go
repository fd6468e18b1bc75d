package provider

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"
)

// TestServerIdentity_ImportWarning calls ImportState directly: the harness
// cannot see warnings, and the warning is the user's only hint that the
// private key stays null and how to get one.
func TestServerIdentity_ImportWarning(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := NewServerIdentityResource().(*serverIdentityResource)
	var sr fwresource.SchemaResponse
	r.Schema(ctx, fwresource.SchemaRequest{}, &sr)
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
			resp := fwresource.ImportStateResponse{State: tfsdk.State{Schema: sr.Schema, Raw: empty}}
			r.ImportState(ctx, fwresource.ImportStateRequest{ID: tc.id}, &resp)
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

// TestServerIdentity_ResourceIdentity: every create stores the resource
// identity { server_id }, and an import block by identity brings in a record
// made elsewhere with an empty plan after it (Terraform and OpenTofu >= 1.12;
// older CLIs skip: they neither store nor accept an identity).
func TestServerIdentity_ResourceIdentity(t *testing.T) {
	reg := testRegistry(t)
	rec := outOfBandRecord(t, reg)
	cfg := testIdentityConfig(reg, fmt.Sprintf(`server_id = %q`, rec.ID))
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_12_0)},
		CheckDestroy: func(*terraform.State) error {
			if _, code := registryGet(t, reg, rec.ID); code != http.StatusOK {
				return fmt.Errorf("destroy deleted the record imported by identity (HTTP %d)", code)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				// What a user writes: an import block by identity.
				Config: cfg + fmt.Sprintf(`
import {
  to       = capiscio_server_identity.test
  identity = { server_id = %q }
}
`, rec.ID),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testAddr, plancheck.ResourceActionNoop),
					plancheck.ExpectKnownValue(testAddr, tfjsonpath.New("did"), knownvalue.StringExact(rec.DID)),
					plancheck.ExpectKnownValue(testAddr, tfjsonpath.New("did_key"), knownvalue.StringExact(rec.DIDKey)),
					plancheck.ExpectKnownValue(testAddr, tfjsonpath.New("private_key_pem"), knownvalue.Null()),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectIdentity(testAddr, map[string]knownvalue.Check{
						"server_id": knownvalue.StringExact(rec.ID),
					}),
					statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("public_key_pem"), knownvalue.StringExact(rec.PublicKey)),
				},
			},
			{
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
			},
			{
				// The harness's own round trip: remove, import again by the
				// identity in state, same values.
				Config:          cfg,
				ResourceName:    testAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithResourceIdentity,
			},
		},
	})
}

// TestServerIdentity_IdentityAfterCreate: a created identity's resource
// identity is its record's id, and it survives a rotation on a given record
// (same record, same identity).
func TestServerIdentity_IdentityAfterCreate(t *testing.T) {
	reg := testRegistry(t)
	rec := outOfBandRecord(t, reg)
	sameID := statecheck.CompareValue(compare.ValuesSame())
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_12_0)},
		Steps: []resource.TestStep{
			{
				Config: testIdentityConfig(reg, `name = "identity-created"`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectIdentityValueMatchesState(testAddr, tfjsonpath.New("server_id")),
				},
			},
			{
				Config: testIdentityConfig(reg, fmt.Sprintf("server_id = %q\n  rotation_triggers = { v = var.v }", rec.ID)) +
					"variable \"v\" { type = string }\n",
				ConfigVariables: config.Variables{"v": config.StringVariable("1")},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectIdentity(testAddr, map[string]knownvalue.Check{"server_id": knownvalue.StringExact(rec.ID)}),
					sameID.AddStateValue(testAddr, tfjsonpath.New("did")),
				},
			},
			{
				Config: testIdentityConfig(reg, fmt.Sprintf("server_id = %q\n  rotation_triggers = { v = var.v }", rec.ID)) +
					"variable \"v\" { type = string }\n",
				ConfigVariables: config.Variables{"v": config.StringVariable("2")},
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testAddr, plancheck.ResourceActionReplace),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectIdentity(testAddr, map[string]knownvalue.Check{"server_id": knownvalue.StringExact(rec.ID)}),
					sameID.AddStateValue(testAddr, tfjsonpath.New("did")),
				},
			},
		},
	})
}
