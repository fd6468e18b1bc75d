package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

func TestRun_CommandLine(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		"no command":          {args: nil, wantCode: exitUsage, wantStderr: "Usage:"},
		"unknown command":     {args: []string{"start"}, wantCode: exitUsage, wantStderr: `unknown command "start"`},
		"help":                {args: []string{"help"}, wantCode: exitOK, wantStdout: "keys create"},
		"serve without data":  {args: []string{"serve"}, wantCode: exitUsage, wantStderr: "--data DIR is required"},
		"serve unknown flag":  {args: []string{"serve", "--port", "1"}, wantCode: exitUsage, wantStderr: "flag provided but not defined: -port"},
		"serve extra arg":     {args: []string{"serve", "--data", "x", "now"}, wantCode: exitUsage, wantStderr: `unexpected argument "now"`},
		"serve bad TTL":       {args: []string{"serve", "--data", "@tmp", "--listen", "127.0.0.1:0", "--badge-ttl", "30s"}, wantCode: exitError, wantStderr: "badge TTL"},
		"serve bad rate":      {args: []string{"serve", "--data", "@tmp", "--listen", "127.0.0.1:0", "--rate-limit", "-5"}, wantCode: exitError, wantStderr: "rate limit"},
		"serve bad listen":    {args: []string{"serve", "--data", "@tmp", "--listen", "nowhere:http:x"}, wantCode: exitError, wantStderr: "listening on"},
		"serve bad issuer":    {args: []string{"serve", "--data", "@tmp", "--listen", "127.0.0.1:0", "--issuer", "https://h/p"}, wantCode: exitError, wantStderr: "origin"},
		"serve help":          {args: []string{"serve", "-h"}, wantCode: exitOK, wantStderr: "-ready-file"},
		"serve weak dev key":  {args: []string{"serve", "--data", "@tmp", "--dev-api-key", "sk_test_0123456789abcdefghij"}, wantCode: exitUsage, wantStderr: "--dev-api-key: the development API key has 20 characters after its prefix, fewer than 22"},
		"serve bad profile":   {args: []string{"serve", "--data", "@tmp", "--cpuprofile", "/nonexistent/cpu.pprof"}, wantCode: exitError, wantStderr: "creating the CPU profile"},
		"keys alone":          {args: []string{"keys"}, wantCode: exitUsage, wantStderr: "keys create"},
		"keys create no org":  {args: []string{"keys", "create", "--data", "x"}, wantCode: exitUsage, wantStderr: "--org NAME"},
		"keys create bad org": {args: []string{"keys", "create", "--data", "@tmp", "--org", "a b"}, wantCode: exitError, wantStderr: "organisation name"},
		"ca alone":            {args: []string{"ca"}, wantCode: exitUsage, wantStderr: "ca init --data DIR"},
		"ca init no data":     {args: []string{"ca", "init"}, wantCode: exitUsage, wantStderr: "--data DIR is required"},
		"ca init extra arg":   {args: []string{"ca", "init", "--data", "@tmp", "now"}, wantCode: exitUsage, wantStderr: `unexpected argument "now"`},
		"ca init help":        {args: []string{"ca", "init", "-h"}, wantCode: exitOK, wantStderr: "every badge signed by the earlier key stops verifying"},
		"help names ca init":  {args: []string{"help"}, wantCode: exitOK, wantStdout: "ca init --data DIR"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				if a == "@tmp" {
					a = t.TempDir()
				}
				args[i] = a
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), args, &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.wantStdout) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tc.wantStdout)
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tc.wantStderr)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitForFile returns the trimmed content of path once it exists.
func waitForFile(t *testing.T, path string, done <-chan struct{}) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		raw, err := os.ReadFile(path)
		if err == nil {
			return strings.TrimSpace(string(raw))
		}
		select {
		case <-done:
			t.Fatalf("the registry exited before writing %s", path)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("timed out waiting for %s", path)
	return ""
}

// TestServe_InProcess runs serve in this process, talks to it, and stops it
// through its context as a signal would.
func TestServe_InProcess(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	const devKey = "sk_test_in-process-0123456789abcdef"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan struct{})
	code := -1
	go func() {
		defer close(done)
		code = run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "data"), "--ready-file", ready, "--dev-api-key", devKey}, &stdout, &stderr)
	}()
	url := waitForFile(t, ready, done)

	if want := "capiscio-registry listening on " + url + "\n"; stdout.String() != want {
		t.Errorf("stdout = %q, want %q (a supplied dev key is never printed)", stdout.String(), want)
	}
	resp := httpDo(t, http.MethodGet, url+protocol.PathServers, devKey, nil)
	if resp.status != http.StatusOK {
		t.Errorf("GET servers with the dev key: %d %s", resp.status, resp.body)
	}

	cancel()
	<-done
	if code != exitOK {
		t.Errorf("exit code %d, want 0; stderr:\n%s", code, stderr.String())
	}
	if _, err := os.Stat(ready); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ready file still present after a clean shutdown: %v", err)
	}
	log := stderr.String()
	for _, want := range []string{"registry started", "method=GET path=/v1/sdk/servers status=200", "org=dev", "shutting down"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, devKey) {
		t.Errorf("the log contains the API key")
	}
}

// inProcess is `capiscio-registry serve` running in this process.
type inProcess struct {
	url            string
	stdout, stderr *syncBuffer
	stop           func() int // cancels serve and returns its exit code
}

// serveInProcess runs serve on a free port with extra flags and waits until
// it is ready. The test's cleanup stops it if the test has not.
func serveInProcess(t *testing.T, data string, extra ...string) *inProcess {
	t.Helper()
	ready := filepath.Join(t.TempDir(), "ready")
	ctx, cancel := context.WithCancel(context.Background())
	p := &inProcess{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	done := make(chan struct{})
	code := -1
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data", data, "--ready-file", ready}, extra...)
	go func() {
		defer close(done)
		code = run(ctx, args, p.stdout, p.stderr)
	}()
	p.stop = func() int { cancel(); <-done; return code }
	t.Cleanup(func() { p.stop() })
	p.url = waitForFile(t, ready, done)
	return p
}

func TestServe_StatsAccess(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		flags      []string
		wantStatus int
	}{
		"default: needs an API key":      {wantStatus: http.StatusUnauthorized},
		"--public-stats: no key needed":  {flags: []string{"--public-stats"}, wantStatus: http.StatusOK},
		"--public-stats=false: explicit": {flags: []string{"--public-stats=false"}, wantStatus: http.StatusUnauthorized},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := serveInProcess(t, t.TempDir(), tc.flags...)
			if r := httpDo(t, http.MethodGet, p.url+"/debug/stats", "", nil); r.status != tc.wantStatus {
				t.Errorf("GET /debug/stats without a key: %d %s, want %d", r.status, r.body, tc.wantStatus)
			}
			key := strings.TrimSpace(strings.SplitN(p.stdout.String(), "dev API key: ", 2)[1])
			if r := httpDo(t, http.MethodGet, p.url+"/debug/stats", key, nil); r.status != http.StatusOK {
				t.Errorf("GET /debug/stats with the dev key: %d %s, want 200", r.status, r.body)
			}
		})
	}
}

// TestServe_SuppliedDevKeyNeverPrinted checks that a development key given
// by flag or environment never appears in the output, also when it is
// refused, while a minted key is printed once. Not parallel: it sets the
// environment.
func TestServe_SuppliedDevKeyNeverPrinted(t *testing.T) {
	const strong = "sk_test_supplied-never-printed-0123456789"
	const weak = "sk_test_weak-key-123"
	cases := map[string]struct {
		flag, env  string
		wantCode   int    // of a start and stop; exitUsage: refused at once
		wantKey    string // the key that must work
		wantStdout string // a line stdout must contain
	}{
		"flag":               {flag: strong, wantCode: exitOK, wantKey: strong},
		"environment":        {env: strong, wantCode: exitOK, wantKey: strong},
		"flag over env":      {flag: strong, env: "sk_test_the-environment-key-is-ignored", wantCode: exitOK, wantKey: strong},
		"weak flag":          {flag: weak, wantCode: exitUsage},
		"weak environment":   {env: weak, wantCode: exitUsage},
		"weak flag over env": {flag: weak, env: strong, wantCode: exitUsage},
		"minted":             {wantCode: exitOK, wantStdout: "dev API key: sk_test_"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Setenv(envDevAPIKey, tc.env)
			data := t.TempDir()
			var args []string
			if tc.flag != "" {
				args = []string{"--dev-api-key", tc.flag}
			}
			var stdout, stderr string
			if tc.wantCode == exitUsage {
				var out, errOut bytes.Buffer
				code := run(context.Background(), append([]string{"serve", "--listen", "127.0.0.1:0", "--data", data}, args...), &out, &errOut)
				if code != exitUsage {
					t.Errorf("exit code %d, want %d", code, exitUsage)
				}
				if !strings.Contains(errOut.String(), "openssl rand") || strings.Count(errOut.String(), "\n") != 1 {
					t.Errorf("stderr = %q, want one line saying how to make a key", errOut.String())
				}
				stdout, stderr = out.String(), errOut.String()
			} else {
				p := serveInProcess(t, data, args...)
				if tc.wantKey != "" {
					if r := httpDo(t, http.MethodGet, p.url+protocol.PathServers, tc.wantKey, nil); r.status != http.StatusOK {
						t.Errorf("the supplied key is not accepted: %d %s", r.status, r.body)
					}
				}
				if code := p.stop(); code != tc.wantCode {
					t.Errorf("exit code %d, want %d", code, tc.wantCode)
				}
				stdout, stderr = p.stdout.String(), p.stderr.String()
			}
			for _, secret := range []string{tc.flag, tc.env} {
				if secret != "" && (strings.Contains(stdout, secret) || strings.Contains(stderr, secret)) {
					t.Errorf("the supplied key %q was printed:\nstdout: %s\nstderr: %s", secret, stdout, stderr)
				}
			}
			if got := strings.Count(stdout, "dev API key"); got != strings.Count(tc.wantStdout, "dev API key") {
				t.Errorf("stdout has %d dev API key lines, want %d: %q", got, strings.Count(tc.wantStdout, "dev API key"), stdout)
			}
			if !strings.Contains(stdout, tc.wantStdout) {
				t.Errorf("stdout %q lacks %q", stdout, tc.wantStdout)
			}
		})
	}
}

func TestKeysCreate(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"keys", "create", "--org", "acme", "--data", data}, &stdout, &stderr); code != exitOK {
		t.Fatalf("keys create: exit %d: %s", code, stderr.String())
	}
	key := strings.TrimSpace(stdout.String())
	if !strings.HasPrefix(key, "sk_test_") {
		t.Fatalf("printed %q, want an sk_test_ key", key)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := filepath.Join(t.TempDir(), "ready")
	done := make(chan struct{})
	go func() {
		defer close(done)
		run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--data", data, "--ready-file", ready}, io.Discard, io.Discard)
	}()
	url := waitForFile(t, ready, done)
	if resp := httpDo(t, http.MethodGet, url+protocol.PathServers, key, nil); resp.status != http.StatusOK {
		t.Errorf("the new key is not accepted: %d %s", resp.status, resp.body)
	}
	cancel()
	<-done
}

type reply struct {
	status int
	body   []byte
}

// httpDo sends one request and returns its status and body.
func httpDo(t *testing.T, method, url, apiKey string, body any) reply {
	t.Helper()
	r, err := tryHTTP(method, url, apiKey, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func tryHTTP(method, url, apiKey string, body any) (reply, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return reply{}, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return reply{}, err
	}
	if apiKey != "" {
		req.Header.Set(protocol.HeaderAPIKey, apiKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, body: raw}, err
}

func newServerBody(t *testing.T) protocol.CreateServerRequest {
	t.Helper()
	m, err := keys.NewMaterial(nil)
	if err != nil {
		t.Fatal(err)
	}
	return protocol.CreateServerRequest{DID: m.DIDKey, PublicKey: m.PEM}
}
