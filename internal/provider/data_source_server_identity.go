package provider

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/url"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/capiscio/terraform-provider-capiscio/internal/did"
	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
)

var (
	_ datasource.DataSource                     = (*serverIdentityDataSource)(nil)
	_ datasource.DataSourceWithConfigure        = (*serverIdentityDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*serverIdentityDataSource)(nil)
)

// NewServerIdentityDataSource returns the capiscio_server_identity data source.
func NewServerIdentityDataSource() datasource.DataSource {
	return &serverIdentityDataSource{}
}

type serverIdentityDataSource struct {
	data *providerData
}

// serverIdentityDataSourceModel is the state of the data source, in schema order.
type serverIdentityDataSourceModel struct {
	ServerID     types.String `tfsdk:"server_id"`
	DID          types.String `tfsdk:"did"`
	ID           types.String `tfsdk:"id"`
	DIDKey       types.String `tfsdk:"did_key"`
	Name         types.String `tfsdk:"name"`
	Status       types.String `tfsdk:"status"`
	PublicKeyPEM types.String `tfsdk:"public_key_pem"`
	KeyID        types.String `tfsdk:"key_id"`
	Domain       types.String `tfsdk:"domain"`
	TrustLevel   types.String `tfsdk:"trust_level"`

	DIDDocumentURL                 types.String `tfsdk:"did_document_url"`
	DIDDocumentKeyID               types.String `tfsdk:"did_document_key_id"`
	DIDDocumentDIDKey              types.String `tfsdk:"did_document_did_key"`
	DIDDocumentServesRegisteredKey types.Bool   `tfsdk:"did_document_serves_registered_key"`
}

func (d *serverIdentityDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_server_identity"
}

func (d *serverIdentityDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Looks up an MCP server identity registered with the CapiscIO registry, by `server_id` or by " +
			"`did`, and exports its public side: the `did:web` DID, the registered key as PEM, `did:key` and key id, " +
			"its status and trust level. It needs no private material, so it suits configurations that only consume " +
			"an identity managed elsewhere (another workspace, the dashboard, the runtime SDK).\n\n" +
			"It also reads the server's public `did:web` document, the one verifiers resolve, and exports what it " +
			"publishes (`did_document_*`), so that a `check` block can assert after every plan and apply that the " +
			"document serves the identity's key and the record is active. The document is read on every read of the " +
			"data source, one request more; when it cannot be read, a warning says why and the lookup stands.\n\n" +
			"The record must belong to the organisation of the provider's API key: the registry answers records of " +
			"other organisations as not found.",
		Attributes: map[string]schema.Attribute{
			// Arguments: exactly one of them.
			"server_id": schema.StringAttribute{
				MarkdownDescription: "UUID of the server record to look up. Exactly one of `server_id` and `did` must be set; " +
					"the other is exported.",
				Optional:   true,
				Computed:   true,
				Validators: []validator.String{uuidValidator()},
			},
			"did": schema.StringAttribute{
				MarkdownDescription: "The `did:web` DID the registry assigned to the server, of the form " +
					"`did:web:<registry-host>:servers:<server-id>` (a port's colon written `%3A`). Exactly one of " +
					"`server_id` and `did` must be set; the other is exported. A DID of another registry than the " +
					"provider's is an error.",
				Optional:   true,
				Computed:   true,
				Validators: []validator.String{serverDIDValidator()},
			},

			// Exported attributes.
			"id": schema.StringAttribute{
				MarkdownDescription: "The server record's id (the same as `server_id`).",
				Computed:            true,
			},
			"did_key": schema.StringAttribute{
				MarkdownDescription: "`did:key:z6Mk...` of the registered public key; null when no key is registered yet.",
				Computed:            true,
			},
			"name": schema.StringAttribute{
				MarkdownDescription: "Display name of the server record.",
				Computed:            true,
			},
			"status": schema.StringAttribute{
				MarkdownDescription: "Status of the record: `" + protocol.StatusActive + "` or `" + protocol.StatusDisabled +
					"` (a disabled record gets no badges).",
				Computed: true,
			},
			"public_key_pem": schema.StringAttribute{
				MarkdownDescription: "The registered Ed25519 public key as an SPKI PEM; null when no key is registered yet.",
				Computed:            true,
			},
			"key_id": schema.StringAttribute{
				MarkdownDescription: "[RFC 7638](https://www.rfc-editor.org/rfc/rfc7638) JWK thumbprint of the registered " +
					"public key, as the resource exports it; null when no key is registered yet.",
				Computed: true,
			},
			"domain": schema.StringAttribute{
				MarkdownDescription: "The badge domain the registry has recorded for the server (the `domain` of the last " +
					"badge request that named one); null when it has none.",
				Computed: true,
			},
			"trust_level": schema.StringAttribute{
				MarkdownDescription: "Trust level the registry issues the server's badges at, as a string (`\"1\"` = " +
					"Registered); null when the registry does not say.",
				Computed: true,
			},
			"did_document_url": schema.StringAttribute{
				MarkdownDescription: "Where the provider read the server's DID document: the registry's `/servers/<id>/did.json`. " +
					"With `registry_url` set to the registry's public address (always so for the hosted registry) this is " +
					"where verifiers resolve `did`, as `provider::capiscio::did_document_url(did)` computes it.",
				Computed: true,
			},
			"did_document_key_id": schema.StringAttribute{
				MarkdownDescription: "Id of the verification method the DID document lists first, the one verifiers use, " +
					"such as `did:web:registry.capisc.io:servers:<id>#key-1`; null when the document could not be read.",
				Computed: true,
			},
			"did_document_did_key": schema.StringAttribute{
				MarkdownDescription: "`did:key:z6Mk...` of the key that verification method publishes; null when the document " +
					"could not be read. Compare it with `provider::capiscio::did_key(capiscio_server_identity.NAME.public_key_pem)` " +
					"to assert that verifiers get the key a `capiscio_server_identity` declares, even when another key was " +
					"registered on the record outside Terraform.",
				Computed: true,
			},
			"did_document_serves_registered_key": schema.BoolAttribute{
				MarkdownDescription: "True when the DID document is this record's (its `id` is `did`) and publishes the key the " +
					"record holds (`public_key_pem`). False when it publishes another key (a registry that has not caught up " +
					"with a rotation, a stale cache in front of it), when it could not be read (a warning says why), or when " +
					"the record holds no key.",
				Computed: true,
			},
		},
	}
}

func (d *serverIdentityDataSource) ConfigValidators(_ context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{
		datasourcevalidator.ExactlyOneOf(path.MatchRoot("server_id"), path.MatchRoot("did")),
	}
}

func (d *serverIdentityDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	// Always perform a nil check: Configure runs before the provider is configured too.
	d.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

// Read finds the record by id (taken from the DID when the DID is given),
// checks that a given DID is the record's own, and maps the record to state.
func (d *serverIdentityDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg serverIdentityDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if d.data == nil {
		resp.Diagnostics.AddError("Unconfigured CapiscIO Provider",
			"The capiscio provider was not configured before the data source was read. This is always a bug in the provider; please report it.")
		return
	}
	ctx = maskSecrets(ctx, d.data.client)

	lookup, diags := d.lookupFrom(cfg)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	tflog.Debug(ctx, "Reading server identity", map[string]any{"server_id": lookup.serverID, "did": lookup.did})
	server, diags := d.getServer(ctx, lookup)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	state, diags := serverToDataSourceModel(server)
	resp.Diagnostics.Append(diags...)
	resp.Diagnostics.Append(d.applyDIDDocument(ctx, server, &state)...)
	// Terraform requires configured values back unchanged: keep the user's
	// spelling (an upper-case UUID, a lower-case %3a).
	if !cfg.ServerID.IsNull() {
		state.ServerID = cfg.ServerID
	}
	if !cfg.DID.IsNull() {
		state.DID = cfg.DID
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// serverLookup is what the configuration asks for: an id, and the DID it was
// taken from when the lookup is by DID.
type serverLookup struct {
	serverID string
	did      string // "" for a lookup by server_id
	didHost  string // decoded host of did
}

func (d *serverIdentityDataSource) lookupFrom(cfg serverIdentityDataSourceModel) (serverLookup, diag.Diagnostics) {
	var diags diag.Diagnostics
	if !cfg.ServerID.IsNull() {
		return serverLookup{serverID: cfg.ServerID.ValueString()}, diags
	}
	host, id, err := did.ParseServerDID(cfg.DID.ValueString())
	if err != nil {
		// The validator reports this at plan time; a value known only at apply
		// reaches Read unchecked.
		diags.AddAttributeError(path.Root("did"), "Invalid Server DID", fmt.Sprintf("did: %s.", err))
		return serverLookup{}, diags
	}
	return serverLookup{serverID: id, did: cfg.DID.ValueString(), didHost: host}, diags
}

// getServer reads the record and, for a lookup by DID, checks that the DID
// is the one the registry assigned to it.
func (d *serverIdentityDataSource) getServer(ctx context.Context, l serverLookup) (*protocol.Server, diag.Diagnostics) {
	var diags diag.Diagnostics
	server, err := d.data.client.GetServer(ctx, l.serverID)
	switch {
	case registry.IsNotFound(err):
		diags.AddError("Server Identity Not Found", d.notFoundDetail(l))
		return nil, diags
	case err != nil:
		addRegistryError(&diags, "Unable to Read Server Identity",
			fmt.Sprintf("Reading server record %s from the registry at %s failed.", l.serverID, d.data.registryURL), err)
		return nil, diags
	}
	if l.did != "" && !sameServerDID(l, server.DID) {
		diags.AddAttributeError(path.Root("did"), "Server DID Belongs to Another Registry",
			fmt.Sprintf("The DID %s names server id %s, but the record with that id at %s has the DID %s. The DID belongs "+
				"to another registry (or another host name of this one): configure the provider's registry_url for the "+
				"registry that assigned it, or look the server up by server_id.", l.did, l.serverID, d.data.registryURL, server.DID))
		return nil, diags
	}
	return server, diags
}

// sameServerDID reports whether the registry's DID for the record is the
// DID looked up, allowing for the spellings that name the same server: host
// case and the case of percent-escapes.
func sameServerDID(l serverLookup, registryDID string) bool {
	if registryDID == l.did {
		return true
	}
	host, id, err := did.ParseServerDID(registryDID)
	return err == nil && strings.EqualFold(host, l.didHost) && strings.EqualFold(id, l.serverID)
}

// applyDIDDocument reads the record's public DID document and records what
// it publishes. A document that cannot be read is a warning, not an error:
// the lookup stands, and did_document_serves_registered_key is false.
func (d *serverIdentityDataSource) applyDIDDocument(ctx context.Context, s *protocol.Server, m *serverIdentityDataSourceModel) diag.Diagnostics {
	var diags diag.Diagnostics
	m.DIDDocumentURL = types.StringValue(d.data.client.DIDDocumentURL(s.ID))
	m.DIDDocumentKeyID, m.DIDDocumentDIDKey = types.StringNull(), types.StringNull()
	m.DIDDocumentServesRegisteredKey = types.BoolValue(false)
	published, err := d.data.client.PublishedKey(ctx, s.ID)
	if err != nil {
		diags.AddWarning("DID Document Not Readable",
			fmt.Sprintf("Reading the DID document of server record %s at %s failed, so did_document_key_id and did_document_did_key "+
				"are null and did_document_serves_registered_key is false. Verifiers that resolve %s may fail the same way: check "+
				"the registry's status and run the command again.\n\nRegistry error: %s", s.ID, m.DIDDocumentURL.ValueString(), s.DID, err))
		return diags
	}
	desc, err := keys.DescribePublic(published.Key)
	if err != nil {
		diags.AddWarning("DID Document Not Readable", fmt.Sprintf("The DID document of server record %s publishes an unusable key: %s", s.ID, err))
		return diags
	}
	registered, _ := registeredKey(s)
	serves := sameServerDID(serverLookup{serverID: s.ID, did: s.DID, didHost: didHostOf(s.DID)}, published.DID) &&
		registered != nil && registered.Equal(published.Key)
	m.DIDDocumentKeyID = stringOrNull(published.MethodID)
	m.DIDDocumentDIDKey = types.StringValue(desc.DIDKey)
	m.DIDDocumentServesRegisteredKey = types.BoolValue(serves)
	tflog.Debug(ctx, "Read the server's DID document", map[string]any{
		"server_id": s.ID, "did_document_key_id": published.MethodID, "did_document_serves_registered_key": serves,
	})
	return diags
}

// didHostOf is the decoded host of a server DID ("" when it is not one).
func didHostOf(serverDID string) string {
	host, _, _ := did.ParseServerDID(serverDID)
	return host
}

// notFoundDetail explains a 404: the id is wrong, the record was deleted, or
// it belongs to another organisation (the registry answers 404, never 403, for another organisation's record).
func (d *serverIdentityDataSource) notFoundDetail(l serverLookup) string {
	what := "server_id " + l.serverID
	if l.did != "" {
		what = "did " + l.did + " (server id " + l.serverID + ")"
	}
	detail := fmt.Sprintf("The registry at %s has no server record for %s. Check the value, that the record was not "+
		"deleted, and that the provider's API key belongs to the organisation that owns the record: the registry "+
		"answers records of other organisations as not found.", d.data.registryURL, what)
	if l.did != "" {
		if u, err := url.Parse(d.data.registryURL); err == nil && u.Host != l.didHost {
			detail += fmt.Sprintf(" The DID names the host %s, but the provider is configured for %s: the DID was "+
				"probably assigned by another registry; set registry_url to that registry.", l.didHost, u.Host)
		}
	}
	return detail
}

// serverToDataSourceModel maps a record to state. The key comes from the
// record's publicKey, or its didKey when the registry sends no PEM.
func serverToDataSourceModel(s *protocol.Server) (serverIdentityDataSourceModel, diag.Diagnostics) {
	var diags diag.Diagnostics
	m := serverIdentityDataSourceModel{
		ServerID:     types.StringValue(s.ID),
		DID:          types.StringValue(s.DID),
		ID:           types.StringValue(s.ID),
		Name:         types.StringValue(s.Name),
		Status:       stringOrNull(s.Status),
		Domain:       stringOrNull(s.Domain),
		TrustLevel:   stringOrNull(s.TrustLevel),
		DIDKey:       types.StringNull(),
		PublicKeyPEM: types.StringNull(),
		KeyID:        types.StringNull(),
	}
	pub, err := registeredKey(s)
	if err != nil {
		diags.AddWarning("Unreadable Registered Key",
			fmt.Sprintf("Server record %s holds a public key the provider cannot read, so did_key, public_key_pem and "+
				"key_id are null. Register a new Ed25519 key for it (replace the capiscio_server_identity that manages it). "+
				"Error: %s", s.ID, err))
		return m, diags
	}
	if pub == nil {
		return m, diags
	}
	desc, err := keys.DescribePublic(pub)
	if err != nil {
		diags.AddWarning("Unreadable Registered Key", fmt.Sprintf("Server record %s: %s", s.ID, err))
		return m, diags
	}
	m.DIDKey = types.StringValue(desc.DIDKey)
	m.PublicKeyPEM = types.StringValue(desc.PEM)
	m.KeyID = types.StringValue(desc.KeyID)
	return m, diags
}

// registeredKey returns the record's key: from publicKey, else from didKey;
// nil, nil when the record has neither (no key registered yet).
func registeredKey(s *protocol.Server) (ed25519.PublicKey, error) {
	if s.PublicKey != "" {
		pub, err := keys.ParsePublicPEM(s.PublicKey)
		if err == nil || s.DIDKey == "" {
			return pub, err
		}
	}
	if s.DIDKey != "" {
		return keys.ParseDIDKey(s.DIDKey)
	}
	return nil, nil
}
