// Command capiscio-registry runs the local CapiscIO registry
// (internal/registryserver): a real, durable, CapiscIO-compatible registry for
// development, CI and the provider's tests.
//
//	capiscio-registry serve --listen 127.0.0.1:8080 --data DIR [flags]
//	capiscio-registry keys create --org NAME --data DIR
//	capiscio-registry ca init --data DIR
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the command ran and failed
	exitUsage = 2 // bad command line
)

const usageText = `capiscio-registry: the local CapiscIO registry

Usage:
  capiscio-registry serve --data DIR [--listen 127.0.0.1:8080] [--public-url URL]
                          [--issuer URL] [--badge-ttl 5m] [--dev-api-key KEY]
                          [--rate-limit N] [--ready-file PATH] [--public-stats] [--cpuprofile FILE]
  capiscio-registry keys create --org NAME --data DIR
  capiscio-registry ca init --data DIR
  capiscio-registry help

serve prints "capiscio-registry listening on <URL>" and, on the first start of
a data directory without --dev-api-key, "dev API key: <KEY>" with the key it
minted (shown once; a key you supply is never printed). --dev-api-key (or
$CAPISCIO_REGISTRY_DEV_API_KEY) needs at least 22 characters of A-Z a-z 0-9 - _
after an optional sk_test_ or sk_live_ prefix: sk_test_$(openssl rand -hex 32).
/debug/stats needs an API key unless --public-stats. It stops cleanly on
SIGINT or SIGTERM. Run "capiscio-registry serve -h" for every flag.

serve refuses, with one line naming the file and what to do, a data directory
whose registry.db is missing (while ca.jwk exists), empty, truncated or
corrupt, whose ca.jwk is readable or writable by group or others (chmod 600
it), or whose ca.jwk is missing while registry.db records badges. It changes
nothing in a directory it refuses.

keys create adds an API key for another organisation and prints it. Run it
while the registry is stopped (the database is locked while it runs).

ca init mints a new badge CA key (ca.jwk) in a data directory that has none,
for a store whose CA key was lost and cannot be restored. WARNING: every badge
signed by the earlier key stops verifying. serve mints the first key itself
while the store has no badges; ca init never replaces an existing ca.jwk.
Run it while the registry is stopped.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line; ctx ends serve.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "keys":
		if len(args) > 1 && args[1] == "create" {
			return keysCreate(args[2:], stdout, stderr)
		}
		fmt.Fprintf(stderr, "capiscio-registry: unknown keys subcommand; use \"keys create --org NAME --data DIR\"\n")
		return exitUsage
	case "ca":
		if len(args) > 1 && args[1] == "init" {
			return caInit(args[2:], stdout, stderr)
		}
		fmt.Fprintf(stderr, "capiscio-registry: unknown ca subcommand; use \"ca init --data DIR\"\n")
		return exitUsage
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usageText)
		return exitOK
	default:
		fmt.Fprintf(stderr, "capiscio-registry: unknown command %q\n\n%s", args[0], usageText)
		return exitUsage
	}
}
