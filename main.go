// Command terraform-provider-capiscio is the Terraform and OpenTofu provider for
// CapiscIO MCP server identities.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/capiscio/terraform-provider-capiscio/internal/cpuprofile"
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
	stopProfile := startCPUProfile(os.Getenv(envCPUProfile))
	gctune.Start(os.Getenv)
	if !debugMode {
		silenceDiscardedLogs(os.Getenv, os.Setenv)
	}

	// Serve returns when Terraform stops the plugin (go-plugin's
	// GRPCController.Shutdown), so code after it runs on a normal stop.
	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address:         "registry.terraform.io/capiscio/capiscio",
		Debug:           debugMode,
		ProtocolVersion: 6,
	})
	stopProfile()
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

// envCPUProfile names a directory: when set, the provider writes a CPU profile
// of its whole run to <dir>/provider-<pid>.pprof. Terraform starts several
// provider processes per command (validate, plan, apply); `go tool pprof -top
// DIR/*.pprof` merges them. Off unless set; scripts/bench (BENCH_PROFILE=1)
// uses it.
const envCPUProfile = "CAPISCIO_PROVIDER_CPUPROFILE"

// startCPUProfile starts a CPU profile into dir when dir is not empty, and
// returns the function that writes it out, to call once Serve has returned.
// A profile that cannot be started is reported on stderr (Terraform logs a
// plugin's stderr) and the provider runs on without one.
//
// SIGTERM would end the process without running that function, so while a
// profile runs, SIGTERM writes it out and then exits with the status a
// SIGTERM death reports (143). SIGINT is left alone: go-plugin ignores it,
// and Terraform stops the plugin itself after handling its own Ctrl-C.
func startCPUProfile(dir string) (stop func()) {
	if dir == "" {
		return func() {}
	}
	path := filepath.Join(dir, fmt.Sprintf("provider-%d.pprof", os.Getpid()))
	stopProfile, err := cpuprofile.Start(path)
	if err != nil {
		log.Printf("[WARN] %s: %v; running without a CPU profile", envCPUProfile, err)
		return func() {}
	}
	stop = func() {
		if err := stopProfile(); err != nil {
			log.Printf("[WARN] %s: %v", envCPUProfile, err)
		}
	}
	sigterm := make(chan os.Signal, 1)
	signal.Notify(sigterm, syscall.SIGTERM)
	go func() {
		<-sigterm
		stop()
		os.Exit(128 + int(syscall.SIGTERM))
	}()
	return stop
}
