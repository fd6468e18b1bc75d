package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
)

// addRegistryError turns a registry client error into a diagnostic whose
// detail says what was attempted, what to do next, and the underlying error
// (which never holds the API key, a key or a badge).
func addRegistryError(diags *diag.Diagnostics, summary, attempted string, err error) {
	var advice string
	switch {
	case errors.Is(err, registry.ErrMissingAPIKey):
		diags.AddError("Missing CapiscIO API Key",
			attempted+" No API key is configured: set the api_key argument in the provider \"capiscio\" block, or the "+
				EnvAPIKey+" environment variable.")
		return
	case errors.Is(err, registry.ErrUnauthorized):
		advice = "The registry refused the API key. Check the api_key provider argument or the " + EnvAPIKey +
			" environment variable, and that the key belongs to the organisation that owns the server record."
	case errors.Is(err, registry.ErrForbidden):
		advice = "The registry forbids this operation for this API key or record (a disabled record cannot get badges)."
	case errors.Is(err, registry.ErrRateLimited):
		advice = "The registry kept rate-limiting the request after every retry. Run the command again later, " +
			"raise max_retries in the provider block, or lower -parallelism."
	case errors.Is(err, context.DeadlineExceeded):
		advice = "The operation ran out of time. Raise the matching value in the resource's timeouts block or " +
			"request_timeout in the provider block, and check that the registry is reachable."
	case errors.Is(err, http.ErrSchemeMismatch):
		advice = "The registry answered plain HTTP to an HTTPS request: registry_url should start with http:// " +
			"(accepted for a loopback host such as the local registry), or the port is not the registry's HTTPS port."
	case errors.Is(err, registry.ErrConflict):
		advice = "The registry reported a conflict with the record's current state. Refresh and run the command again."
	default:
		advice = "Run the command again; if it keeps failing, check the registry's status."
	}
	diags.AddError(summary, fmt.Sprintf("%s %s\n\nRegistry error: %s", attempted, advice, err))
}
