package provider

import (
	"context"
	"fmt"
	"iter"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/list"
	"github.com/hashicorp/terraform-plugin-framework/list/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

var (
	_ list.ListResource              = (*serverIdentityListResource)(nil)
	_ list.ListResourceWithConfigure = (*serverIdentityListResource)(nil)
)

// serverListPageSize is the most records one list call asks for: the
// registry's largest page. A registry may send fewer; nextCursor says whether
// more follow.
const serverListPageSize = 1000

// NewServerIdentityListResource returns the capiscio_server_identity list
// resource (terraform query, Terraform >= 1.14).
func NewServerIdentityListResource() list.ListResource {
	return &serverIdentityListResource{}
}

type serverIdentityListResource struct {
	data *providerData
}

// serverIdentityListModel is the config block of a list
// "capiscio_server_identity" block, in schema order.
type serverIdentityListModel struct {
	NamePrefix types.String `tfsdk:"name_prefix"`
	Status     types.String `tfsdk:"status"`
}

func (l *serverIdentityListResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_server_identity"
}

func (l *serverIdentityListResource) ListResourceConfigSchema(_ context.Context, _ list.ListResourceSchemaRequest, resp *list.ListResourceSchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Lists the server records of the organisation of the provider's API key, including records " +
			"made outside Terraform (the dashboard, the runtime SDK, another workspace), for `terraform query` " +
			"(Terraform >= 1.14). Each result carries the resource identity `{ server_id }`, so " +
			"`terraform query -generate-config-out=FILE` writes an `import` block and a `capiscio_server_identity` " +
			"block per record. Filters are applied by the provider as it pages through the registry's list.",
		Attributes: map[string]schema.Attribute{
			"name_prefix": schema.StringAttribute{
				MarkdownDescription: "Only records whose name starts with this text (case-sensitive).",
				Optional:            true,
				Validators:          []validator.String{notBlankValidator(), nameValidator()},
			},
			"status": schema.StringAttribute{
				MarkdownDescription: "Only records with this status: `" + protocol.StatusActive + "` or `" +
					protocol.StatusDisabled + "`. Unset: both.",
				Optional:   true,
				Validators: []validator.String{stringvalidator.OneOf(protocol.StatusActive, protocol.StatusDisabled)},
			},
		},
	}
}

func (l *serverIdentityListResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	// Always perform a nil check: Configure runs before the provider is configured too.
	l.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

// List streams the organisation's records that pass the filters, page by
// page, and stops fetching once Terraform has as many results as it asked for.
func (l *serverIdentityListResource) List(ctx context.Context, req list.ListRequest, stream *list.ListResultsStream) {
	var cfg serverIdentityListModel
	diags := req.Config.Get(ctx, &cfg)
	if l.data == nil {
		diags.AddError("Provider Not Configured",
			"The capiscio provider was not configured before the list resource was used. This is always a bug in the provider; please report it.")
	}
	if diags.HasError() {
		stream.Results = list.ListResultsStreamDiagnostics(diags)
		return
	}
	ctx = maskSecrets(ctx, l.data.client)
	filter := serverFilter{namePrefix: cfg.NamePrefix.ValueString(), status: cfg.Status.ValueString()}
	tflog.Debug(ctx, "Listing server records", map[string]any{
		"name_prefix": filter.namePrefix, "status": filter.status, "limit": req.Limit, "include_resource": req.IncludeResource,
	})
	stream.Results = func(push func(list.ListResult) bool) {
		sent := int64(0)
		for s, err := range l.records(ctx, filter, req.Limit) {
			if err != nil {
				push(listError(l.data.registryURL, err))
				return
			}
			if !filter.matches(s) {
				continue
			}
			if !push(l.result(ctx, req, s)) {
				return
			}
			if sent++; req.Limit > 0 && sent >= req.Limit {
				return // enough: no further page is fetched
			}
		}
	}
}

// serverFilter is what a list block asks for; zero fields match everything.
type serverFilter struct {
	namePrefix string
	status     string
}

func (f serverFilter) matches(s *protocol.Server) bool {
	return strings.HasPrefix(s.Name, f.namePrefix) && (f.status == "" || recordStatus(s) == f.status)
}

// pageSize is how many records to ask for when want more results are
// needed: no more than that when every record is a result, else a full page.
func (f serverFilter) pageSize(want int64) int {
	if f == (serverFilter{}) && want > 0 && want < serverListPageSize {
		return int(want)
	}
	return serverListPageSize
}

// records yields the organisation's records in the registry's order,
// following nextCursor; the next page is fetched only when the consumer
// asks for more. A failed call yields its error and ends the sequence.
func (l *serverIdentityListResource) records(ctx context.Context, f serverFilter, limit int64) iter.Seq2[*protocol.Server, error] {
	return func(yield func(*protocol.Server, error) bool) {
		cursor, fetched := "", int64(0)
		for page := 1; ; page++ {
			servers, next, err := l.data.client.ListServers(ctx, cursor, f.pageSize(limit-fetched))
			if err != nil {
				yield(nil, fmt.Errorf("page %d: %w", page, err))
				return
			}
			tflog.Debug(ctx, "Fetched a page of server records", map[string]any{"page": page, "records": len(servers), "more": next != ""})
			for i := range servers {
				fetched++
				if !yield(&servers[i], nil) {
					return
				}
			}
			if next == "" || next == cursor {
				return
			}
			cursor = next
		}
	}
}

// result is one listed record: its identity, a display name, and, when
// Terraform asks for it, the state an import of the record produces.
func (l *serverIdentityListResource) result(ctx context.Context, req list.ListRequest, s *protocol.Server) list.ListResult {
	r := req.NewListResult(ctx)
	r.DisplayName = s.ID
	if s.Name != "" {
		r.DisplayName = s.Name + " (" + s.ID + ")"
	}
	r.Diagnostics.Append(r.Identity.Set(ctx, serverIdentityIdentityModel{ServerID: types.StringValue(s.ID)})...)
	if req.IncludeResource {
		r.Diagnostics.Append(importedState(ctx, r.Resource, s, l.data.registryURL)...)
	}
	return r
}

// listError is the result that ends a listing the registry did not answer.
func listError(registryURL string, err error) list.ListResult {
	var diags diag.Diagnostics
	addRegistryError(&diags, "Unable to List Server Identities",
		fmt.Sprintf("Listing the server records of the organisation at %s failed; the results before the failure were sent.", registryURL), err)
	return list.ListResult{Diagnostics: diags}
}
