// Package cpuprofile writes a CPU profile of the running process for the
// opt-in profiling hooks of the provider (CAPISCIO_PROVIDER_CPUPROFILE, read
// in main.go) and of the local registry (capiscio-registry serve
// --cpuprofile). Read the result with `go tool pprof -top FILE`.
package cpuprofile

import (
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"sync"
)

// Start starts the CPU profiler, writing to path+".tmp", and returns the
// function that stops it and renames the file to path. A file at path is
// therefore always a complete profile: a process killed before stop leaves
// only the .tmp file, which pprof cannot read. stop may be called more than
// once and from several goroutines; only the first call does anything.
func Start(path string) (stop func() error, err error) {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return nil, fmt.Errorf("creating the CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return nil, errors.Join(fmt.Errorf("starting the CPU profile: %w", err), f.Close(), os.Remove(tmp))
	}
	var once sync.Once
	var stopErr error
	return func() error {
		once.Do(func() {
			pprof.StopCPUProfile() // flushes the samples to f
			if err := f.Close(); err != nil {
				stopErr = fmt.Errorf("writing the CPU profile: %w", err)
				return
			}
			if err := os.Rename(tmp, path); err != nil {
				stopErr = fmt.Errorf("writing the CPU profile: %w", err)
			}
		})
		return stopErr
	}, nil
}
