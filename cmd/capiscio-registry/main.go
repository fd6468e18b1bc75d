// Command capiscio-registry runs the local CapiscIO registry
// (internal/registryserver): a real, durable, CapiscIO-compatible registry for
// development, CI and the provider's tests.
//
//	capiscio-registry serve --listen 127.0.0.1:8080 --data DIR [flags]
//	capiscio-registry keys create --org NAME --data DIR
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
                          [--rate-limit N] [--ready-file PATH] [--cpuprofile FILE]
  capiscio-registry keys create --org NAME --data DIR
  capiscio-registry help

serve prints "capiscio-registry listening on <URL>" and, when the development
key was just created or given, "dev API key: <KEY>". It stops cleanly on
SIGINT or SIGTERM. Run "capiscio-registry serve -h" for every flag.

keys create adds an API key for another organisation and prints it. Run it
while the registry is stopped (the database is locked while it runs).
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
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usageText)
		return exitOK
	default:
		fmt.Fprintf(stderr, "capiscio-registry: unknown command %q\n\n%s", args[0], usageText)
		return exitUsage
	}
}
