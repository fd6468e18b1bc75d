package provider

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/capiscio/terraform-provider-capiscio/internal/did"
	"github.com/capiscio/terraform-provider-capiscio/internal/duration"
	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
)

// Attribute validators in the shape of hashicorp/tls attribute_validator: each
// skips null and unknown values and reports on the attribute at fault. They
// share one implementation, stringCheck; each differs only in its check.

// stringCheck is a validator.String built from a check whose error is shown
// to the user after the attribute path.
type stringCheck struct {
	summary     string
	description string
	check       func(string) error
}

var _ validator.String = stringCheck{}

func (v stringCheck) Description(_ context.Context) string { return v.description }

func (v stringCheck) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v stringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := v.check(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, v.summary, fmt.Sprintf("%s: %s", req.Path, err))
	}
}

// registryURLValidator applies registry.NormalizeBaseURL at plan time.
func registryURLValidator() validator.String {
	return stringCheck{
		summary:     "Invalid CapiscIO Registry URL",
		description: "value must be an absolute https URL (http only for a loopback host) with no query or fragment",
		check: func(s string) error {
			if _, err := registry.NormalizeBaseURL(s); err != nil {
				return fmt.Errorf("%w. Example: %q, or \"http://127.0.0.1:8080\" for a local registry", err, protocol.DefaultBaseURL)
			}
			return nil
		},
	}
}

// durationValidator checks a duration string ("30s", "720h", "90d") within
// [min, max]; a zero bound is no bound. Its messages give examples that are
// valid for these bounds.
func durationValidator(minimum, maximum time.Duration) validator.String {
	examples := durationExamples(minimum, maximum)
	desc := "value must be a duration such as " + examples
	if maximum > 0 {
		desc += fmt.Sprintf(", at most %s", maximum)
	}
	if minimum > 0 {
		desc += fmt.Sprintf(", at least %s", minimum)
	}
	return stringCheck{
		summary:     "Invalid Duration",
		description: desc,
		check: func(s string) error {
			d, err := duration.Parse(s)
			switch {
			case err != nil:
				return fmt.Errorf("%w; for example %s", err, examples)
			case maximum > 0 && d > maximum:
				return fmt.Errorf("%s is longer than the maximum of %s; for example %s", s, maximum, examples)
			case minimum > 0 && d < minimum:
				return fmt.Errorf("%s is shorter than the minimum of %s; for example %s", s, minimum, examples)
			}
			return nil
		},
	}
}

// durationExamples lists two example durations within [min, max]: short ones
// for a timeout, long ones for an argument with a floor (a rotation period).
func durationExamples(minimum, maximum time.Duration) string {
	candidates := []string{"30s", "2m", "720h", "90d"}
	if minimum > 0 {
		slices.Reverse(candidates)
	}
	var picked []string
	for _, ex := range candidates {
		d, _ := duration.Parse(ex)
		if (minimum == 0 || d >= minimum) && (maximum == 0 || d <= maximum) && len(picked) < 2 {
			picked = append(picked, strconv.Quote(ex))
		}
	}
	return strings.Join(picked, " or ")
}

// uuidValidator checks a server record id (a UUID in its canonical form).
func uuidValidator() validator.String {
	return stringCheck{
		summary:     "Invalid Server ID",
		description: "value must be a UUID such as 550e8400-e29b-41d4-a716-446655440000",
		check:       validateServerID,
	}
}

// nameValidator checks a server record's display name the way the registry
// does: printable text of at most protocol.MaxNameRunes characters.
func nameValidator() validator.String {
	return stringCheck{
		summary:     "Invalid Name",
		description: fmt.Sprintf("value must be printable text of at most %d characters", protocol.MaxNameRunes),
		check: func(s string) error {
			return protocol.CheckText(s, "the name", protocol.MaxNameRunes)
		},
	}
}

// notBlankValidator rejects empty and whitespace-only strings, and values
// with surrounding whitespace.
func notBlankValidator() validator.String {
	return stringCheck{
		summary:     "Invalid Value",
		description: "value must not be empty, only whitespace, or surrounded by whitespace",
		check: func(s string) error {
			if strings.TrimSpace(s) == "" {
				return fmt.Errorf("the value must not be empty or only whitespace; remove the argument to use its default")
			}
			if strings.TrimSpace(s) != s {
				return fmt.Errorf("the value has leading or trailing whitespace; remove it (a stray newline from a file is a common cause: use trimspace())")
			}
			return nil
		},
	}
}

// domainValidator checks a badge domain: a host name, an IPv4 address or an
// IPv6 address in brackets, optionally with ":port", no scheme or path.
func domainValidator() validator.String {
	return stringCheck{
		summary:     "Invalid Domain",
		description: "value must be a host name with an optional port, such as mcp.example.com or localhost:8080",
		check:       validateDomain,
	}
}

// publicKeyPEMValidator checks an Ed25519 SPKI PEM with the precise errors of internal/keys.
func publicKeyPEMValidator() validator.String {
	return stringCheck{
		summary:     "Invalid Public Key",
		description: "value must be the SPKI PEM (-----BEGIN PUBLIC KEY-----) of an Ed25519 public key",
		check: func(s string) error {
			_, err := keys.ParsePublicPEM(s)
			return err
		},
	}
}

// privateKeyPEMValidator checks a PKCS#8 Ed25519 private key PEM (plain or
// env form). Its errors never quote the value.
func privateKeyPEMValidator() validator.String {
	return stringCheck{
		summary:     "Invalid Private Key",
		description: "value must be an unencrypted PKCS#8 PEM (-----BEGIN PRIVATE KEY-----) of an Ed25519 key, plain or with literal \\n",
		check: func(s string) error {
			_, err := keys.ParsePrivatePEM(s)
			return err
		},
	}
}

// serverDIDValidator checks that a DID is a registry-assigned server DID,
// did:web:<host>:servers:<uuid>.
func serverDIDValidator() validator.String {
	return stringCheck{
		summary:     "Invalid Server DID",
		description: "value must be a server DID of the form did:web:<registry-host>:servers:<server-id>",
		check: func(s string) error {
			_, _, err := did.ParseServerDID(s)
			return err
		},
	}
}

// validateServerID is the registry's server id rule, shared by the validator
// and import.
func validateServerID(s string) error { return protocol.CheckServerID(s) }

// validateDomain is the registry's badge domain rule.
func validateDomain(s string) error {
	_, err := protocol.CanonicalDomain(s)
	return err
}
