//go:build unix

package cpuprofile

import (
	"syscall"
	"time"
)

// ProcessCPU is the user plus system CPU time this process has used so far,
// all threads. Benchmarks report it per operation (cpu-µs/op): unlike wall
// time it does not depend much on what else runs on a shared machine.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
