package registry_test

import (
	"context"
	"sync"
	"testing"

	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

// TestClient_KeepsConnectionsAlive: rounds of concurrent requests, as
// Terraform's -parallelism makes them, reuse the connections of the first
// round. The pool net/http and cleanhttp give a client by default keeps 3
// idle connections per host on two cores, so each later round of 16 opened
// about 13 new ones (a TCP handshake and teardown per request on both
// sides); the registry counts every connection it accepts.
func TestClient_KeepsConnectionsAlive(t *testing.T) {
	t.Parallel()
	const concurrency, rounds = 16, 5
	if concurrency > registry.MaxIdleConnsPerHost {
		t.Fatalf("the test needs MaxIdleConnsPerHost >= %d", concurrency)
	}
	reg := registrytest.Start(t)
	c := clientFor(t, reg.URL, reg.APIKey)
	id := seedServers(t, c, 1)[0]
	reg.Server.ResetStats()
	for range rounds {
		var wg sync.WaitGroup
		errs := make(chan error, concurrency)
		for range concurrency {
			wg.Go(func() {
				if _, err := c.GetServer(context.Background(), id); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	st := reg.Server.Stats()
	if st.Requests != concurrency*rounds {
		t.Fatalf("the registry counted %d requests, want %d", st.Requests, concurrency*rounds)
	}
	// A connection dialled while another is being put back can make a
	// round open a few more than it needs; one per request is the failure.
	if st.Connections == 0 || st.Connections > 2*concurrency {
		t.Fatalf("%d rounds of %d concurrent requests opened %d connections, want at most %d", rounds, concurrency, st.Connections, 2*concurrency)
	}
	t.Logf("%d requests over %d connections", st.Requests, st.Connections)
}
