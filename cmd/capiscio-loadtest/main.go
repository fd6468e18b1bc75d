// Command capiscio-loadtest drives the real capiscio-registry binary with
// concurrent clients (registrations with Idempotency-Key, key rotations, badge
// issues, reads), then kills it with SIGKILL, restarts it on the same data
// directory and port, and checks that every acknowledged write survived.
//
// It builds nothing itself: pass the binary with --registry-bin (make loadtest
// builds bin/capiscio-registry first). It only talks to loopback addresses.
//
// Exit status: 0 when no request got a 5xx, no valid request got a 4xx and no
// acknowledged write was lost; 1 otherwise; 2 for a usage or setup error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

const defaultDevKey = "sk_test_loadtest-0123456789abcdef"

type options struct {
	bin      string
	clients  int
	duration time.Duration
	devKey   string
	keep     bool
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("capiscio-loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.bin, "registry-bin", "bin/capiscio-registry", "path of the capiscio-registry binary to run")
	fs.IntVar(&o.clients, "clients", 50, "concurrent clients")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "how long the clients send requests")
	fs.StringVar(&o.devKey, "dev-api-key", defaultDevKey, "development API key to start the registry with")
	fs.BoolVar(&o.keep, "keep", false, "keep the temp data directory and registry logs")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || o.clients < 1 || o.duration <= 0 {
		fmt.Fprintln(stderr, "capiscio-loadtest: --clients must be >= 1, --duration > 0, and no arguments")
		return 2
	}
	ok, err := loadTest(o, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "capiscio-loadtest: %v\n", err)
		return 2
	}
	if !ok {
		return 1
	}
	return 0
}

func loadTest(o options, stdout, stderr io.Writer) (bool, error) {
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return false, err
	}
	if _, err := os.Stat(bin); err != nil {
		return false, fmt.Errorf("registry binary: %w (build it with: go build -o bin/capiscio-registry ./cmd/capiscio-registry)", err)
	}
	tmp, err := os.MkdirTemp("", "capiscio-loadtest-")
	if err != nil {
		return false, err
	}
	keep := o.keep
	defer func() {
		if keep {
			fmt.Fprintf(stderr, "kept data and logs in %s\n", tmp)
			return
		}
		_ = os.RemoveAll(tmp)
	}()
	data := filepath.Join(tmp, "data")

	first, err := startRegistry(bin, tmp, data, "127.0.0.1:0", o.devKey, "first")
	if err != nil {
		return false, err
	}
	defer first.kill()
	fmt.Fprintf(stdout, "registry %s (data %s), %d clients for %s\n", first.url, data, o.clients, o.duration)

	res := drive(first.url, o.devKey, o.clients, o.duration)

	// SIGKILL: no graceful shutdown, so only what was fsynced survives.
	first.kill()
	second, err := startRegistry(bin, tmp, data, first.hostPort, o.devKey, "second")
	if err != nil {
		keep = true
		return false, fmt.Errorf("restart on %s: %w", first.hostPort, err)
	}
	defer second.kill()
	v := verify(second.url, o.devKey, o.clients, res)
	second.kill()

	passed := report(stdout, o, res, v)
	if !passed {
		keep = true
	}
	return passed, nil
}

// registryProcess is one run of the registry binary.
type registryProcess struct {
	cmd      *exec.Cmd
	url      string
	hostPort string
	exited   chan struct{}
}

// startRegistry runs `serve` and waits for its ready file. listen must be a
// loopback address.
func startRegistry(bin, tmp, data, listen, devKey, name string) (*registryProcess, error) {
	ready := filepath.Join(tmp, name+".ready")
	logf, err := os.Create(filepath.Join(tmp, name+".log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "serve", "--listen", listen, "--data", data, "--ready-file", ready, "--dev-api-key", devKey)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &registryProcess{cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	deadline := time.After(30 * time.Second)
	for {
		if raw, err := os.ReadFile(ready); err == nil && strings.HasSuffix(string(raw), "\n") {
			p.url = strings.TrimSpace(string(raw))
			break
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("the registry exited before it was ready (%s); see %s", cmd.ProcessState, logf.Name())
		case <-deadline:
			p.kill()
			return nil, errors.New("the registry was not ready within 30 s")
		case <-time.After(20 * time.Millisecond):
		}
	}
	canonical, err := protocol.ParseBaseURL(p.url)
	if err != nil {
		p.kill()
		return nil, fmt.Errorf("the registry announced an unusable URL: %w", err)
	}
	u, _ := url.Parse(canonical) // canonical URLs parse
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		p.kill()
		return nil, fmt.Errorf("the registry announced %s, not a loopback address", p.url)
	}
	p.hostPort = u.Host
	return p, nil
}

// kill sends SIGKILL (once the process is running) and waits for it to exit.
func (p *registryProcess) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
	}
}

// withDeadline is a context that ends after d.
func withDeadline(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
