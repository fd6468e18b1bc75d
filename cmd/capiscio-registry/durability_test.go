package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// registryProcess is the real capiscio-registry binary running in a child
// process.
type registryProcess struct {
	cmd    *exec.Cmd
	url    string
	stdout *syncBuffer
	exited chan struct{}
}

// buildBinary compiles this command into a temp dir.
func buildBinary(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH; cannot build the registry binary")
	}
	bin := filepath.Join(t.TempDir(), "capiscio-registry")
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startProcess runs `capiscio-registry serve` on a free port and waits for
// its ready file.
func startProcess(t *testing.T, bin, data string, extra ...string) *registryProcess {
	t.Helper()
	ready := filepath.Join(t.TempDir(), "ready")
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data", data, "--ready-file", ready}, extra...)
	p := &registryProcess{cmd: exec.Command(bin, args...), stdout: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd.Stdout = p.stdout
	p.cmd.Stderr = &syncBuffer{}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
	})
	p.url = waitForFile(t, ready, p.exited)
	return p
}

// TestDurability_KillNine registers servers and issues badges through the
// real binary while killing it with SIGKILL mid-stream, restarts it on the
// same data directory, and finds every acknowledged record, the same CA key
// and the badges' status.
func TestDurability_KillNine(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	data := t.TempDir()
	const devKey = "sk_test_durability-0123456789abcdef"
	first := startProcess(t, bin, data, "--dev-api-key", devKey)
	jwks := getJWKS(t, first.url)

	// Writers create servers and badges until the process dies; only the
	// records whose 201 arrived count as acknowledged.
	bodies := make([]protocol.CreateServerRequest, 16)
	for i := range bodies {
		bodies[i] = newServerBody(t)
	}
	var mu sync.Mutex
	acked := map[string]protocol.Server{}
	ackedBadges := map[string]string{} // jti -> server id
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				body := bodies[(w*7+i)%len(bodies)]
				r, err := tryHTTP(http.MethodPost, first.url+protocol.PathServers, devKey, body)
				if err != nil || r.status != http.StatusCreated {
					return
				}
				var env protocol.Envelope[protocol.Server]
				if json.Unmarshal(r.body, &env) != nil {
					return
				}
				mu.Lock()
				acked[env.Data.ID] = env.Data
				mu.Unlock()
				r, err = tryHTTP(http.MethodPost, first.url+protocol.Path(protocol.PathServerBadge, env.Data.ID), devKey, nil)
				if err != nil || r.status != http.StatusCreated {
					return
				}
				var badge protocol.Envelope[protocol.Badge]
				if json.Unmarshal(r.body, &badge) != nil {
					return
				}
				mu.Lock()
				ackedBadges[badge.Data.JTI] = env.Data.ID
				mu.Unlock()
			}
		})
	}
	time.Sleep(400 * time.Millisecond)
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.exited
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged before the kill")
	}
	t.Logf("%d servers and %d badges acknowledged before SIGKILL", len(acked), len(ackedBadges))

	second := startProcess(t, bin, data, "--dev-api-key", devKey)
	if got := getJWKS(t, second.url); got.Keys[0].Kid != jwks.Keys[0].Kid || got.Keys[0].X != jwks.Keys[0].X {
		t.Errorf("CA key after restart = %+v, want %+v", got.Keys[0], jwks.Keys[0])
	}
	for id, want := range acked {
		r := httpDo(t, http.MethodGet, second.url+protocol.Path(protocol.PathServer, id), devKey, nil)
		if r.status != http.StatusOK {
			t.Errorf("acknowledged server %s lost: %d %s", id, r.status, r.body)
			continue
		}
		var env protocol.Envelope[protocol.Server]
		if err := json.Unmarshal(r.body, &env); err != nil {
			t.Fatal(err)
		}
		if got := env.Data; got.PublicKey != want.PublicKey || got.Name != want.Name || !got.CreatedAt.Equal(want.CreatedAt) {
			t.Errorf("server %s after restart = %+v, want %+v", id, got, want)
		}
	}
	for jti := range ackedBadges {
		r := httpDo(t, http.MethodGet, second.url+protocol.Path(protocol.PathBadgeStatus, jti), "", nil)
		if r.status != http.StatusOK {
			t.Errorf("acknowledged badge %s lost: %d %s", jti, r.status, r.body)
		}
	}
	stopGracefully(t, second)
}

// stopGracefully sends SIGTERM and expects a clean exit with status 0.
func stopGracefully(t *testing.T, p *registryProcess) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("the registry did not stop within 15 s of SIGTERM")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
}

// TestProcess_FirstStartPrintsDevKeyOnce checks the stdout contract of the
// binary: the minted development key is printed on the first start only.
func TestProcess_FirstStartPrintsDevKeyOnce(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	data := t.TempDir()

	// stdout is read once the process has exited: only then has all of it
	// been copied out of the pipe (the ready file can appear sooner).
	first := startProcess(t, bin, data)
	stopGracefully(t, first)
	out := first.stdout.String()
	if !strings.HasPrefix(out, "capiscio-registry listening on "+first.url+"\n") || !strings.Contains(out, "dev API key: sk_test_") {
		t.Fatalf("first start stdout = %q", out)
	}
	key := strings.TrimSpace(strings.SplitN(out, "dev API key: ", 2)[1])

	second := startProcess(t, bin, data)
	if r := httpDo(t, http.MethodGet, second.url+protocol.PathServers, key, nil); r.status != http.StatusOK {
		t.Errorf("the first start's dev key is not accepted after restart: %d %s", r.status, r.body)
	}
	stopGracefully(t, second)
	if out := second.stdout.String(); strings.Contains(out, "dev API key") {
		t.Errorf("second start printed a dev key: %q", out)
	}
	info, err := os.Stat(filepath.Join(data, "ca.jwk"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("ca.jwk mode %v, want 0600", info.Mode().Perm())
	}
}

// TestProcess_CPUProfile checks that --cpuprofile leaves a complete profile
// after a graceful stop (SIGTERM), as scripts/bench relies on.
func TestProcess_CPUProfile(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	profile := filepath.Join(t.TempDir(), "registry.pprof")
	p := startProcess(t, bin, t.TempDir(), "--cpuprofile", profile)
	if _, err := os.Stat(profile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the profile exists while the registry runs (err %v): a reader could take a partial one", err)
	}
	stopGracefully(t, p)
	raw, err := os.ReadFile(profile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte{0x1f, 0x8b}) { // runtime/pprof writes gzipped protobuf
		t.Errorf("%s is not a profile: starts with % x", profile, raw[:min(len(raw), 4)])
	}
}

// jwkSet is the served key set, as much of it as these tests read.
type jwkSet struct {
	Keys []struct {
		Kid string `json:"kid"`
		X   string `json:"x"`
	} `json:"keys"`
}

func getJWKS(t *testing.T, url string) jwkSet {
	t.Helper()
	r := httpDo(t, http.MethodGet, url+protocol.PathJWKS, "", nil)
	var set jwkSet
	if err := json.Unmarshal(r.body, &set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("JWKS %d %s: %v", r.status, r.body, err)
	}
	return set
}
