package registryserver_test

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/capiscio/terraform-provider-capiscio/internal/cpuprofile"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

// benchClients is how many concurrent clients each benchmark runs per
// GOMAXPROCS: group commit needs writes in flight together, as the provider
// (terraform -parallelism=10) and fleets of MCP servers produce.
const benchClients = 32

// Run with: go test -run '^$' -bench . -benchtime 3s ./internal/registryserver/
// Each op is one HTTP round trip (two for BenchmarkRegister) on loopback to
// the real handler, with every write fsynced to a bbolt file in a temp dir.

// BenchmarkRegister measures registrations: a durable create (POST) followed
// by the SDK's registration PUT of the same key.
func BenchmarkRegister(b *testing.B) {
	reg := registrytest.Start(b)
	client := newAPIClient(reg, reg.APIKey)
	pool := keyPool(b, 64)
	runParallel(b, reg, func(n uint64) error {
		key := pool[n%uint64(len(pool))]
		srv, err := callData[protocol.Server](client, http.MethodPost, protocol.PathServers, key.createBody(""), http.StatusCreated)
		if err == nil {
			_, err = client.call(http.MethodPut, pathOf(protocol.PathServer, srv.ID), key.registerBody(), http.StatusOK)
		}
		return err
	})
}

// BenchmarkRotateKey measures key rotations: a PUT with a new key, which
// rewrites the record and scans the server's badges for revocation.
func BenchmarkRotateKey(b *testing.B) {
	reg := registrytest.Start(b)
	client := newAPIClient(reg, reg.APIKey)
	pool := keyPool(b, 64)
	ids := benchServers(b, reg, pool, 256)
	runParallel(b, reg, func(n uint64) error {
		key := pool[(n/uint64(len(ids)))%uint64(len(pool))] // a new key each visit of a server
		_, err := client.call(http.MethodPut, pathOf(protocol.PathServer, ids[n%uint64(len(ids))]), key.registerBody(), http.StatusOK)
		return err
	})
}

// BenchmarkIssueBadge measures badge issuance: a durable badge record plus an
// Ed25519 signature per request.
func BenchmarkIssueBadge(b *testing.B) {
	reg := registrytest.Start(b)
	client := newAPIClient(reg, reg.APIKey)
	ids := benchServers(b, reg, keyPool(b, 8), 256)
	runParallel(b, reg, func(n uint64) error {
		_, err := client.call(http.MethodPost, pathOf(protocol.PathServerBadge, ids[n%uint64(len(ids))]), nil, http.StatusCreated)
		return err
	})
}

// BenchmarkReadServer measures an authenticated GET, for comparison: the
// HTTP and JSON cost without a write.
func BenchmarkReadServer(b *testing.B) {
	reg := registrytest.Start(b)
	client := newAPIClient(reg, reg.APIKey)
	ids := benchServers(b, reg, keyPool(b, 8), 256)
	runParallel(b, reg, func(n uint64) error {
		_, err := client.call(http.MethodGet, pathOf(protocol.PathServer, ids[n%uint64(len(ids))]), nil, http.StatusOK)
		return err
	})
}

// runParallel runs op from benchClients clients per GOMAXPROCS, numbering the
// operations 1, 2, ... across clients, and reports the measured rates.
func runParallel(b *testing.B, reg *registrytest.Registry, op func(n uint64) error) {
	b.Helper()
	var next atomic.Uint64
	b.SetParallelism(benchClients)
	start := startMeasure(b, reg)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(next.Add(1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	start.report(b)
}

func keyPool(b *testing.B, n int) []testKey {
	pool := make([]testKey, n)
	for i := range pool {
		pool[i] = newKey(b)
	}
	return pool
}

func benchServers(b *testing.B, reg *registrytest.Registry, pool []testKey, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = createServer(b, reg, reg.APIKey, pool[i%len(pool)], fmt.Sprintf("bench %d", i)).ID
	}
	return ids
}

// measure holds the counters at the start of the timed part.
type measure struct {
	reg  *registrytest.Registry
	cpu  time.Duration
	txID int
}

// startMeasure resets the benchmark timer and notes the process CPU time and
// the store's last transaction id.
func startMeasure(b *testing.B, reg *registrytest.Registry) measure {
	b.ResetTimer()
	return measure{reg: reg, cpu: cpuprofile.ProcessCPU(), txID: registryserver.LastTxID(reg.Server)}
}

// report adds three metrics: ops/s; cpu-µs/op, the process CPU time per op
// (client and server together, both in this process), which unlike ops/s
// does not depend on what else runs on a shared machine; and writes/commit,
// how many write requests shared one fsynced commit (group commit).
func (m measure) report(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	b.ReportMetric(float64((cpuprofile.ProcessCPU()-m.cpu).Microseconds())/float64(b.N), "cpu-µs/op")
	if commits := registryserver.LastTxID(m.reg.Server) - m.txID; commits > 0 {
		b.ReportMetric(float64(b.N)/float64(commits), "writes/commit")
	}
}
