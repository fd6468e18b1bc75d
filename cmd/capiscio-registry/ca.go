package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver"
)

const caInitUsage = `Usage: capiscio-registry ca init --data DIR

Mints a new badge CA key, DIR/ca.jwk, in a data directory that has none: for a
store whose CA key was lost and cannot be restored from a backup. WARNING:
every badge signed by the earlier key stops verifying; issue new badges, and
make verifiers fetch the JWKS again. It never replaces an existing ca.jwk.
serve mints the first key itself while the store records no badges. Run it
while the registry is stopped.

`

// caInit mints a new badge CA key in a data directory that has none. serve
// mints one itself only while the store records no badge; once it does, a
// lost ca.jwk must be restored or replaced on purpose, here. It prints the
// key's file and kid on stdout and a warning on stderr: every badge signed by
// an earlier key stops verifying.
func caInit(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("capiscio-registry ca init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, caInitUsage)
		fs.PrintDefaults()
	}
	data := fs.String("data", "", "data directory of the registry (required)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage // the flag package has printed it with the usage
	}
	switch {
	case *data == "":
		fmt.Fprintln(stderr, "capiscio-registry ca init: --data DIR is required")
		return exitUsage
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "capiscio-registry ca init: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	kid, badges, err := registryserver.InitCA(*data)
	if err != nil {
		fmt.Fprintf(stderr, "capiscio-registry ca init: %v\n", err)
		return exitError
	}
	fmt.Fprintf(stdout, "created the badge CA key %s (kid %s)\n", filepath.Join(*data, "ca.jwk"), kid)
	fmt.Fprintf(stderr, "WARNING: this is a new CA key. Badges signed by an earlier CA key (%d recorded in this store) no longer verify against the registry's JWKS; issue new badges, and make verifiers fetch the JWKS again.\n", badges)
	return exitOK
}
