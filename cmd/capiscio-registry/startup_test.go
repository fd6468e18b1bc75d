package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// fixtureDevKey is the development key of the data directory startup tests
// damage.
const fixtureDevKey = "sk_test_startup-fixture-0123456789abcdef"

// fixtureBadges is how many badge records the fixture store gets on top of
// the ones issued over HTTP: enough for well over 1000 pages of 4 KiB.
const fixtureBadges = 20000

// dataFixture is a healthy data directory: a store with servers, badges and
// more than 1000 pages, and its CA key.
type dataFixture struct {
	dir       string
	jti       string // a badge issued over HTTP
	deepPage  uint64 // a leaf page at or after page 1000 holding two or more badges
	pageSize  int64
	usedBytes int64 // up to the high-water mark: registry.db's length
}

// newDataFixture runs the real binary to create servers and badges, stops it,
// then adds fixtureBadges badge records with bbolt in one transaction (issuing
// them over HTTP would take minutes), shaped as the registry stores them.
func newDataFixture(t *testing.T, bin string) dataFixture {
	t.Helper()
	fx := dataFixture{dir: t.TempDir()}
	p := startProcess(t, bin, fx.dir, "--dev-api-key", fixtureDevKey)
	var serverID string
	for range 2 {
		r := httpDo(t, http.MethodPost, p.url+protocol.PathServers, fixtureDevKey, newServerBody(t))
		var env protocol.Envelope[protocol.Server]
		if r.status != http.StatusCreated || json.Unmarshal(r.body, &env) != nil {
			t.Fatalf("create server: %d %s", r.status, r.body)
		}
		serverID = env.Data.ID
		r = httpDo(t, http.MethodPost, p.url+protocol.Path(protocol.PathServerBadge, serverID), fixtureDevKey, nil)
		var badge protocol.Envelope[protocol.Badge]
		if r.status != http.StatusCreated || json.Unmarshal(r.body, &badge) != nil {
			t.Fatalf("issue badge: %d %s", r.status, r.body)
		}
		fx.jti = badge.Data.JTI
	}
	stopGracefully(t, p)
	addBadgeRecords(t, filepath.Join(fx.dir, "registry.db"), serverID, fixtureBadges)
	fx.deepPage, fx.pageSize, fx.usedBytes = findDeepLeaf(t, filepath.Join(fx.dir, "registry.db"), 1000)
	// bbolt grows its file ahead of use; what lies past the high-water mark
	// is unused, so the fixture drops it to keep its copies small.
	truncate(t, fx.dir, fx.usedBytes)
	return fx
}

func addBadgeRecords(t *testing.T, path, serverID string, n int) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{NoFreelistSync: true})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	err = db.Update(func(tx *bolt.Tx) error {
		badges := tx.Bucket([]byte("badges"))
		for range n {
			jti := uuid.NewString()
			raw, _ := json.Marshal(map[string]any{
				"jti": jti, "serverId": serverID, "org": "dev",
				"sub":           "did:web:127.0.0.1%3A8080:servers:" + serverID,
				"keyThumbprint": strings.Repeat("t", 43),
				"issuedAt":      now, "expiresAt": now.Add(5 * time.Minute),
			})
			if err := badges.Put([]byte(jti), raw); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// findDeepLeaf returns the first page at or after from that is an in-use leaf
// with at least two elements, the store's page size, and its size up to the
// high-water mark.
func findDeepLeaf(t *testing.T, path string, from int) (page uint64, pageSize, used int64) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, PreLoadFreelist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		used = tx.Size()
		for id := from; ; id++ {
			info, err := tx.Page(id)
			if err != nil || info == nil {
				return fmt.Errorf("no in-use leaf page at or after %d (page %d: %v)", from, id, err)
			}
			if info.Type == "leaf" && info.Count >= 2 && info.OverflowCount == 0 {
				page = uint64(id)
				return nil
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return page, int64(db.Info().PageSize), used
}

// copyDir copies the regular files of src into a new temp dir, modes kept.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			t.Fatalf("fixture entry %s: %v (%v)", e.Name(), err, info.Mode())
		}
		raw, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), raw, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// dirDigest maps every entry of dir to its mode, size and SHA-256.
func dirDigest(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		sum := ""
		if info.Mode().IsRegular() {
			raw, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			sum = fmt.Sprintf("%x", sha256.Sum256(raw))
		}
		out[strings.TrimPrefix(path, dir)] = fmt.Sprintf("%v %d %s", info.Mode(), info.Size(), sum)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// patchFile writes data at offset of dir/name.
func patchFile(t *testing.T, dir, name string, offset int64, data []byte) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(data, offset); err != nil {
		t.Fatal(err)
	}
}

func noise(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestServe_RefusesBadDataDir runs the real binary on a copy of a healthy
// data directory damaged one way per case. Each must exit non-zero with one
// line on stderr that names the file and says what to do, with no panic or
// fault output, and leave every byte of the directory as it was.
func TestServe_RefusesBadDataDir(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	fx := newDataFixture(t, bin)
	t.Logf("fixture store: %d bytes, page size %d, damaged leaf page %d", fx.usedBytes, fx.pageSize, fx.deepPage)

	t.Run("healthy copy starts", func(t *testing.T) {
		t.Parallel()
		p := startProcess(t, bin, copyDir(t, fx.dir))
		if r := httpDo(t, http.MethodGet, p.url+protocol.Path(protocol.PathBadgeStatus, fx.jti), "", nil); r.status != http.StatusOK {
			t.Errorf("badge status on the healthy copy: %d %s", r.status, r.body)
		}
		stopGracefully(t, p)
	})

	deep := fx.deepPage * uint64(fx.pageSize)
	cases := map[string]struct {
		damage   func(t *testing.T, dir string)
		wantFile string // the file the message names
		wantHint []string
	}{
		"registry.db is 0 bytes": {
			damage:   func(t *testing.T, dir string) { truncate(t, dir, 0) },
			wantFile: "registry.db", wantHint: []string{"empty (0 bytes)", "restore it from a backup"},
		},
		"registry.db is missing": {
			damage:   func(t *testing.T, dir string) { remove(t, dir, "registry.db") },
			wantFile: "registry.db", wantHint: []string{"is missing", "restore it from a backup", "new, empty data directory"},
		},
		"registry.db truncated to half": {
			damage:   func(t *testing.T, dir string) { truncate(t, dir, fx.usedBytes/2) },
			wantFile: "registry.db", wantHint: []string{"truncated", "restore it from a backup"},
		},
		"registry.db short by its last page": {
			damage:   func(t *testing.T, dir string) { truncate(t, dir, fx.usedBytes-fx.pageSize) },
			wantFile: "registry.db", wantHint: []string{"truncated", "restore it from a backup"},
		},
		"meta page 0 corrupted": {
			damage:   func(t *testing.T, dir string) { patchFile(t, dir, "registry.db", 16+40, []byte{0xff}) },
			wantFile: "registry.db", wantHint: []string{"meta page 0 fails its checksum", "restore it from a backup"},
		},
		"meta page 1 corrupted": {
			damage:   func(t *testing.T, dir string) { patchFile(t, dir, "registry.db", fx.pageSize+16+40, []byte{0xff}) },
			wantFile: "registry.db", wantHint: []string{"meta page 1 fails its checksum", "restore it from a backup"},
		},
		"page 1000 overwritten": {
			damage:   func(t *testing.T, dir string) { patchFile(t, dir, "registry.db", int64(deep), noise(int(fx.pageSize))) },
			wantFile: "registry.db", wantHint: []string{fmt.Sprintf("page %d", fx.deepPage), "restore it from a backup"},
		},
		"page 1000 elements garbled, header intact": {
			damage: func(t *testing.T, dir string) {
				patchFile(t, dir, "registry.db", int64(deep)+16, noise(int(fx.pageSize)-16))
			},
			wantFile: "registry.db", wantHint: []string{fmt.Sprintf("page %d", fx.deepPage), "restore it from a backup"},
		},
		"page 1000 keys out of order": {
			damage:   func(t *testing.T, dir string) { firstKeyToZ(t, dir, int64(deep)) },
			wantFile: "registry.db", wantHint: []string{"corrupt", "restore it from a backup"},
		},
		"ca.jwk missing, badges issued": {
			damage:   func(t *testing.T, dir string) { remove(t, dir, "ca.jwk") },
			wantFile: "ca.jwk", wantHint: []string{fmt.Sprintf("records %d badges", fixtureBadges+2), "restore ca.jwk from a backup", "capiscio-registry ca init --data"},
		},
		"ca.jwk world-readable": {
			damage:   func(t *testing.T, dir string) { chmod(t, dir, "ca.jwk", 0o644) },
			wantFile: "ca.jwk", wantHint: []string{"(mode 0644)", "chmod 600"},
		},
		"ca.jwk group-writable": {
			damage:   func(t *testing.T, dir string) { chmod(t, dir, "ca.jwk", 0o620) },
			wantFile: "ca.jwk", wantHint: []string{"(mode 0620)", "chmod 600"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := copyDir(t, fx.dir)
			tc.damage(t, dir)
			before := dirDigest(t, dir)
			code, stdout, stderr := runRefused(t, bin, dir)

			if code == 0 {
				t.Errorf("exit code 0, want non-zero")
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			t.Logf("exit %d: %s", code, stderr)
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "capiscio-registry serve: ") {
				t.Errorf("stderr has %d lines, want one error line:\n%s", len(lines), stderr)
			}
			for _, want := range append([]string{filepath.Join(dir, tc.wantFile)}, tc.wantHint...) {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			for _, bad := range []string{"panic", "goroutine", "SIGBUS", "SIGSEGV", "fatal error", "runtime error"} {
				if strings.Contains(stdout+stderr, bad) {
					t.Errorf("output contains %q:\n%s%s", bad, stdout, stderr)
				}
			}
			if after := dirDigest(t, dir); !maps.Equal(before, after) {
				t.Errorf("the data directory changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

// runRefused runs serve on dir and returns its exit code and output; it must
// exit on its own within 60 s.
func runRefused(t *testing.T, bin, dir string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--listen", "127.0.0.1:0", "--data", dir)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("serve did not exit within 60 s; stderr:\n%s", errOut.String())
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

func truncate(t *testing.T, dir string, size int64) {
	t.Helper()
	if err := os.Truncate(filepath.Join(dir, "registry.db"), size); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func chmod(t *testing.T, dir, name string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(filepath.Join(dir, name), mode); err != nil {
		t.Fatal(err)
	}
}

// firstKeyToZ overwrites the first key of the leaf page at offset with 'z's:
// the page stays well formed (every length and offset unchanged), but its
// first key now sorts after the second, which only a key order check sees.
func firstKeyToZ(t *testing.T, dir string, offset int64) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	elem := raw[offset+16:] // leaf element 0: flags, pos, ksize, vsize
	pos, ksize := binary.NativeEndian.Uint32(elem[4:]), binary.NativeEndian.Uint32(elem[8:])
	patchFile(t, dir, "registry.db", offset+16+int64(pos), bytes.Repeat([]byte("z"), int(ksize)))
}

// dirWithBadge returns a data directory whose store records one badge, with
// the public key (JWK x) of its CA key.
func dirWithBadge(t *testing.T) (dir, caX string) {
	t.Helper()
	dir = t.TempDir()
	p := serveInProcess(t, dir, "--dev-api-key", fixtureDevKey)
	r := httpDo(t, http.MethodPost, p.url+protocol.PathServers, fixtureDevKey, newServerBody(t))
	var env protocol.Envelope[protocol.Server]
	if r.status != http.StatusCreated || json.Unmarshal(r.body, &env) != nil {
		t.Fatalf("create server: %d %s", r.status, r.body)
	}
	if r = httpDo(t, http.MethodPost, p.url+protocol.Path(protocol.PathServerBadge, env.Data.ID), fixtureDevKey, nil); r.status != http.StatusCreated {
		t.Fatalf("issue badge: %d %s", r.status, r.body)
	}
	caX = getJWKS(t, p.url).Keys[0].X
	if code := p.stop(); code != exitOK {
		t.Fatalf("serve exit %d", code)
	}
	return dir, caX
}

// TestCAInit runs `ca init` on the data directories it is for and the ones
// it must refuse, and serves the result.
func TestCAInit(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		setup      func(t *testing.T) (dir, oldX string)
		wantCode   int
		wantStderr []string
		wantServe  bool // serve starts afterwards with the new key
	}{
		"store with badges, ca.jwk lost": {
			setup: func(t *testing.T) (string, string) {
				dir, x := dirWithBadge(t)
				remove(t, dir, "ca.jwk")
				return dir, x
			},
			wantCode: exitOK, wantStderr: []string{"WARNING: this is a new CA key", "(1 recorded in this store) no longer verify"}, wantServe: true,
		},
		"new data directory": {
			setup:    func(t *testing.T) (string, string) { return filepath.Join(t.TempDir(), "new"), "" },
			wantCode: exitOK, wantStderr: []string{"WARNING", "(0 recorded"}, wantServe: true,
		},
		"ca.jwk exists": {
			setup:    dirWithBadge,
			wantCode: exitError, wantStderr: []string{"ca.jwk already exists", "never replaces", "move the file away first"},
		},
		"registry.db is 0 bytes": {
			setup: func(t *testing.T) (string, string) {
				dir, x := dirWithBadge(t)
				remove(t, dir, "ca.jwk")
				truncate(t, dir, 0)
				return dir, x
			},
			wantCode: exitError, wantStderr: []string{"registry.db is empty (0 bytes)", "restore it from a backup"},
		},
		"registry.db corrupt": {
			setup: func(t *testing.T) (string, string) {
				dir, x := dirWithBadge(t)
				remove(t, dir, "ca.jwk")
				patchFile(t, dir, "registry.db", 16+40, []byte{0xff})
				return dir, x
			},
			wantCode: exitError, wantStderr: []string{"registry.db is corrupt: meta page 0 fails its checksum"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir, oldX := tc.setup(t)
			before := map[string]string{}
			if _, err := os.Stat(dir); err == nil {
				before = dirDigest(t, dir)
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"ca", "init", "--data", dir}, &stdout, &stderr)
			if code != tc.wantCode {
				t.Fatalf("exit code %d, want %d; stderr: %s", code, tc.wantCode, stderr.String())
			}
			for _, want := range tc.wantStderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q: %s", want, stderr.String())
				}
			}
			if code != exitOK {
				if after := dirDigest(t, dir); !maps.Equal(before, after) {
					t.Errorf("a refused ca init changed the data directory:\nbefore %v\nafter  %v", before, after)
				}
				return
			}
			prefix := "created the badge CA key " + filepath.Join(dir, "ca.jwk") + " (kid "
			if !strings.HasPrefix(stdout.String(), prefix) {
				t.Fatalf("stdout = %q, want it to start with %q", stdout.String(), prefix)
			}
			kid := strings.TrimSuffix(strings.TrimPrefix(stdout.String(), prefix), ")\n")
			if info, err := os.Stat(filepath.Join(dir, "ca.jwk")); err != nil || info.Mode().Perm() != 0o600 {
				t.Errorf("ca.jwk: %v, mode %v; want 0600", err, info.Mode().Perm())
			}
			if tc.wantServe {
				p := serveInProcess(t, dir)
				if got := getJWKS(t, p.url).Keys[0]; got.Kid != kid || got.X == oldX {
					t.Errorf("serve signs with %+v, want the new key %q (the old key's x was %q)", got, kid, oldX)
				}
			}
		})
	}
}
