// Command terraform-provider-capiscio is the Terraform and OpenTofu provider for
// CapiscIO MCP server identities.
package main

import (
	"context"
	"flag"
	"log"
	"os"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/capiscio/terraform-provider-capiscio/internal/gctune"
	"github.com/capiscio/terraform-provider-capiscio/internal/provider"
)

// Run "go generate" to format example Terraform files and generate the docs.
//go:generate terraform fmt -recursive ./examples/
//go:generate go tool tfplugindocs generate --provider-name capiscio

// version is set by goreleaser (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	var debugMode bool
	flag.BoolVar(&debugMode, "debug", false, "set to true to run the provider with support for debuggers like delve")
	flag.Parse()
	gctune.Start(os.Getenv)
	if !debugMode {
		silenceDiscardedLogs(os.Getenv, os.Setenv)
	}

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address:         "registry.terraform.io/capiscio/capiscio",
		Debug:           debugMode,
		ProtocolVersion: 6,
	})
	if err != nil {
		log.Fatal(err.Error())
	}
}

// Log levels of the plugin SDK's loggers. terraform-plugin-go and the
// framework log at TRACE unless told otherwise, and leave it to Terraform to
// drop what it does not keep: every RPC then formats dozens of JSON lines
// (a few per attribute, per plan modifier and validator) that Terraform parses
// and throws away. Measured with pprof on an apply of 100 identities, that was
// about a quarter of the provider's CPU time, and Terraform's again to parse it.
var sdkLogLevelVars = []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK", "TF_LOG_PROVIDER_CAPISCIO"}

// silenceDiscardedLogs turns the plugin's logs off when the Terraform (or
// OpenTofu) that started it keeps no provider logs: it keeps them only when
// TF_LOG_PROVIDER or TF_LOG is set, and a plugin inherits its environment.
// A level set explicitly for one of the SDK loggers is left alone, and with
// TF_LOG or TF_LOG_PROVIDER set nothing changes, so TF_LOG=TRACE output is
// exactly what it always was.
func silenceDiscardedLogs(getenv func(string) string, setenv func(string, string) error) {
	if getenv("TF_LOG") != "" || getenv("TF_LOG_PROVIDER") != "" {
		return
	}
	for _, name := range sdkLogLevelVars {
		if getenv(name) == "" {
			_ = setenv(name, "OFF")
		}
	}
}
