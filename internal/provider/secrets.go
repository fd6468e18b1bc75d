package provider

import (
	"context"
	"strings"

	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
)

// secretFieldKeys are log field keys whose values are always masked. No code
// logs these fields; the mask is a defence in depth against one that would.
var secretFieldKeys = []string{"private_key_pem", "private_key_pem_env", "private_key", "badge", "api_key", "env"}

// maskSecrets masks the API key and secret-bearing field keys in every log
// line of this request. Every CRUD method, Open and Invoke calls it first.
func maskSecrets(ctx context.Context, c *registry.Client) context.Context {
	ctx = c.MaskSecrets(ctx)
	return tflog.MaskFieldValuesWithFieldKeys(ctx, secretFieldKeys...)
}

// maskKeyMaterial masks the private key, whole, in its one-line form and
// line by line, in every log line of this request (a defence in depth: no
// code logs it).
func maskKeyMaterial(ctx context.Context, mat *keys.Material) context.Context {
	if mat == nil {
		return ctx
	}
	secrets := []string{mat.PrivatePEM, mat.PrivatePEMEnv}
	for _, line := range strings.Split(mat.PrivatePEM, "\n") {
		if line != "" && !strings.HasPrefix(line, "-----") {
			secrets = append(secrets, line)
		}
	}
	ctx = tflog.MaskMessageStrings(ctx, secrets...)
	return tflog.MaskAllFieldValuesStrings(ctx, secrets...)
}

// maskBadge masks a badge token in every log line of this request.
func maskBadge(ctx context.Context, token string) context.Context {
	if token == "" {
		return ctx
	}
	ctx = tflog.MaskMessageStrings(ctx, token)
	return tflog.MaskAllFieldValuesStrings(ctx, token)
}
