package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
)

// envRunMain makes the test binary run main() instead of the tests, so that a
// test can start the provider as Terraform does without building it first.
const envRunMain = "CAPISCIO_TEST_RUN_PROVIDER_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestSilenceDiscardedLogs(t *testing.T) {
	t.Parallel()
	off := map[string]string{"TF_LOG_SDK": "OFF", "TF_LOG_SDK_PROTO": "OFF", "TF_LOG_SDK_FRAMEWORK": "OFF", "TF_LOG_PROVIDER_CAPISCIO": "OFF"}
	for name, tc := range map[string]struct {
		env, want map[string]string
	}{
		"no Terraform logging: every SDK logger off": {env: map[string]string{}, want: off},
		"TF_LOG keeps everything as it was":          {env: map[string]string{"TF_LOG": "TRACE"}, want: map[string]string{"TF_LOG": "TRACE"}},
		"TF_LOG_PROVIDER keeps everything as it was": {env: map[string]string{"TF_LOG_PROVIDER": "DEBUG"}, want: map[string]string{"TF_LOG_PROVIDER": "DEBUG"}},
		"a level set for one SDK logger is kept": {
			env:  map[string]string{"TF_LOG_SDK_FRAMEWORK": "TRACE"},
			want: map[string]string{"TF_LOG_SDK": "OFF", "TF_LOG_SDK_PROTO": "OFF", "TF_LOG_SDK_FRAMEWORK": "TRACE", "TF_LOG_PROVIDER_CAPISCIO": "OFF"},
		},
		"TF_LOG_CORE alone keeps no provider logs": {
			env:  map[string]string{"TF_LOG_CORE": "TRACE"},
			want: map[string]string{"TF_LOG_CORE": "TRACE", "TF_LOG_SDK": "OFF", "TF_LOG_SDK_PROTO": "OFF", "TF_LOG_SDK_FRAMEWORK": "OFF", "TF_LOG_PROVIDER_CAPISCIO": "OFF"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{}
			for k, v := range tc.env {
				env[k] = v
			}
			silenceDiscardedLogs(func(k string) string { return env[k] }, func(k, v string) error { env[k] = v; return nil })
			if diff := cmp.Diff(tc.want, env); diff != "" {
				t.Errorf("environment after silenceDiscardedLogs (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCPUProfile starts the provider with CAPISCIO_PROVIDER_CPUPROFILE and the
// go-plugin handshake environment Terraform sets, stops it the way Terraform
// does (the GRPCController.Shutdown RPC, with no TLS since no client
// certificate is offered) or with SIGTERM, and expects a complete profile.
func TestCPUProfile(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		stop     func(t *testing.T, cmd *exec.Cmd, socket string)
		wantExit int
	}{
		"Terraform stops the plugin": {stop: shutdownRPC, wantExit: 0},
		"SIGTERM":                    {stop: sigterm, wantExit: 143},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), envRunMain+"=1", envCPUProfile+"="+dir,
				"TF_PLUGIN_MAGIC_COOKIE=d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
				"PLUGIN_PROTOCOL_VERSIONS=6", "PLUGIN_CLIENT_CERT=")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan struct{})
			go func() { _ = cmd.Wait(); close(exited) }()
			t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })

			// 1|6|unix|/tmp/plugin123|grpc|
			line, err := bufio.NewReader(stdout).ReadString('\n')
			fields := strings.Split(line, "|")
			if err != nil || len(fields) < 5 || fields[2] != "unix" || fields[4] != "grpc" {
				t.Fatalf("handshake line %q (%v); stderr:\n%s", line, err, stderr.String())
			}
			tc.stop(t, cmd, fields[3])
			select {
			case <-exited:
			case <-time.After(20 * time.Second):
				t.Fatalf("the provider did not exit; stderr:\n%s", stderr.String())
			}
			if got := cmd.ProcessState.ExitCode(); got != tc.wantExit {
				t.Errorf("exit code %d, want %d; stderr:\n%s", got, tc.wantExit, stderr.String())
			}

			path := filepath.Join(dir, fmt.Sprintf("provider-%d.pprof", cmd.Process.Pid))
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("no profile: %v; stderr:\n%s", err, stderr.String())
			}
			if !bytes.HasPrefix(raw, []byte{0x1f, 0x8b}) { // runtime/pprof writes gzipped protobuf
				t.Errorf("%s is not a profile: starts with % x", path, raw[:min(len(raw), 4)])
			}
			if _, err := os.Stat(path + ".tmp"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the .tmp file is left behind: %v", err)
			}
		})
	}
}

// shutdownRPC calls go-plugin's GRPCController.Shutdown, as Terraform's
// plugin client does when it is done with a provider. Its Empty message and
// google.protobuf.Empty are the same bytes on the wire.
func shutdownRPC(t *testing.T, _ *exec.Cmd, socket string) {
	t.Helper()
	conn, err := grpc.NewClient("unix:"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The server stops before it replies, so an error here is expected; the
	// exit code and the profile tell whether the shutdown happened.
	_ = conn.Invoke(ctx, "/plugin.GRPCController/Shutdown", &emptypb.Empty{}, &emptypb.Empty{})
}

func sigterm(t *testing.T, cmd *exec.Cmd, _ string) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}
