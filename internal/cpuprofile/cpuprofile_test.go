package cpuprofile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// gzipMagic starts every profile runtime/pprof writes (gzipped protobuf).
var gzipMagic = []byte{0x1f, 0x8b}

// Not parallel: the CPU profiler is process-wide.
func TestStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	stop, err := Start(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s exists before stop (err %v): a reader could take a partial profile", path, err)
	}
	spin(50 * time.Millisecond)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Errorf("second stop: %v", err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, gzipMagic) {
		t.Errorf("profile starts with % x, want gzip data", raw[:min(len(raw), 4)])
	}
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the .tmp file is left behind: %v", err)
	}

	// The profiler is free again once stopped.
	stop2, err := Start(filepath.Join(t.TempDir(), "again.pprof"))
	if err != nil {
		t.Fatalf("starting a second profile after stop: %v", err)
	}
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
}

func TestStart_Errors(t *testing.T) {
	if _, err := Start(filepath.Join(t.TempDir(), "missing", "cpu.pprof")); err == nil {
		t.Error("Start in a missing directory: no error")
	}

	dir := t.TempDir()
	stop, err := Start(filepath.Join(dir, "first.pprof"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stop() }()
	if _, err := Start(filepath.Join(dir, "second.pprof")); err == nil {
		t.Error("a second profile while one runs: no error")
	}
	if _, err := os.Stat(filepath.Join(dir, "second.pprof.tmp")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the failed start left its file behind: %v", err)
	}
}

// spin burns CPU for d so that the profile holds samples.
func spin(d time.Duration) {
	x := 0
	for end := time.Now().Add(d); time.Now().Before(end); {
		for i := range 10000 {
			x += i * i
		}
	}
	_ = x
}
