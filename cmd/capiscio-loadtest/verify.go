package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// verification is what the restarted registry still holds.
type verification struct {
	servers, badges int
	lost            []string // one line per lost acknowledged write
	stats           *opStats
}

// verify checks, on the restarted registry, that every acknowledged server
// exists with its did:web and a key its client may have set, and that every
// acknowledged badge has its status document.
func verify(base, apiKey string, workers int, res *results) *verification {
	v := &verification{servers: len(res.servers), badges: len(res.badges)}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	c := &client{http: hc, base: base, apiKey: apiKey, ops: map[string]*opStats{opVerify: {}}}
	ctx := context.Background()
	jobs := make(chan func(*client) string)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wc := &client{http: hc, base: base, apiKey: apiKey, ops: map[string]*opStats{opVerify: {}}}
		wg.Go(func() {
			for job := range jobs {
				if lost := job(wc); lost != "" {
					mu.Lock()
					v.lost = append(v.lost, lost)
					mu.Unlock()
				}
			}
			mu.Lock()
			merge(c.ops[opVerify], wc.ops[opVerify])
			mu.Unlock()
		})
	}
	for _, s := range res.servers {
		jobs <- func(wc *client) string {
			r := wc.call(ctx, opVerify, http.MethodGet, protocol.Path(protocol.PathServer, s.id), nil, nil)
			if r == nil || r.status != http.StatusOK {
				return fmt.Sprintf("server %s: %s", s.id, describe(r))
			}
			var env protocol.Envelope[protocol.Server]
			if err := json.Unmarshal(r.body, &env); err != nil {
				return fmt.Sprintf("server %s: %v", s.id, err)
			}
			if env.Data.DID != s.did || !contains(s.accepted, env.Data.DIDKey) {
				return fmt.Sprintf("server %s: did %s key %s, want did %s key in %v", s.id, env.Data.DID, env.Data.DIDKey, s.did, s.accepted)
			}
			return ""
		}
	}
	for jti := range res.badges {
		jobs <- func(wc *client) string {
			r := wc.call(ctx, opVerify, http.MethodGet, protocol.Path(protocol.PathBadgeStatus, jti), nil, nil)
			var st protocol.BadgeStatus
			if r == nil || r.status != http.StatusOK || json.Unmarshal(r.body, &st) != nil || st.JTI != jti {
				return fmt.Sprintf("badge %s: %s", jti, describe(r))
			}
			return ""
		}
	}
	close(jobs)
	wg.Wait()
	v.stats = c.ops[opVerify]
	return v
}

func merge(into, from *opStats) {
	into.latencies = append(into.latencies, from.latencies...)
	into.s5xx += from.s5xx
	into.bad += from.bad
	into.transport += from.transport
	for _, e := range from.examples {
		into.failure("%s", e)
	}
}

func describe(r *reply) string {
	if r == nil {
		return "no answer"
	}
	return fmt.Sprintf("%d %s", r.status, r.body)
}

// report prints the table and says whether the run passed.
func report(w io.Writer, o options, res *results, v *verification) bool {
	res.ops[opVerify] = v.stats
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation\tops\tops/s\tp50\tp99\tmax\t5xx\t4xx/bad\ttransport err\t")
	var total, total5xx, totalBad, totalTransport int
	for _, op := range opOrder {
		st := res.ops[op]
		elapsed := res.elapsed
		if op == opVerify {
			elapsed = 0
		}
		n := len(st.latencies)
		slices.Sort(st.latencies)
		rate := "-"
		if elapsed > 0 {
			rate = fmt.Sprintf("%.1f", float64(n)/elapsed.Seconds())
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t\n", op, n, rate,
			pct(st.latencies, 50), pct(st.latencies, 99), pct(st.latencies, 100), st.s5xx, st.bad, st.transport)
		if op != opVerify {
			total += n
		}
		total5xx += st.s5xx
		totalBad += st.bad
		totalTransport += st.transport
	}
	fmt.Fprintf(tw, "total (load phase)\t%d\t%.1f\t\t\t\t\t\t\t\n", total, float64(total)/res.elapsed.Seconds())
	_ = tw.Flush()
	fmt.Fprintf(w, "\n%d clients, %s; acknowledged: %d servers, %d badges; after SIGKILL + restart: %d lost writes\n",
		o.clients, res.elapsed.Round(time.Millisecond), v.servers, v.badges, len(v.lost))
	fmt.Fprintf(w, "5xx: %d  4xx/bad replies: %d  transport errors: %d\n", total5xx, totalBad, totalTransport)
	for _, op := range opOrder {
		for _, e := range res.ops[op].examples {
			fmt.Fprintf(w, "  %s: %s\n", op, clip(e, 300))
		}
	}
	for i, l := range v.lost {
		if i == 10 {
			fmt.Fprintf(w, "  ... and %d more lost writes\n", len(v.lost)-10)
			break
		}
		fmt.Fprintf(w, "  lost: %s\n", clip(l, 300))
	}
	passed := total5xx == 0 && totalBad == 0 && len(v.lost) == 0
	if passed {
		fmt.Fprintln(w, "PASS")
	} else {
		fmt.Fprintln(w, "FAIL")
	}
	return passed
}

// pct is the p-th percentile of sorted latencies (nearest rank).
func pct(sorted []time.Duration, p int) string {
	if len(sorted) == 0 {
		return "-"
	}
	i := (len(sorted)*p + 99) / 100
	if i < 1 {
		i = 1
	}
	return sorted[i-1].Round(10 * time.Microsecond).String()
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
