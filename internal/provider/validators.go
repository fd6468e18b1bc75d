package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/capiscio/terraform-provider-capiscio/internal/duration"
	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
)

// Domain validators in the shape of hashicorp/tls attribute_validator: each
// skips null and unknown values and reports on the attribute at fault.

var (
	_ validator.String = registryURLValidator{}
	_ validator.String = durationValidator{}
	_ validator.String = uuidValidator{}
	_ validator.String = notBlankValidator{}
)

// registryURLValidator applies registry.NormalizeBaseURL at plan time.
type registryURLValidator struct{}

func (v registryURLValidator) Description(_ context.Context) string {
	return "value must be an absolute https URL (http only for a loopback host) with no query or fragment"
}

func (v registryURLValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v registryURLValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := registry.NormalizeBaseURL(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid CapiscIO Registry URL",
			fmt.Sprintf("%s: %s. Example: \"%s\", or \"http://127.0.0.1:8080\" for a local registry.", req.Path, err, registry.DefaultBaseURL))
	}
}

// durationValidator checks a duration string ("30s", "720h", "90d").
type durationValidator struct {
	min, max time.Duration
}

func (v durationValidator) Description(_ context.Context) string {
	s := "value must be a duration such as \"30s\", \"720h\" or \"90d\""
	if v.max > 0 {
		s += fmt.Sprintf(", at most %s", v.max)
	}
	return s
}

func (v durationValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v durationValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	d, err := duration.Parse(req.ConfigValue.ValueString())
	switch {
	case err != nil:
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Duration", fmt.Sprintf("%s: %s.", req.Path, err))
	case v.max > 0 && d > v.max:
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Duration", fmt.Sprintf("%s: %s is longer than the maximum of %s.", req.Path, req.ConfigValue.ValueString(), v.max))
	case v.min > 0 && d < v.min:
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Duration", fmt.Sprintf("%s: %s is shorter than the minimum of %s.", req.Path, req.ConfigValue.ValueString(), v.min))
	}
}

// uuidValidator checks a server record id (a UUID in its canonical form).
type uuidValidator struct{}

func (v uuidValidator) Description(_ context.Context) string {
	return "value must be a UUID such as 550e8400-e29b-41d4-a716-446655440000"
}

func (v uuidValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v uuidValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := validateServerID(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Server ID", fmt.Sprintf("%s: %s", req.Path, err))
	}
}

// validateServerID is shared by the validator and import.
func validateServerID(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("the server id is empty; give the UUID of the server record shown in the CapiscIO dashboard")
	}
	if len(s) != 36 {
		return fmt.Errorf("%q is not a server id: it must be a UUID in the form 550e8400-e29b-41d4-a716-446655440000", truncateForError(s))
	}
	if _, err := uuid.Parse(s); err != nil {
		return fmt.Errorf("%q is not a server id: it must be a UUID in the form 550e8400-e29b-41d4-a716-446655440000", truncateForError(s))
	}
	return nil
}

// notBlankValidator rejects empty and whitespace-only strings.
type notBlankValidator struct{}

func (v notBlankValidator) Description(_ context.Context) string {
	return "value must not be empty or only whitespace"
}

func (v notBlankValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v notBlankValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	s := req.ConfigValue.ValueString()
	if strings.TrimSpace(s) == "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Empty Value",
			fmt.Sprintf("%s must not be empty or only whitespace; remove the argument to use its default.", req.Path))
		return
	}
	if strings.TrimSpace(s) != s {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Surrounding Whitespace",
			fmt.Sprintf("%s has leading or trailing whitespace; remove it (a stray newline from a file is a common cause: use trimspace()).", req.Path))
	}
}

func truncateForError(s string) string {
	const n = 48
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// domainValidator checks a badge domain: a host name or IP, optionally with
// ":port", no scheme or path.
type domainValidator struct{}

func (v domainValidator) Description(_ context.Context) string {
	return "value must be a host name with an optional port, such as mcp.example.com or localhost:8080"
}

func (v domainValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v domainValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := validateDomain(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Domain", fmt.Sprintf("%s: %s", req.Path, err))
	}
}

func validateDomain(s string) error {
	if strings.Contains(s, "://") || strings.ContainsAny(s, "/?#@ \t\r\n") {
		return fmt.Errorf("%q is not a domain: give a host name with an optional port, such as mcp.example.com or localhost:8080, without scheme or path", truncateForError(s))
	}
	host, port := s, ""
	if i := strings.LastIndex(s, ":"); i >= 0 && !strings.HasSuffix(s, "]") {
		host, port = s[:i], s[i+1:]
		if port == "" || len(port) > 5 || strings.Trim(port, "0123456789") != "" {
			return fmt.Errorf("%q has an invalid port", truncateForError(s))
		}
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		return fmt.Errorf("%q has no host name", truncateForError(s))
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("%q is not a valid host name (empty or over-long label)", truncateForError(s))
		}
	}
	if strings.Trim(strings.ToLower(host), "abcdefghijklmnopqrstuvwxyz0123456789-.:") != "" {
		return fmt.Errorf("%q holds characters a host name cannot have", truncateForError(s))
	}
	return nil
}

// publicKeyPEMValidator checks an Ed25519 SPKI PEM with the precise errors of internal/keys.
type publicKeyPEMValidator struct{}

func (v publicKeyPEMValidator) Description(_ context.Context) string {
	return "value must be the SPKI PEM (-----BEGIN PUBLIC KEY-----) of an Ed25519 public key"
}

func (v publicKeyPEMValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v publicKeyPEMValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := keys.ParsePublicPEM(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Public Key", fmt.Sprintf("%s: %s", req.Path, err))
	}
}

// privateKeyPEMValidator checks a PKCS#8 Ed25519 private key PEM (plain or env
// form). Its errors never quote the value.
type privateKeyPEMValidator struct{}

func (v privateKeyPEMValidator) Description(_ context.Context) string {
	return "value must be an unencrypted PKCS#8 PEM (-----BEGIN PRIVATE KEY-----) of an Ed25519 key, plain or with literal \\n"
}

func (v privateKeyPEMValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v privateKeyPEMValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := keys.ParsePrivatePEM(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Private Key", fmt.Sprintf("%s: %s", req.Path, err))
	}
}
