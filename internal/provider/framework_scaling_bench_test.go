package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/capiscio/terraform-provider-capiscio/internal/cpuprofile"
)

// BenchmarkFrameworkPlanBySchemaSize measures what the plugin framework
// itself spends on a no-change plan of one resource (UpgradeResourceState,
// ReadResource, PlanResourceChange: what Terraform sends for each resource in
// a plan or before a destroy), for a resource that does nothing, by the
// number of its attributes. hashicorp/tls's tls_private_key has 11,
// capiscio_server_identity 25 and a timeouts block. The framework walks
// every attribute several times per RPC (and copies the schema's attribute
// map at every step of each walk), so its cost grows with the attribute
// count: on 2026-12-02, 0.6 to 1.0 ms for 11 and 1.8 to 2.1 ms for 25 per
// resource in several runs, the difference always 1.1 ms, which is what a
// no-change plan of 1,000 identities costs more per identity than one of
// 1,000 tls_private_key on remote state. A timeouts block (unset, as in most
// configurations) adds nothing measurable. No code of this provider runs
// here.
//
// Run it alone with go test -run '^$' -bench FrameworkPlanBySchemaSize ./internal/provider (make bench-go runs it).
func BenchmarkFrameworkPlanBySchemaSize(b *testing.B) {
	for _, c := range []struct {
		n        int
		timeouts bool
	}{{11, false}, {25, false}, {25, true}} {
		name := fmt.Sprintf("attributes=%d", c.n)
		if c.timeouts {
			name += "+timeouts"
		}
		b.Run(name, func(b *testing.B) {
			n := c.n
			ctx := context.Background()
			srv := providerserver.NewProtocol6(&scalingProvider{n: n, timeouts: c.timeouts})()
			_, err := srv.ConfigureProvider(ctx, &tfprotov6.ConfigureProviderRequest{
				Config: dynamicValue(b, tftypes.Object{}, tftypes.NewValue(tftypes.Object{}, map[string]tftypes.Value{})),
			})
			if err != nil {
				b.Fatal(err)
			}
			typ := scalingSchema(n, c.timeouts).Type().TerraformType(ctx).(tftypes.Object)
			state := map[string]tftypes.Value{}
			config := map[string]tftypes.Value{}
			for i := range n {
				name := fmt.Sprintf("a%02d", i)
				state[name] = tftypes.NewValue(tftypes.String, "value of "+name)
				config[name] = tftypes.NewValue(tftypes.String, nil) // computed: unset in configuration
			}
			if c.timeouts { // no timeouts block in the configuration, as in most
				state["timeouts"] = tftypes.NewValue(typ.AttributeTypes["timeouts"], nil)
				config["timeouts"] = state["timeouts"]
			}
			stateJSON, err := stateJSONOf(typ, state)
			if err != nil {
				b.Fatal(err)
			}
			stateDV := dynamicValue(b, typ, tftypes.NewValue(typ, state))
			configDV := dynamicValue(b, typ, tftypes.NewValue(typ, config))
			start := cpuprofile.ProcessCPU()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				up, err := srv.UpgradeResourceState(ctx, &tfprotov6.UpgradeResourceStateRequest{
					TypeName: "scaling_thing", Version: 0, RawState: &tfprotov6.RawState{JSON: stateJSON},
				})
				mustNoDiags(b, err, up.Diagnostics)
				read, err := srv.ReadResource(ctx, &tfprotov6.ReadResourceRequest{TypeName: "scaling_thing", CurrentState: up.UpgradedState})
				mustNoDiags(b, err, read.Diagnostics)
				plan, err := srv.PlanResourceChange(ctx, &tfprotov6.PlanResourceChangeRequest{
					TypeName: "scaling_thing", PriorState: read.NewState, ProposedNewState: stateDV, Config: configDV,
				})
				mustNoDiags(b, err, plan.Diagnostics)
			}
			reportCPU(b, start)
		})
	}
}

func stateJSONOf(typ tftypes.Object, vals map[string]tftypes.Value) ([]byte, error) {
	out := []byte("{")
	first := true
	for name := range typ.AttributeTypes {
		if !first {
			out = append(out, ',')
		}
		first = false
		if vals[name].IsNull() {
			out = fmt.Appendf(out, "%q:null", name)
			continue
		}
		var s string
		if err := vals[name].As(&s); err != nil {
			return nil, err
		}
		out = fmt.Appendf(out, "%q:%q", name, s)
	}
	return append(out, '}'), nil
}

// scalingSchema is a resource of n computed string attributes that keep
// their state value, the commonest shape of a provider's exported attributes,
// and optionally a timeouts block.
func scalingSchema(n int, withTimeouts bool) schema.Schema {
	attrs := make(map[string]schema.Attribute, n)
	for i := range n {
		attrs[fmt.Sprintf("a%02d", i)] = schema.StringAttribute{
			Optional: true, Computed: true,
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		}
	}
	s := schema.Schema{Attributes: attrs}
	if withTimeouts {
		s.Blocks = map[string]schema.Block{
			"timeouts": timeouts.Block(context.Background(), timeouts.Opts{Create: true, Read: true, Update: true, Delete: true}),
		}
	}
	return s
}

type scalingProvider struct {
	n        int
	timeouts bool
}

func (p *scalingProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "scaling"
}
func (p *scalingProvider) Schema(context.Context, provider.SchemaRequest, *provider.SchemaResponse) {}
func (p *scalingProvider) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {
}
func (p *scalingProvider) DataSources(context.Context) []func() datasource.DataSource { return nil }
func (p *scalingProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{func() resource.Resource { return &scalingResource{n: p.n, timeouts: p.timeouts} }}
}

// scalingResource does nothing: Read keeps the state as it is.
type scalingResource struct {
	n        int
	timeouts bool
}

func (r *scalingResource) Metadata(_ context.Context, _ resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = "scaling_thing"
}
func (r *scalingResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = scalingSchema(r.n, r.timeouts)
}
func (r *scalingResource) Create(context.Context, resource.CreateRequest, *resource.CreateResponse) {}
func (r *scalingResource) Read(context.Context, resource.ReadRequest, *resource.ReadResponse)       {}
func (r *scalingResource) Update(context.Context, resource.UpdateRequest, *resource.UpdateResponse) {}
func (r *scalingResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {}
