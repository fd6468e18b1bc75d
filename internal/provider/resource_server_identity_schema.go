package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// serverIdentitySchemaVersion is the version of the schema below. Version 0
// (the first contract) also stored the badge token and four more encodings of
// the key; upgradeStateV0 drops them.
const serverIdentitySchemaVersion = 1

// serverIdentitySchema is the schema of capiscio_server_identity. Attributes are
// grouped as arguments, then exported attributes; descriptions feed the docs.
//
// Every exported attribute costs state bytes in every resource, and Terraform
// rewrites the whole state after each resource it changes: what is stored is
// what a user needs, once (one private-key form, no stale badge token).
func serverIdentitySchema(ctx context.Context) schema.Schema {
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	return schema.Schema{
		Version: serverIdentitySchemaVersion,
		MarkdownDescription: "One MCP server's identity: an Ed25519 key, its registration in the CapiscIO registry, " +
			"the `did:web` DID the registry assigns, and the facts of a first trust badge.\n\n" +
			"The key comes from one of three places. In generate mode (the default) the provider creates it and the " +
			"private key is stored in the Terraform state (see the security notice). With `private_key_wo` it is given " +
			"at apply time, usually by the `capiscio_server_key` ephemeral resource, and never stored. With " +
			"`external_public_key_pem` only a public key generated elsewhere is registered. Rotate with " +
			"`terraform apply -replace=ADDRESS`, a change of `rotation_triggers` or `private_key_wo_version`, or " +
			"`rotate_after`.",
		Attributes: map[string]schema.Attribute{
			// Arguments.
			"server_id": schema.StringAttribute{
				MarkdownDescription: "UUID of a server record made in the CapiscIO dashboard. The provider registers the key " +
					"on it and, on destroy, leaves the record in place. Unset: the provider creates the record itself and " +
					"deletes it on destroy. Changing it forces a new identity.",
				Optional:      true,
				Computed:      true,
				Validators:    []validator.String{uuidValidator()},
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown(), stringplanmodifier.RequiresReplaceIfConfigured()},
			},
			"name": schema.StringAttribute{
				MarkdownDescription: "Display name of the server record; changes in place. Unset: a record the provider " +
					"creates gets the registry's default name (`MCP Server` and the start of its id), and a record given by " +
					"`server_id` keeps its name.",
				Optional:      true,
				Computed:      true,
				Validators:    []validator.String{notBlankValidator(), nameValidator()},
				PlanModifiers: keep,
			},
			"domain": schema.StringAttribute{
				MarkdownDescription: "Domain put in badges (`vc.credentialSubject.domain`); changes in place and gets a new " +
					"badge. Unset: derived from the registry URL as the runtime SDK does (the host, plus `:port` when the " +
					"port is not 80 or 443). A domain other than that default is also exported in `env` as `CAPISCIO_SERVER_DOMAIN`.",
				Optional:   true,
				Computed:   true,
				Validators: []validator.String{notBlankValidator(), domainValidator()},
			},
			"external_public_key_pem": schema.StringAttribute{
				MarkdownDescription: "Register a key generated elsewhere (a KMS, an HSM, the CLI): the SPKI PEM of an Ed25519 " +
					"public key. No private key is ever in state. Changing it to another key forces a new identity; " +
					"another spelling of the same key (CRLF line breaks, the one-line `\\n` form) is an in-place change of this " +
					"argument only, which calls no registry. Conflicts with `private_key_wo`.",
				Optional: true,
				Validators: []validator.String{
					publicKeyPEMValidator(),
					stringvalidator.ConflictsWith(path.MatchRoot("private_key_wo")),
				},
				PlanModifiers: []planmodifier.String{
					stringplanmodifier.RequiresReplaceIf(externalKeyChanged, "Registering another external key forces a new identity.",
						"Registering another external key forces a new identity."),
				},
			},
			"private_key_wo": schema.StringAttribute{
				MarkdownDescription: "Write-only: a PKCS#8 Ed25519 private key PEM (plain, or the one-line `\\n`-escaped form) " +
					"given at apply time, typically `ephemeral.capiscio_server_key.NAME.private_key_pem`. Its public half is " +
					"registered; the value is used only in the apply that creates the identity and is never stored in plan " +
					"or state. Requires `private_key_wo_version`; Terraform >= 1.11.",
				// Not Sensitive: a write-only value never reaches plan or state, so
				// the flag would protect nothing and only add a sensitive-path
				// entry to every resource's state.
				Optional:  true,
				WriteOnly: true,
				Validators: []validator.String{
					privateKeyPEMValidator(),
					stringvalidator.AlsoRequires(path.MatchRoot("private_key_wo_version")),
					stringvalidator.ConflictsWith(path.MatchRoot("external_public_key_pem")),
				},
			},
			"private_key_wo_version": schema.Int64Attribute{
				MarkdownDescription: "Version of the key given in `private_key_wo`. Terraform cannot see changes of a " +
					"write-only value, so bump this number to register a new write-only key (it forces a new identity). " +
					"`key_serial` is a good value to copy into the secret store's own write-only version.",
				Optional:      true,
				Validators:    []validator.Int64{int64validator.AlsoRequires(path.MatchRoot("private_key_wo"))},
				PlanModifiers: []planmodifier.Int64{int64planmodifier.RequiresReplace()},
			},
			"rotate_after": schema.StringAttribute{
				MarkdownDescription: "Rotate the key once it is older than this duration, such as `720h` or `90d`. When a " +
					"plan runs after that time, it shows a **replacement** (not a silent re-create), so dependants using " +
					"`replace_triggered_by` are replaced too. Changing this value alone changes nothing remote.",
				Optional:   true,
				Validators: []validator.String{durationValidator(time.Minute, 0)},
			},
			"rotation_triggers": schema.MapAttribute{
				MarkdownDescription: "Arbitrary map of values that, when changed, rotate the key: a new key is generated, " +
					"registered and given a new badge, and the registry revokes the old key's badges (the `keepers` idiom " +
					"of hashicorp/random).",
				ElementType:   types.StringType,
				Optional:      true,
				Validators:    []validator.Map{mapvalidator.SizeAtMost(64)},
				PlanModifiers: []planmodifier.Map{mapplanmodifier.RequiresReplace()},
			},
			"issue_badge": schema.BoolAttribute{
				MarkdownDescription: "Ask the registry for a first badge at create (default: `true`), verify it against the " +
					"registry's published keys, and record its facts (`badge_jti`, `badge_expires_at`, `trust_level`). The token " +
					"itself is never stored: it lives minutes, and the runtime SDK gets its own. Use the " +
					"`capiscio_server_badge` ephemeral resource when a run needs a badge. A failed or unverifiable badge does not " +
					"fail the apply: the identity is kept and a warning says why.",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(true),
			},

			// Exported attributes.
			"id": schema.StringAttribute{
				MarkdownDescription: "The server record's id (same as `server_id`).",
				Computed:            true,
				PlanModifiers:       keep,
			},
			"did": schema.StringAttribute{
				MarkdownDescription: "The `did:web` DID the registry assigned, e.g. `did:web:registry.capisc.io:servers:<id>`. " +
					"It is the `sub` of the server's badges.",
				Computed:      true,
				PlanModifiers: keep,
			},
			"did_key": schema.StringAttribute{
				MarkdownDescription: "The `did:key:z6Mk...` of the public key.",
				Computed:            true,
				PlanModifiers:       keep,
			},
			"key_id": schema.StringAttribute{
				MarkdownDescription: "RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key.",
				Computed:            true,
				PlanModifiers:       keep,
			},
			"public_key_pem": schema.StringAttribute{
				MarkdownDescription: "The public key as an SPKI PEM (`-----BEGIN PUBLIC KEY-----`).",
				Computed:            true,
				PlanModifiers:       keep,
			},
			"private_key_pem": schema.StringAttribute{
				MarkdownDescription: "The private key as an unencrypted PKCS#8 PEM (`" + keys.BlockPrivateKey + "`), in " +
					"generate mode only; null with `private_key_wo` or `external_public_key_pem`, and for an imported identity. " +
					"The one-line form that `CAPISCIO_SERVER_PRIVATE_KEY_PEM` takes is `env[\"CAPISCIO_SERVER_PRIVATE_KEY_PEM\"]`, " +
					"or `provider::capiscio::pem_env(private_key_pem)`.",
				Computed:      true,
				Sensitive:     true,
				PlanModifiers: keep,
			},
			"env": schema.MapAttribute{
				MarkdownDescription: "Environment for the MCP server, ready for a Lambda function, Cloud Run service or " +
					"Kubernetes container: `CAPISCIO_SERVER_ID`, `CAPISCIO_SERVER_URL`, `CAPISCIO_SERVER_DOMAIN` (when `domain` " +
					"differs from the one the runtime SDK derives from the URL by itself) and `CAPISCIO_SERVER_PRIVATE_KEY_PEM` " +
					"(when the provider holds the key). Never the API key: give the runtime that separately.",
				ElementType:   types.StringType,
				Computed:      true,
				Sensitive:     true,
				PlanModifiers: []planmodifier.Map{mapplanmodifier.UseStateForUnknown()},
			},
			"badge_jti": schema.StringAttribute{
				MarkdownDescription: "The `jti` of the first badge, recorded only once the badge verified; use it to look up " +
					"the badge's revocation status. Null when `issue_badge` is false or no verified badge was issued.",
				Computed:      true,
				PlanModifiers: keep,
			},
			"badge_expires_at": schema.StringAttribute{
				MarkdownDescription: "When the first badge expires (RFC 3339).",
				Computed:            true,
				PlanModifiers:       keep,
			},
			"trust_level": schema.StringAttribute{
				MarkdownDescription: "Trust level of the badge, as the registry states it (`1` = Registered).",
				Computed:            true,
				PlanModifiers:       keep,
			},
			"key_created_at": schema.StringAttribute{
				MarkdownDescription: "When the key was created or, for an external or imported key, registered (RFC 3339): " +
					"the real time, which `rotate_after` counts from.",
				Computed:      true,
				PlanModifiers: keep,
			},
			"key_serial": schema.Int64Attribute{
				MarkdownDescription: "Integer that is new with every new key of this resource, larger than the key " +
					"before, and fixed otherwise. Use it as `secret_string_wo_version`, `secret_data_wo_version` or " +
					"`data_wo_revision` so secret stores pick up a rotated key. It is its own number (today the unix " +
					"milliseconds of the key's creation, raised above any serial seen before), not a time to compute with: " +
					"use `key_created_at`.",
				Computed:      true,
				PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
			},
			"ready_for_rotation": schema.BoolAttribute{
				MarkdownDescription: "True when the key is older than `rotate_after`; the plan then replaces the identity.",
				Computed:            true,
			},
			"status": schema.StringAttribute{
				MarkdownDescription: "The record's status in the registry at the last refresh: `" + protocol.StatusActive +
					"` or `" + protocol.StatusDisabled + "`. Terraform never re-enables a disabled record (an operator " +
					"disabled it); assert it in a `check` block.",
				Computed:      true,
				PlanModifiers: keep,
			},
			"registry_url": schema.StringAttribute{
				MarkdownDescription: "The registry the identity is registered with (from the provider configuration), in " +
					"canonical form. Another spelling of the same URL (scheme or host case, a default port, a trailing `/`) " +
					"changes nothing; an alias (`localhost` for `127.0.0.1`) is followed when it serves the same record. " +
					"Pointing the provider at another registry replaces the identity there and leaves the old record in place; " +
					"a URL that does not serve a registry is an error.",
				Computed: true,
			},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Read: true, Update: true, Delete: true}),
		},
	}
}
