package registrytest

// Fault injection around the REAL in-process registry. A Faults value is an
// http middleware (pass Faults.Option() to Start) that, by deterministic
// schedules, replaces or disturbs some requests before or after the real
// handler runs: 429s with Retry-After in both forms, 5xx replies, connections
// reset after the registry committed a request, replies slower than the
// client's timeout, and a "registry down" switch that drops every connection.
// The registry's store is never touched, so what the registry committed stays
// committed whatever the client saw.
//
// Schedules are deterministic under concurrency: every Rule numbers the
// requests it considers with an atomic counter and picks the k-th of them by
// arithmetic on that number alone. Which request gets which number depends on
// arrival order, but how many are picked (and so how many faults fire) does
// not. Every Rule and the down switch count what they did, so a test can
// assert that its faults actually fired.

import (
	"bytes"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// BypassHeader exempts a request from every fault and from the down switch
// when set to any value: tests use it to look at the registry while faults
// are on. The provider never sends it.
const BypassHeader = "X-Registrytest-Bypass-Faults"

// PerKey says how a Rule treats repeated requests for the same logical
// operation. A request's key is its Idempotency-Key header when it has one,
// else its method and path (so a retried GET or badge POST for the same
// server has the same key).
type PerKey int

const (
	// EveryRequest considers every matching request, retries included.
	EveryRequest PerKey = iota
	// FirstAttempt considers only the first request of each key; repeats
	// (client retries, the transport's replays) always pass. A fault with
	// this schedule is at most one per logical request, so a client with at
	// least one retry always absorbs it.
	FirstAttempt
	// Sticky considers the first request of each key; once a key is picked,
	// every later request with that key gets the fault too, so the client's
	// retries cannot absorb it. Repeats of keys not picked pass.
	Sticky
)

// Rule picks requests and applies its Fault to them.
type Rule struct {
	// Method matches the request method; "" matches any.
	Method string
	// Paths are path.Match patterns ("/v1/sdk/servers/*/badge"); the
	// request path must match one. None matches every path.
	Paths []string
	// Every picks every Every-th considered request (0 or 1: every one).
	Every int
	// Skip lets the first Skip considered requests pass.
	Skip int
	// Limit caps the picks (for Sticky: the keys picked); 0 = no cap.
	Limit int
	// Per is how repeats of a key are treated.
	Per PerKey
	// Fault is what happens to a picked request.
	Fault Fault

	considered atomic.Int64
	fired      atomic.Int64
	keys       sync.Map // request key -> *atomic.Bool (picked)
	byLabel    sync.Map // label -> *atomic.Int64
}

// Fired reports how many requests this rule's fault was applied to.
func (r *Rule) Fired() int64 { return r.fired.Load() }

// FiredAs reports how many times the fault fired with a given label, e.g.
// "status 502" for Status(500, 502, 503).
func (r *Rule) FiredAs(label string) int64 {
	if v, ok := r.byLabel.Load(label); ok {
		n, _ := v.(*atomic.Int64)
		return n.Load()
	}
	return 0
}

func (r *Rule) matches(req *http.Request) bool {
	if r.Method != "" && r.Method != req.Method {
		return false
	}
	if len(r.Paths) == 0 {
		return true
	}
	for _, p := range r.Paths {
		if ok, _ := path.Match(p, req.URL.Path); ok {
			return true
		}
	}
	return false
}

// pickOrdinal reports whether the n-th considered request (1-based) is picked.
func (r *Rule) pickOrdinal(n int64) bool {
	every := int64(max(r.Every, 1))
	i := n - int64(r.Skip) - 1
	if i < 0 || i%every != 0 {
		return false
	}
	return r.Limit <= 0 || i/every < int64(r.Limit)
}

// picks decides whether req gets this rule's fault.
func (r *Rule) picks(req *http.Request) bool {
	if !r.matches(req) {
		return false
	}
	if r.Per == EveryRequest {
		return r.pickOrdinal(r.considered.Add(1))
	}
	v, seen := r.keys.LoadOrStore(requestKey(req), new(atomic.Bool))
	picked, _ := v.(*atomic.Bool)
	if seen {
		return r.Per == Sticky && picked.Load()
	}
	if r.pickOrdinal(r.considered.Add(1)) {
		picked.Store(true)
		return true
	}
	return false
}

func (r *Rule) countLabel(label string) {
	v, _ := r.byLabel.LoadOrStore(label, new(atomic.Int64))
	n, _ := v.(*atomic.Int64)
	n.Add(1)
}

func requestKey(req *http.Request) string {
	if k := req.Header.Get(protocol.HeaderIdempotencyKey); k != "" {
		return "idem " + k
	}
	return req.Method + " " + req.URL.Path
}

// Fault is what a Rule does to a request it picks.
type Fault struct {
	name string
	// serve handles the picked request; ordinal is the rule's fire number
	// (1-based). It returns the label the fire is counted under.
	serve func(f *Faults, next http.Handler, w http.ResponseWriter, r *http.Request, ordinal int64) string
}

// String names the fault.
func (ft Fault) String() string { return ft.name }

// RateLimit429Seconds answers 429 with "Retry-After: <secs>" (delta-seconds)
// without calling the registry.
func RateLimit429Seconds(secs int) Fault {
	return Fault{name: fmt.Sprintf("429 Retry-After %d s", secs), serve: func(_ *Faults, _ http.Handler, w http.ResponseWriter, _ *http.Request, _ int64) string {
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeFaultError(w, http.StatusTooManyRequests, protocol.CodeRateLimited, "injected rate limit; retry in "+strconv.Itoa(secs)+" s")
		return "429 seconds"
	}}
}

// RateLimit429Date answers 429 with Retry-After as an HTTP-date ahead of now
// by ahead (whole seconds: HTTP-dates have no fraction, so the client waits
// between ahead-1s and ahead), without calling the registry.
func RateLimit429Date(ahead time.Duration) Fault {
	return Fault{name: "429 Retry-After HTTP-date +" + ahead.String(), serve: func(_ *Faults, _ http.Handler, w http.ResponseWriter, _ *http.Request, _ int64) string {
		w.Header().Set("Retry-After", time.Now().Add(ahead).UTC().Format(http.TimeFormat))
		writeFaultError(w, http.StatusTooManyRequests, protocol.CodeRateLimited, "injected rate limit; retry at the Retry-After date")
		return "429 date"
	}}
}

// Status answers with an error status without calling the registry. With
// several codes the fires cycle through them in order (counted as
// "status <code>").
func Status(codes ...int) Fault {
	if len(codes) == 0 {
		panic("registrytest.Status: no status code")
	}
	names := make([]string, len(codes))
	for i, c := range codes {
		names[i] = strconv.Itoa(c)
	}
	return Fault{name: "status " + strings.Join(names, "/"), serve: func(_ *Faults, _ http.Handler, w http.ResponseWriter, _ *http.Request, ordinal int64) string {
		code := codes[(ordinal-1)%int64(len(codes))]
		writeFaultError(w, code, protocol.CodeInternal, "injected "+http.StatusText(code))
		return "status " + strconv.Itoa(code)
	}}
}

// ResetAfterCommit lets the real handler run to the end into a buffer, so the
// registry commits whatever the request does, then resets the connection
// without writing a byte of the reply: the client sees a reset or EOF and
// cannot know the outcome.
func ResetAfterCommit() Fault {
	return Fault{name: "reset after commit", serve: func(f *Faults, next http.Handler, w http.ResponseWriter, r *http.Request, _ int64) string {
		buf := &bufferedWriter{header: http.Header{}}
		next.ServeHTTP(buf, r)
		f.observe(buf.header)
		resetConn(w)
		return "reset after commit"
	}}
}

// BendReply lets the real handler run to the end into a buffer, so the
// registry commits whatever the request does, then sends the client what
// bend makes of the reply instead: a proxy or a registry bug that answers a
// request it carried out with a reply the client cannot read or should not
// believe.
func BendReply(name string, bend func(status int, body []byte) (int, []byte)) Fault {
	return Fault{name: "bent reply: " + name, serve: func(f *Faults, next http.Handler, w http.ResponseWriter, r *http.Request, _ int64) string {
		buf := &bufferedWriter{header: http.Header{}}
		next.ServeHTTP(buf, r)
		f.observe(buf.header)
		buf.status, buf.body = bendBody(bend, max(buf.status, http.StatusOK), buf.body.Bytes())
		buf.header.Del("Content-Length")
		buf.flushTo(w)
		return "bent reply: " + name
	}}
}

func bendBody(bend func(int, []byte) (int, []byte), status int, body []byte) (int, bytes.Buffer) {
	newStatus, newBody := bend(status, body)
	var out bytes.Buffer
	out.Write(newBody)
	return newStatus, out
}

// SlowReply lets the real handler run (the registry commits), then holds the
// reply for d before writing it. With d longer than the client's request
// timeout the client gives up first; the held reply is then discarded.
func SlowReply(d time.Duration) Fault {
	return Fault{name: "slow reply " + d.String(), serve: func(f *Faults, next http.Handler, w http.ResponseWriter, r *http.Request, _ int64) string {
		buf := &bufferedWriter{header: http.Header{}}
		next.ServeHTTP(buf, r)
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-timer.C:
			f.observe(buf.header)
			buf.flushTo(w)
		case <-r.Context().Done(): // the client went away
		}
		return "slow reply"
	}}
}

// GoDown lets the picked request through to the registry normally (its reply
// is delivered), then turns the down switch on for d (0: until SetDown(false)
// or Disable). Use it with Skip: K-1, Limit: 1 on creates to take the
// registry down after K creates, in the middle of an apply: a stop between
// two requests.
func GoDown(d time.Duration) Fault {
	return Fault{name: "go down for " + d.String(), serve: func(f *Faults, next http.Handler, w http.ResponseWriter, r *http.Request, _ int64) string {
		f.passThrough(next, w, r)
		f.SetDownFor(d)
		return "go down"
	}}
}

// KillAfterCommit turns the down switch on for d (0: until SetDown(false) or
// Disable) as the picked request arrives, lets the registry commit it, and
// resets its connection instead of replying: a registry killed after its
// commit but before its reply, the worst moment for a create. Requests
// arriving after it are reset by the down switch.
func KillAfterCommit(d time.Duration) Fault {
	return Fault{name: "kill after commit, down for " + d.String(), serve: func(f *Faults, next http.Handler, w http.ResponseWriter, r *http.Request, _ int64) string {
		f.SetDownFor(d)
		buf := &bufferedWriter{header: http.Header{}}
		next.ServeHTTP(buf, r)
		f.observe(buf.header)
		resetConn(w)
		return "kill after commit"
	}}
}

// Faults is the fault-injection middleware. It starts enabled.
type Faults struct {
	rules    []*Rule
	disabled atomic.Bool

	down      atomic.Bool
	downGen   atomic.Int64
	downDrops atomic.Int64
	downs     atomic.Int64

	replayed atomic.Int64
}

// NewFaults returns an enabled Faults applying rules in order: the first rule
// that picks a request applies its fault, and the later rules do not see it.
func NewFaults(rules ...*Rule) *Faults {
	for _, r := range rules {
		if r.Fault.serve == nil {
			panic("registrytest.NewFaults: a rule has no Fault")
		}
	}
	return &Faults{rules: rules}
}

// Option installs the middleware on a registry (outermost).
func (f *Faults) Option() Option { return WithMiddleware(f.Middleware) }

// Enable turns the rules on.
func (f *Faults) Enable() { f.disabled.Store(false) }

// Disable turns the rules off and brings the registry back up.
func (f *Faults) Disable() {
	f.disabled.Store(true)
	f.SetDown(false)
}

// SetDown turns the down switch on or off. While it is on every connection is
// reset before the registry sees the request, as if the registry process were
// gone; turning it off is the restart. The store is untouched either way.
// (Honestly: the in-process listener stays up, so the client sees resets, not
// "connection refused"; both are network errors to it.)
func (f *Faults) SetDown(down bool) {
	f.downGen.Add(1)
	if down && !f.down.Load() {
		f.downs.Add(1)
	}
	f.down.Store(down)
}

// SetDownFor turns the down switch on for d; 0 leaves it on.
func (f *Faults) SetDownFor(d time.Duration) {
	f.SetDown(true)
	if d <= 0 {
		return
	}
	gen := f.downGen.Load()
	time.AfterFunc(d, func() {
		// Only the switch-on this timer belongs to may end the outage.
		if f.downGen.CompareAndSwap(gen, gen+1) {
			f.down.Store(false)
		}
	})
}

// IsDown reports the down switch.
func (f *Faults) IsDown() bool { return f.down.Load() }

// Downs reports how many times the registry went down.
func (f *Faults) Downs() int64 { return f.downs.Load() }

// DownDrops reports how many connections were reset while down.
func (f *Faults) DownDrops() int64 { return f.downDrops.Load() }

// Replayed reports how many replies (delivered or not) carried
// Idempotent-Replayed: the registry answered a repeated create from its
// idempotency record instead of creating another server.
func (f *Faults) Replayed() int64 { return f.replayed.Load() }

// Fired reports the fires of every rule plus the connections dropped while
// down.
func (f *Faults) Fired() int64 {
	n := f.downDrops.Load()
	for _, r := range f.rules {
		n += r.Fired()
	}
	return n
}

// Report describes what fired, for test logs.
func (f *Faults) Report() string {
	var parts []string
	for i, r := range f.rules {
		var labels []string
		r.byLabel.Range(func(k, v any) bool {
			n, _ := v.(*atomic.Int64)
			labels = append(labels, fmt.Sprintf("%s=%d", k, n.Load()))
			return true
		})
		sort.Strings(labels)
		parts = append(parts, fmt.Sprintf("rule %d (%s %s, %s): fired %d [%s] of %d considered",
			i+1, orAny(r.Method), strings.Join(r.Paths, "|"), r.Fault, r.Fired(), strings.Join(labels, " "), r.considered.Load()))
	}
	parts = append(parts, fmt.Sprintf("down %d time(s), %d connection(s) dropped while down; %d idempotent replay(s)",
		f.Downs(), f.DownDrops(), f.Replayed()))
	return strings.Join(parts, "; ")
}

func orAny(s string) string {
	if s == "" {
		return "any"
	}
	return s
}

// Middleware wraps the real registry handler.
func (f *Faults) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(BypassHeader) != "" {
			next.ServeHTTP(w, r)
			return
		}
		if f.down.Load() {
			f.downDrops.Add(1)
			resetConn(w)
			return
		}
		if !f.disabled.Load() {
			for _, rule := range f.rules {
				if rule.picks(r) {
					ordinal := rule.fired.Add(1)
					rule.countLabel(rule.Fault.serve(f, next, w, r, ordinal))
					return
				}
			}
		}
		f.passThrough(next, w, r)
	})
}

// passThrough serves a request normally, noting idempotent replays.
func (f *Faults) passThrough(next http.Handler, w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		next.ServeHTTP(w, r)
		return
	}
	next.ServeHTTP(&replayWatcher{ResponseWriter: w, f: f}, r)
}

func (f *Faults) observe(h http.Header) {
	if h.Get("Idempotent-Replayed") == "true" {
		f.replayed.Add(1)
	}
}
