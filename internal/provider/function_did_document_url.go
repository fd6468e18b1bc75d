package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/function"

	"github.com/capiscio/terraform-provider-capiscio/internal/did"
)

var _ function.Function = (*didDocumentURLFunction)(nil)

// NewDIDDocumentURLFunction returns the did_document_url function.
func NewDIDDocumentURLFunction() function.Function {
	return &didDocumentURLFunction{}
}

type didDocumentURLFunction struct{}

func (f *didDocumentURLFunction) Metadata(_ context.Context, _ function.MetadataRequest, resp *function.MetadataResponse) {
	resp.Name = "did_document_url"
}

func (f *didDocumentURLFunction) Definition(_ context.Context, _ function.DefinitionRequest, resp *function.DefinitionResponse) {
	resp.Definition = function.Definition{
		Summary: "Where the DID document of a did:web is served",
		MarkdownDescription: "Returns the URL of the DID document of a `did:web`, by the generic " +
			"[did:web rule](https://w3c-ccg.github.io/did-method-web/#read-resolve): the third part of the DID, " +
			"percent-decoded, is the host (with `:port` when the DID writes one as `%3A`); the remaining parts, " +
			"joined with `/`, are the path, followed by `/did.json`; a DID with no path is served at " +
			"`/.well-known/did.json`. The scheme is `https`, except `http` for the hosts `localhost` and " +
			"`127.0.0.1` (any port), as the CapiscIO SDKs resolve them.\n\n" +
			"`did:web:registry.capisc.io:servers:<id>` gives `https://registry.capisc.io/servers/<id>/did.json`, " +
			"and `did:web:localhost%3A8080:servers:<id>` gives `http://localhost:8080/servers/<id>/did.json`.\n\n" +
			"The function is pure: it computes the URL and never fetches it. A value that is not a `did:web` " +
			"(a `did:key`, a DID URL with a `#fragment`, a bad percent-escape, an empty host) is an error.",
		Parameters: []function.Parameter{
			function.StringParameter{
				Name:                "did",
				MarkdownDescription: "A `did:web` DID, such as the `did` of a `capiscio_server_identity`.",
			},
		},
		Return: function.StringReturn{},
	}
}

func (f *didDocumentURLFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
	var value string
	resp.Error = req.Arguments.Get(ctx, &value)
	if resp.Error != nil {
		return
	}
	u, err := did.DocumentURL(value)
	if err != nil {
		resp.Error = function.NewArgumentFuncError(0, err.Error())
		return
	}
	resp.Error = resp.Result.Set(ctx, u)
}
