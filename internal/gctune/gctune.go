// Package gctune sets the garbage collector of the provider process.
//
// The provider lives for one Terraform command and allocates heavily per RPC
// (the plugin framework converts every value between msgpack, tftypes and
// reflection) while its live heap is small: with Go's default GOGC=100 it
// collects about every millisecond of an apply. A higher GOGC saves that
// work, but the live heap does not stay small in a large run: the framework
// keeps every request's context until the provider stops
// (proto6server.Server.registerContext), about 16 KB per RPC, so a plan of
// 1,000 identities ends with some 50 MB live. A fixed GOGC of 400 would then
// grow the heap to five times that, and a fixed memory limit below the live
// heap would make the collector run without pause.
//
// Start therefore sets GOGC from the live heap after every collection: 400
// while the heap can grow to that within Budget, less as the live heap grows,
// and never below Go's default of 100. The process never holds more than
// Budget because of this package, nor more than it would with Go's defaults
// once its live heap passes Budget/2.
package gctune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

const (
	// MaxPercent is GOGC while the live heap is small.
	MaxPercent = 400
	// MinPercent is Go's default, used once the live heap is large.
	MinPercent = 100
	// Budget is the heap size that a GOGC above MinPercent may grow to.
	Budget = 160 << 20
)

// Percent is the GOGC for a live heap of live bytes: the largest percent
// whose heap goal, live × (1 + percent/100), stays within Budget, clamped to
// [MinPercent, MaxPercent].
func Percent(live uint64) int {
	if live == 0 {
		return MaxPercent
	}
	p := int((Budget/float64(live) - 1) * 100)
	return min(max(p, MinPercent), MaxPercent)
}

var once sync.Once

// Start sets GOGC to MaxPercent and retunes it after every collection, unless
// the GOGC environment variable is set (the user's choice wins). It returns
// whether it took over.
func Start(getenv func(string) string) bool {
	if getenv("GOGC") != "" {
		return false
	}
	once.Do(func() {
		debug.SetGCPercent(MaxPercent)
		arm()
	})
	return true
}

// sentinel is an object that only a collection frees; its finalizer runs once
// after each GC cycle. It is larger than 16 bytes and holds a pointer, so the
// tiny allocator, whose objects may never be finalized, does not serve it.
type sentinel struct {
	_ [32]byte
	p *int
}

var liveHeap = []metrics.Sample{{Name: "/gc/heap/live:bytes"}}

func arm() {
	s := &sentinel{p: new(int)}
	runtime.SetFinalizer(s, func(*sentinel) {
		metrics.Read(liveHeap)
		if liveHeap[0].Value.Kind() == metrics.KindUint64 {
			debug.SetGCPercent(Percent(liveHeap[0].Value.Uint64()))
		}
		arm()
	})
}
