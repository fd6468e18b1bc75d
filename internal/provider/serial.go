package provider

import (
	"sync"
	"time"
)

// key_serial: an integer that is new with every new key of a resource and
// larger than the key before.
//
// A new key's serial is the unix milliseconds of its creation, raised above
// every serial this provider process has seen in state (a tainted identity is
// deleted before its replacement is created, in the same process). A
// replacement is always created later than the key it replaces, so its serial
// is larger; a millisecond is far shorter than any plan and apply, and
// version 0's serials (unix seconds) are all smaller.
//
// Why not the prior serial + 1: Terraform plans a replacement's new object
// without the prior object, and re-plans it during apply after the prior
// object is gone, so the provider cannot carry the prior serial from plan to
// apply (Create gets no private state either).
//
// The serial is only a number: key_created_at is the real time, never moved
// to fit the serial. (The first versions used one clock-derived value for
// both, made unique by adding seconds, so 1,000 creates in 10 s pushed the
// last key_created_at 989 s into the future, and rotate_after counted from
// there.)
type keySerials struct {
	mu   sync.Mutex
	seen int64
}

// fresh returns the serial of a key created at now.
func (g *keySerials) fresh(now time.Time) int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return max(now.UnixMilli(), g.seen+1)
}

// observe records a serial found in state.
func (g *keySerials) observe(serial int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.seen = max(g.seen, serial)
}
