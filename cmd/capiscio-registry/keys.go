package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver"
)

// keysCreate adds an API key for an organisation and prints it on stdout
// (the key alone, for scripts). Only its hash is stored.
func keysCreate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("capiscio-registry keys create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	org := fs.String("org", "", "organisation the key belongs to (required)")
	data := fs.String("data", "", "data directory of the registry (required)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage // the flag package has printed it with the usage
	}
	switch {
	case *org == "" || *data == "":
		fmt.Fprintln(stderr, "capiscio-registry keys create: --org NAME and --data DIR are required")
		return exitUsage
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "capiscio-registry keys create: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	key, err := registryserver.AddAPIKey(*data, *org)
	if err != nil {
		fmt.Fprintf(stderr, "capiscio-registry keys create: %v\n", err)
		return exitError
	}
	fmt.Fprintln(stdout, key)
	fmt.Fprintf(stderr, "created an API key for organisation %q; it is shown only once\n", *org)
	return exitOK
}
