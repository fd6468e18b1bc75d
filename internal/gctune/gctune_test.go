package gctune

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		live uint64
		want int
	}{
		{0, MaxPercent},
		{8 << 20, MaxPercent},   // goal 40 MiB
		{32 << 20, MaxPercent},  // goal exactly Budget
		{40 << 20, 300},         // goal 160 MiB
		{64 << 20, 150},         // goal 160 MiB
		{80 << 20, MinPercent},  // goal 160 MiB = Go's default
		{500 << 20, MinPercent}, // never below Go's default
		{1 << 40, MinPercent},
	} {
		got := Percent(tc.live)
		if got != tc.want {
			t.Errorf("Percent(%d MiB) = %d, want %d", tc.live>>20, got, tc.want)
		}
		if goal := float64(tc.live) * (1 + float64(got)/100); got > MinPercent && goal > Budget+1 {
			t.Errorf("Percent(%d MiB) = %d: heap goal %.0f MiB is over the budget", tc.live>>20, got, goal/(1<<20))
		}
	}
}

// TestStart is not parallel: it changes the process's GC settings. It holds a
// live heap past the budget and checks that the collector is retuned down to
// Go's default, then back up once the heap is released.
func TestStart(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })

	if Start(func(string) string { return "50" }) {
		t.Fatal("Start took over although GOGC is set")
	}
	if !Start(func(string) string { return "" }) {
		t.Fatal("Start did not take over with GOGC unset")
	}
	holdLiveHeap(t, 100) // over Budget/2
	if got := waitForPercent(t, MaxPercent); got != MaxPercent {
		t.Fatalf("after the heap was released, GOGC = %d, want %d", got, MaxPercent)
	}
}

// holdLiveHeap keeps mib MiB live until the tuner has set Go's default GOGC.
func holdLiveHeap(t *testing.T, mib int) {
	t.Helper()
	big := make([][]byte, 0, mib)
	for range mib {
		big = append(big, make([]byte, 1<<20))
	}
	if got := waitForPercent(t, MinPercent); got != MinPercent {
		t.Fatalf("with %d MiB live, GOGC = %d, want %d", len(big), got, MinPercent)
	}
	runtime.KeepAlive(big)
}

// waitForPercent collects until the tuner has set want (the finalizer runs
// asynchronously after a cycle) or a few seconds have passed, and returns the
// percent in force.
func waitForPercent(t *testing.T, want int) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
		got := debug.SetGCPercent(-1) // read it: SetGCPercent returns the previous value
		debug.SetGCPercent(got)
		if got == want || time.Now().After(deadline) {
			return got
		}
	}
}
