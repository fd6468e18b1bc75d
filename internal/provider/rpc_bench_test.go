package provider

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/capiscio/terraform-provider-capiscio/internal/cpuprofile"
	"github.com/capiscio/terraform-provider-capiscio/internal/gctune"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

// BenchmarkServerIdentity_CreateRPCs measures the provider's own work for one
// new identity, in process and without Terraform: the RPCs Terraform sends
// for it during an apply (ValidateResourceConfig, PlanResourceChange in the
// plan, again before applying, then ApplyResourceChange: a key generated, a
// record created and a badge issued and verified against the local registry
// over loopback HTTP). cpu-µs/op is the process's CPU per identity, the local
// registry's included (it runs in this process); -cpuprofile breaks it down
// (on 2026-12-02: the framework's RPC handling about 45%, its SchemaModifyPlan
// alone 19%; this provider's resource methods 8% with the registry client; the
// local registry 15%; the garbage collector most of the rest).
//
// Run it alone with go test -run '^$' -bench CreateRPCs ./internal/provider (make bench-go runs it).
func BenchmarkServerIdentity_CreateRPCs(b *testing.B) {
	ctx := context.Background()
	gctune.Start(os.Getenv) // as main does
	reg := registrytest.Start(b)
	srv := providerserver.NewProtocol6(New("bench")())()
	configureProviderServer(b, srv, reg)

	objType := serverIdentitySchema(ctx).Type().TerraformType(ctx).(tftypes.Object)
	config := nullObject(objType) // generate mode, every argument unset
	configDV := dynamicValue(b, objType, config)
	const typeName = "capiscio_server_identity"

	start := cpuprofile.ProcessCPU()
	b.ResetTimer()
	for b.Loop() {
		v, err := srv.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: typeName, Config: configDV})
		mustNoDiags(b, err, v.Diagnostics)
		var plan *tfprotov6.PlanResourceChangeResponse
		for range 2 { // Terraform plans a create twice: in the plan, and again before applying it
			plan, err = srv.PlanResourceChange(ctx, &tfprotov6.PlanResourceChangeRequest{
				TypeName: typeName, PriorState: dynamicValue(b, objType, tftypes.NewValue(objType, nil)),
				ProposedNewState: configDV, Config: configDV,
			})
			mustNoDiags(b, err, plan.Diagnostics)
		}
		applied, err := srv.ApplyResourceChange(ctx, &tfprotov6.ApplyResourceChangeRequest{
			TypeName: typeName, PriorState: dynamicValue(b, objType, tftypes.NewValue(objType, nil)),
			PlannedState: plan.PlannedState, Config: configDV, PlannedPrivate: plan.PlannedPrivate,
		})
		mustNoDiags(b, err, applied.Diagnostics)
	}
	reportCPU(b, start)
}

// BenchmarkServerIdentity_RefreshRPCs measures the provider's work for one
// existing identity in a no-change plan, in process: ReadResource (the record
// read from the local registry) and PlanResourceChange with the identity's
// state as prior and proposed state.
func BenchmarkServerIdentity_RefreshRPCs(b *testing.B) {
	ctx := context.Background()
	gctune.Start(os.Getenv) // as main does
	reg := registrytest.Start(b)
	srv := providerserver.NewProtocol6(New("bench")())()
	configureProviderServer(b, srv, reg)
	objType := serverIdentitySchema(ctx).Type().TerraformType(ctx).(tftypes.Object)
	configDV := dynamicValue(b, objType, nullObject(objType))
	const typeName = "capiscio_server_identity"
	plan, err := srv.PlanResourceChange(ctx, &tfprotov6.PlanResourceChangeRequest{
		TypeName: typeName, PriorState: dynamicValue(b, objType, tftypes.NewValue(objType, nil)), ProposedNewState: configDV, Config: configDV,
	})
	mustNoDiags(b, err, plan.Diagnostics)
	created, err := srv.ApplyResourceChange(ctx, &tfprotov6.ApplyResourceChangeRequest{
		TypeName: typeName, PriorState: dynamicValue(b, objType, tftypes.NewValue(objType, nil)),
		PlannedState: plan.PlannedState, Config: configDV, PlannedPrivate: plan.PlannedPrivate,
	})
	mustNoDiags(b, err, created.Diagnostics)

	start := cpuprofile.ProcessCPU()
	b.ResetTimer()
	for b.Loop() {
		read, err := srv.ReadResource(ctx, &tfprotov6.ReadResourceRequest{TypeName: typeName, CurrentState: created.NewState, Private: created.Private})
		mustNoDiags(b, err, read.Diagnostics)
		planned, err := srv.PlanResourceChange(ctx, &tfprotov6.PlanResourceChangeRequest{
			TypeName: typeName, PriorState: read.NewState, ProposedNewState: read.NewState, Config: configDV, PriorPrivate: read.Private,
		})
		mustNoDiags(b, err, planned.Diagnostics)
	}
	reportCPU(b, start)
}

// configureProviderServer configures srv for the local registry reg.
func configureProviderServer(b *testing.B, srv tfprotov6.ProviderServer, reg *registrytest.Registry) {
	b.Helper()
	ctx := context.Background()
	schemaResp, err := srv.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	mustNoDiags(b, err, schemaResp.Diagnostics)
	typ := schemaResp.Provider.ValueType().(tftypes.Object)
	vals := nullAttributes(typ)
	vals["registry_url"] = tftypes.NewValue(tftypes.String, reg.URL)
	vals["api_key"] = tftypes.NewValue(tftypes.String, reg.APIKey)
	resp, err := srv.ConfigureProvider(ctx, &tfprotov6.ConfigureProviderRequest{
		TerraformVersion: "1.11.4", Config: dynamicValue(b, typ, tftypes.NewValue(typ, vals)),
	})
	mustNoDiags(b, err, resp.Diagnostics)
}

// reportCPU reports the process's CPU per op since start as cpu-µs/op.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64((cpuprofile.ProcessCPU()-start).Microseconds())/float64(b.N), "cpu-µs/op")
}

func nullAttributes(typ tftypes.Object) map[string]tftypes.Value {
	vals := make(map[string]tftypes.Value, len(typ.AttributeTypes))
	for name, t := range typ.AttributeTypes {
		vals[name] = tftypes.NewValue(t, nil)
	}
	return vals
}

// nullObject is a known object whose attributes are all null: the
// configuration of a resource block with no arguments.
func nullObject(typ tftypes.Object) tftypes.Value { return tftypes.NewValue(typ, nullAttributes(typ)) }

func dynamicValue(b *testing.B, typ tftypes.Type, v tftypes.Value) *tfprotov6.DynamicValue {
	b.Helper()
	dv, err := tfprotov6.NewDynamicValue(typ, v)
	if err != nil {
		b.Fatal(err)
	}
	return &dv
}

func mustNoDiags(b *testing.B, err error, diags []*tfprotov6.Diagnostic) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range diags {
		if d.Severity == tfprotov6.DiagnosticSeverityError {
			b.Fatalf("%s: %s", d.Summary, d.Detail)
		}
	}
}
