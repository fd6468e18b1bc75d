package provider

import (
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/function"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
)

var _ function.Function = (*pemEnvFunction)(nil)

// NewPEMEnvFunction returns the pem_env function.
func NewPEMEnvFunction() function.Function {
	return &pemEnvFunction{}
}

type pemEnvFunction struct{}

func (f *pemEnvFunction) Metadata(_ context.Context, _ function.MetadataRequest, resp *function.MetadataResponse) {
	resp.Name = "pem_env"
}

func (f *pemEnvFunction) Definition(_ context.Context, _ function.DefinitionRequest, resp *function.DefinitionResponse) {
	resp.Definition = function.Definition{
		Summary: "A PEM as one line with literal \\n, the env form",
		MarkdownDescription: "Returns a PEM as one line in which every line break is written as the two characters " +
			"`\\n`: the form `CAPISCIO_SERVER_PRIVATE_KEY_PEM` takes, and what many secret stores and `.env` files " +
			"need. Surrounding whitespace is dropped and the result ends with one `\\n`, so " +
			"`pem_env(capiscio_server_identity.x.private_key_pem)` equals its " +
			"`env[\"CAPISCIO_SERVER_PRIVATE_KEY_PEM\"]`. A value already in the env form is returned in that same " +
			"canonical form.\n\n" +
			"The value must be exactly one PEM block of any type (private or public key, certificate), with " +
			"nothing before or after it; otherwise it is an error. Error messages never quote the value.\n\n" +
			"Functions cannot be marked sensitive, but Terraform keeps sensitivity through them: the result of " +
			"`pem_env()` on a sensitive value, such as a `private_key_pem`, is sensitive too, and an output of it " +
			"needs `sensitive = true`.",
		Parameters: []function.Parameter{
			function.StringParameter{
				Name:                "pem",
				MarkdownDescription: "One PEM block, with real line breaks (or already in the one-line env form).",
			},
		},
		Return: function.StringReturn{},
	}
}

func (f *pemEnvFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
	var value string
	resp.Error = req.Arguments.Get(ctx, &value)
	if resp.Error != nil {
		return
	}
	out, err := pemEnv(value)
	if err != nil {
		resp.Error = function.NewArgumentFuncError(0, err.Error())
		return
	}
	resp.Error = resp.Result.Set(ctx, out)
}

// pemEnv checks that s is exactly one PEM block (in either form) and returns
// it in the canonical env form: trimmed, LF line breaks, one final newline,
// every line break written as `\n`. Its errors never quote s.
func pemEnv(s string) (string, error) {
	text := strings.TrimSpace(s)
	if text == "" {
		return "", fmt.Errorf("the value is empty; give one PEM block, such as a private_key_pem")
	}
	// A PEM holds no backslash, so a backslash can only be the env form's `\n`.
	if strings.Contains(text, `\`) {
		text = strings.TrimSpace(keys.EnvUnescape(text))
		if strings.Contains(text, `\`) {
			return "", fmt.Errorf("the value has a backslash that is not part of a \\n escape (a \\\\n means it was escaped twice); give the PEM with real line breaks")
		}
	}
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n")
	if !strings.HasPrefix(text, "-----BEGIN ") {
		if strings.Contains(text, "-----BEGIN ") {
			return "", fmt.Errorf("the value has text before its -----BEGIN line; remove it")
		}
		return "", fmt.Errorf("the value is not PEM: it has no -----BEGIN line")
	}
	block, rest := pem.Decode([]byte(text))
	switch {
	case block == nil:
		return "", fmt.Errorf("the value is not a valid PEM block: check the -----BEGIN and -----END lines (same type, five dashes each) and that the base64 body is intact")
	case len(bytes.TrimSpace(rest)) > 0 && bytes.Contains(rest, []byte("-----BEGIN ")):
		return "", fmt.Errorf("the value holds more than one PEM block; give exactly one")
	case len(bytes.TrimSpace(rest)) > 0:
		return "", fmt.Errorf("the value has text after its -----END line; remove it")
	case len(block.Bytes) == 0:
		return "", fmt.Errorf("the PEM block has an empty body")
	}
	return keys.EnvEscape(text + "\n"), nil
}
