package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/capiscio/terraform-provider-capiscio/internal/cpuprofile"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver"
)

// envDevAPIKey is read when --dev-api-key is not given, so the key need not
// appear in the process list.
const envDevAPIKey = "CAPISCIO_REGISTRY_DEV_API_KEY"

// errReported is an error already shown to the user.
var errReported = errors.New("reported")

// shutdownTimeout bounds how long serve waits for requests in flight.
const shutdownTimeout = 10 * time.Second

// serveFlags are the flags of the serve command.
type serveFlags struct {
	listen, data, publicURL, issuer, devAPIKey, readyFile, cpuProfile string
	badgeTTL                                                          time.Duration
	rateLimit                                                         int
	publicStats                                                       bool
}

func parseServeFlags(args []string, stderr io.Writer) (serveFlags, error) {
	var f serveFlags
	fs := flag.NewFlagSet("capiscio-registry serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "address to listen on; port 0 picks a free port")
	fs.StringVar(&f.data, "data", "", "data directory for registry.db and ca.jwk (required; created if missing)")
	fs.StringVar(&f.publicURL, "public-url", "", "base URL clients use (default http://<listen address>); its host makes up the did:web of servers")
	fs.StringVar(&f.issuer, "issuer", "", "badge issuer (iss), an origin (default: the origin of the public URL)")
	fs.DurationVar(&f.badgeTTL, "badge-ttl", registryserver.DefaultBadgeTTL, "badge lifetime, 1m to 1h")
	fs.StringVar(&f.devAPIKey, "dev-api-key", "", "fix the value of the development API key (org \"dev\"): at least 22 characters of A-Z a-z 0-9 - _ after an optional sk_test_ or sk_live_ prefix, e.g. sk_test_$(openssl rand -hex 32); never printed. Default $"+envDevAPIKey+", else a random key minted and printed on first start")
	fs.IntVar(&f.rateLimit, "rate-limit", 0, "requests per minute per API key; 0 turns limiting off")
	fs.StringVar(&f.readyFile, "ready-file", "", "write the URL to this file once the registry accepts connections")
	fs.BoolVar(&f.publicStats, "public-stats", false, "serve "+registryserver.PathStats+" (request counts per route) without an API key; by default it needs the API key of any organisation")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to `FILE` on shutdown (read it with go tool pprof)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return f, err
		}
		return f, errReported // the flag package has printed it with the usage
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if f.data == "" {
		return f, errors.New("--data DIR is required")
	}
	source := "--dev-api-key"
	if f.devAPIKey == "" {
		f.devAPIKey, source = os.Getenv(envDevAPIKey), "$"+envDevAPIKey
	}
	if f.devAPIKey != "" {
		if err := registryserver.ValidDevAPIKey(f.devAPIKey); err != nil {
			return f, fmt.Errorf("%s: %w", source, err)
		}
	}
	return f, nil
}

// serve runs the registry until ctx ends, then shuts down cleanly.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, err := parseServeFlags(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errReported):
		return exitUsage
	case err != nil:
		fmt.Fprintf(stderr, "capiscio-registry serve: %v\n", err)
		return exitUsage
	}
	if f.cpuProfile != "" {
		stop, err := cpuprofile.Start(f.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "capiscio-registry serve: %v\n", err)
			return exitError
		}
		defer func() {
			if err := stop(); err != nil {
				fmt.Fprintf(stderr, "capiscio-registry serve: %v\n", err)
			}
		}()
	}
	if err := runServer(ctx, f, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "capiscio-registry serve: %v\n", err)
		return exitError
	}
	return exitOK
}

func runServer(ctx context.Context, f serveFlags, stdout, stderr io.Writer) error {
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", f.listen, err)
	}
	if f.publicURL == "" {
		f.publicURL = "http://" + dialableAddr(ln.Addr())
	}
	srv, err := registryserver.New(registryserver.Config{
		DataDir: f.data, PublicURL: f.publicURL, Issuer: f.issuer, BadgeTTL: f.badgeTTL,
		DevAPIKey: f.devAPIKey, RateLimitPerMinute: f.rateLimit, PublicStats: f.publicStats, Logger: logger,
	})
	if err != nil {
		ln.Close()
		return err
	}
	defer srv.Close()
	return serveUntilDone(ctx, srv, ln, f, stdout, logger)
}

// serveUntilDone serves on ln, announces the registry, and shuts it down when
// ctx ends or serving fails.
func serveUntilDone(ctx context.Context, srv *registryserver.Server, ln net.Listener, f serveFlags, stdout io.Writer, logger *slog.Logger) error {
	httpSrv := &http.Server{
		Handler:           srv.Handler(),
		ConnState:         srv.ConnState,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- httpSrv.Serve(ln) }()

	logger.Info("registry started", "listen", ln.Addr().String(), "public_url", f.publicURL,
		"issuer", srv.Issuer(), "data", f.data, "badge_ttl", f.badgeTTL, "rate_limit", f.rateLimit, "public_stats", f.publicStats)
	if err := announce(srv, f, stdout); err != nil {
		_ = httpSrv.Close()
		return err
	}

	select {
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := httpSrv.Shutdown(shutdownCtx)
	if f.readyFile != "" {
		_ = os.Remove(f.readyFile)
	}
	return err
}

// announce prints the stable stdout lines scripts grep for, then writes the
// ready file. The listener already accepts connections (the kernel queues
// them from net.Listen on), so the URL is usable once the file exists.
//
// The development key is printed only when this process minted it (first
// start without --dev-api-key): a key the user supplied is never echoed, so it
// does not end up in terminal scrollback or CI logs.
func announce(srv *registryserver.Server, f serveFlags, stdout io.Writer) error {
	fmt.Fprintf(stdout, "capiscio-registry listening on %s\n", f.publicURL)
	if key := srv.DevAPIKey(); key != "" && f.devAPIKey == "" {
		fmt.Fprintf(stdout, "dev API key: %s\n", key)
	}
	if f.readyFile == "" {
		return nil
	}
	if err := registryserver.WriteFileAtomic(f.readyFile, []byte(f.publicURL+"\n"), 0o644); err != nil {
		return fmt.Errorf("writing the ready file: %w", err)
	}
	return nil
}

// dialableAddr turns a listener address into host:port a client can dial:
// an unspecified IP (0.0.0.0, ::) becomes localhost.
func dialableAddr(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	host := tcp.IP.String()
	if tcp.IP == nil || tcp.IP.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, fmt.Sprint(tcp.Port))
}
