// Package provider is the Terraform framework glue of terraform-provider-capiscio:
// schemas, plan modifiers, CRUD methods built from named steps. Key logic lives
// in internal/keys and the registry protocol in internal/registry.
package provider

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/list"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/capiscio/terraform-provider-capiscio/internal/clock"
	"github.com/capiscio/terraform-provider-capiscio/internal/duration"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
)

// Environment variables the provider block falls back to.
const (
	EnvRegistryURL       = "CAPISCIO_REGISTRY_URL"
	EnvServerURL         = "CAPISCIO_SERVER_URL" // the runtime SDK's name, second choice
	EnvAPIKey            = "CAPISCIO_API_KEY"
	defaultTimeout       = 30 * time.Second
	defaultMaxRetries    = 4
	maxMaxRetries        = 10
	maxRequestTimeout    = 10 * time.Minute
	providerTypeName     = "capiscio"
	providerUserAgentFmt = "terraform-provider-capiscio/%s"
)

var (
	_ provider.Provider                       = (*capiscioProvider)(nil)
	_ provider.ProviderWithEphemeralResources = (*capiscioProvider)(nil)
	_ provider.ProviderWithFunctions          = (*capiscioProvider)(nil)
	_ provider.ProviderWithActions            = (*capiscioProvider)(nil)
	_ provider.ProviderWithListResources      = (*capiscioProvider)(nil)
)

// New returns the provider factory used by main.go.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &capiscioProvider{version: version, clock: clock.Real{}}
	}
}

// NewWithClock returns a provider factory whose resources read time from c
// (tests move a clock.Fake instead of sleeping).
func NewWithClock(version string, c clock.Clock) func() provider.Provider {
	return func() provider.Provider {
		return &capiscioProvider{version: version, clock: c}
	}
}

type capiscioProvider struct {
	version string
	clock   clock.Clock
}

// providerData is what Configure hands to every resource and data source.
type providerData struct {
	client      *registry.Client
	registryURL string
	clock       clock.Clock
	serials     *keySerials
	// reader serves refreshes, batching them into list calls in large runs.
	reader *registry.BatchReader
}

type providerModel struct {
	RegistryURL    types.String `tfsdk:"registry_url"`
	APIKey         types.String `tfsdk:"api_key"`
	RequestTimeout types.String `tfsdk:"request_timeout"`
	MaxRetries     types.Int64  `tfsdk:"max_retries"`
}

func (p *capiscioProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = providerTypeName
	resp.Version = p.version
}

func (p *capiscioProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The CapiscIO provider declares MCP server identities: an Ed25519 key registered " +
			"with the CapiscIO registry, the `did:web` DID the registry assigns, and a first trust badge. " +
			"It hands the private key on, as a sensitive or write-only value, to the secret store your " +
			"MCP server reads `CAPISCIO_SERVER_PRIVATE_KEY_PEM` from.",
		Attributes: map[string]schema.Attribute{
			"registry_url": schema.StringAttribute{
				MarkdownDescription: "Base URL of the CapiscIO registry (default: `" + protocol.DefaultBaseURL + "`). " +
					"Falls back to the `" + EnvRegistryURL + "` environment variable, then `" + EnvServerURL + "`. " +
					"Must be an absolute `https://` URL with no query or fragment; plain `http://` is accepted only " +
					"for a loopback host such as the local registry. A trailing `/` is ignored.",
				Optional:   true,
				Validators: []validator.String{registryURLValidator()},
			},
			"api_key": schema.StringAttribute{
				MarkdownDescription: "Registry API key, sent in the `" + protocol.HeaderAPIKey + "` header. Falls back " +
					"to the `" + EnvAPIKey + "` environment variable. Needed only by operations that call the registry; " +
					"never logged and never stored in state.",
				Optional:   true,
				Sensitive:  true,
				Validators: []validator.String{notBlankValidator()},
			},
			"request_timeout": schema.StringAttribute{
				MarkdownDescription: "Timeout of each HTTP request to the registry, as a duration such as `30s` " +
					"(default: `30s`, at most `10m`). Retries get a fresh timeout each.",
				Optional:   true,
				Validators: []validator.String{durationValidator(0, maxRequestTimeout)},
			},
			"max_retries": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("How many times a request is retried after HTTP 429, a 5xx reply or a "+
					"network error, with capped exponential backoff and jitter that honours `Retry-After` "+
					"(default: `%d`, between `0` and `%d`).", defaultMaxRetries, maxMaxRetries),
				Optional:   true,
				Validators: []validator.Int64{int64validator.Between(0, maxMaxRetries)},
			},
		},
	}
}

func (p *capiscioProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	settings, diags := p.resolveSettings(cfg)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	client, err := registry.New(registry.Config{
		BaseURL:        settings.registryURL,
		APIKey:         settings.apiKey,
		RequestTimeout: settings.requestTimeout,
		MaxRetries:     settings.maxRetries,
		UserAgent:      fmt.Sprintf(providerUserAgentFmt, p.version) + " " + req.TerraformVersion,
	})
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("registry_url"), "Invalid CapiscIO Registry URL", err.Error())
		return
	}
	tflog.Debug(ctx, "Configured CapiscIO registry client", map[string]any{
		"registry_url": settings.registryURL, "api_key_set": settings.apiKey != "",
		"request_timeout": settings.requestTimeout.String(), "max_retries": settings.maxRetries,
	})
	data := &providerData{client: client, registryURL: settings.registryURL, clock: p.clock, serials: &keySerials{}, reader: registry.NewBatchReader(client)}
	resp.ResourceData = data
	resp.DataSourceData = data
	resp.EphemeralResourceData = data
	resp.ActionData = data
	resp.ListResourceData = data
}

type providerSettings struct {
	registryURL    string
	apiKey         string
	requestTimeout time.Duration
	maxRetries     int
}

// resolveSettings merges the provider block with the environment and checks
// what only Configure can check (unknown values, values from env vars).
func (p *capiscioProvider) resolveSettings(cfg providerModel) (providerSettings, diag.Diagnostics) {
	var diags diag.Diagnostics
	for name, v := range map[string]interface{ IsUnknown() bool }{
		"registry_url": cfg.RegistryURL, "api_key": cfg.APIKey, "request_timeout": cfg.RequestTimeout, "max_retries": cfg.MaxRetries,
	} {
		if v.IsUnknown() {
			diags.AddAttributeError(path.Root(name), "Unknown CapiscIO Provider Setting",
				fmt.Sprintf("The provider cannot be configured because %q is not known until apply. Set it from a value known at plan time "+
					"(a literal, a variable or an environment variable).", name))
		}
	}
	if diags.HasError() {
		return providerSettings{}, diags
	}
	s := providerSettings{requestTimeout: defaultTimeout, maxRetries: defaultMaxRetries}

	rawURL, source := cfg.RegistryURL.ValueString(), "registry_url"
	if cfg.RegistryURL.IsNull() {
		rawURL, source = firstEnv(EnvRegistryURL, EnvServerURL)
		if rawURL == "" {
			rawURL, source = protocol.DefaultBaseURL, "default"
		}
	}
	u, err := registry.NormalizeBaseURL(rawURL)
	if err != nil {
		diags.AddAttributeError(path.Root("registry_url"), "Invalid CapiscIO Registry URL",
			fmt.Sprintf("The registry URL from %s is not usable: %s.", describeSource(source), err))
	}
	s.registryURL = u

	s.apiKey = cfg.APIKey.ValueString()
	if cfg.APIKey.IsNull() {
		s.apiKey = os.Getenv(EnvAPIKey)
	}
	if !cfg.RequestTimeout.IsNull() {
		// The validator has already checked the value.
		s.requestTimeout, _ = duration.Parse(cfg.RequestTimeout.ValueString())
	}
	if !cfg.MaxRetries.IsNull() {
		s.maxRetries = int(cfg.MaxRetries.ValueInt64())
	}
	return s, diags
}

func firstEnv(names ...string) (value, name string) {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v, n
		}
	}
	return "", ""
}

func describeSource(source string) string {
	switch source {
	case "registry_url":
		return "the registry_url argument"
	case "default":
		return "the default"
	default:
		return "the " + source + " environment variable"
	}
}

func (p *capiscioProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewServerIdentityResource,
	}
}

// EphemeralResources lists the ephemeral resources (Terraform >= 1.10).
func (p *capiscioProvider) EphemeralResources(_ context.Context) []func() ephemeral.EphemeralResource {
	return []func() ephemeral.EphemeralResource{
		NewServerKeyEphemeralResource,
		NewServerBadgeEphemeralResource,
	}
}

func (p *capiscioProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewServerIdentityDataSource,
	}
}

// ListResources lists the list resources (terraform query, Terraform >= 1.14).
func (p *capiscioProvider) ListResources(_ context.Context) []func() list.ListResource {
	return []func() list.ListResource{
		NewServerIdentityListResource,
	}
}

// Functions lists the provider-defined functions (Terraform >= 1.8). They are
// pure and offline: they never call the registry.
func (p *capiscioProvider) Functions(_ context.Context) []func() function.Function {
	return []func() function.Function{
		NewDIDDocumentURLFunction,
		NewDIDKeyFunction,
		NewBadgeClaimsFunction,
		NewPEMEnvFunction,
		NewPublicKeyJWKFunction,
	}
}

// Actions lists the actions (Terraform >= 1.14): operations run on demand
// (-invoke) or by an action_trigger, which change the registry, never state.
func (p *capiscioProvider) Actions(_ context.Context) []func() action.Action {
	return []func() action.Action{
		NewBadgeRevokeAction,
		NewServerDisableAction,
		NewServerEnableAction,
		NewServerVerifyAction,
	}
}

// providerDataFrom does the checked cast every Configure needs.
func providerDataFrom(data any, diags *diag.Diagnostics) *providerData {
	if data == nil {
		return nil
	}
	pd, ok := data.(*providerData)
	if !ok {
		diags.AddError("Unexpected Configure Type",
			fmt.Sprintf("Expected *provider.providerData, got: %T. Please report this issue to the provider developers.", data))
		return nil
	}
	return pd
}
