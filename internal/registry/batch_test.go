package registry_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

// seedServers creates n records through the real local registry.
func seedServers(t *testing.T, c *registry.Client, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		m, err := keys.NewMaterial(nil)
		if err != nil {
			t.Fatal(err)
		}
		s, err := c.CreateServer(context.Background(), protocol.CreateServerRequest{DID: m.DIDKey, PublicKey: m.PEM}, "")
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = s.ID
	}
	return ids
}

func newClient(t *testing.T, reg *registrytest.Registry) *registry.Client {
	t.Helper()
	c, err := registry.New(registry.Config{BaseURL: reg.URL, APIKey: reg.APIKey, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// readAll reads ids with ten concurrent readers, as Terraform's refresh does.
func readAll(t *testing.T, b *registry.BatchReader, ids []string) map[string]*protocol.Server {
	t.Helper()
	var mu sync.Mutex
	got := map[string]*protocol.Server{}
	errs := map[string]error{}
	work := make(chan string)
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				s, err := b.GetServer(context.Background(), id)
				mu.Lock()
				got[id], errs[id] = s, err
				mu.Unlock()
			}
		}()
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	wg.Wait()
	for id, err := range errs {
		if err != nil && !registry.IsNotFound(err) {
			t.Fatalf("read %s: %v", id, err)
		}
	}
	return got
}

func TestBatchReader_LargeRunPages(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t)
	c := newClient(t, reg)
	ids := seedServers(t, c, 300)
	reg.Server.ResetStats()

	got := readAll(t, registry.NewBatchReader(c), ids)
	for _, id := range ids {
		if got[id] == nil || got[id].ID != id || got[id].DID == "" || got[id].PublicKey == "" {
			t.Fatalf("record %s not read correctly: %+v", id, got[id])
		}
	}
	st := reg.Server.Stats()
	if limit := uint64(registry.BatchThreshold + 3); st.Requests > limit {
		t.Fatalf("300 reads cost %d registry requests (%v), want at most %d", st.Requests, st.ByRoute, limit)
	}
}

func TestBatchReader_SmallRunNeverLists(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t)
	c := newClient(t, reg)
	ids := seedServers(t, c, 40) // the organisation holds more records than the run reads
	reg.Server.ResetStats()

	readAll(t, registry.NewBatchReader(c), ids[:3])
	st := reg.Server.Stats()
	if n := st.ByRoute["GET /v1/sdk/servers"]; n != 0 || st.Requests != 3 {
		t.Fatalf("3 reads made %d requests with %d list calls; want 3 plain GETs", st.Requests, n)
	}
}

// TestBatchReader_SeesOutOfBandChanges checks that batching never hides a
// deletion or key change made before the run.
func TestBatchReader_SeesOutOfBandChanges(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t)
	c := newClient(t, reg)
	ids := seedServers(t, c, 60)
	ctx := context.Background()
	if err := c.DeleteServer(ctx, ids[40]); err != nil {
		t.Fatal(err)
	}
	rogue, _ := keys.NewMaterial(nil)
	if _, err := c.RegisterKey(ctx, ids[50], protocol.RegisterKeyRequest{DID: rogue.DIDKey, PublicKey: rogue.PEM}); err != nil {
		t.Fatal(err)
	}

	b := registry.NewBatchReader(c)
	got := readAll(t, b, ids)
	if got[ids[40]] != nil {
		t.Fatalf("deleted record %s was returned", ids[40])
	}
	if got[ids[50]] == nil || got[ids[50]].DIDKey != rogue.DIDKey {
		t.Fatalf("key changed out of band is not seen")
	}
	// A record this process changes is read fresh afterwards.
	other, _ := keys.NewMaterial(nil)
	if _, err := c.RegisterKey(ctx, ids[51], protocol.RegisterKeyRequest{DID: other.DIDKey, PublicKey: other.PEM}); err != nil {
		t.Fatal(err)
	}
	b.Forget(ids[51])
	s, err := b.GetServer(ctx, ids[51])
	if err != nil || s.DIDKey != other.DIDKey {
		t.Fatalf("after Forget, read %v %v; want the new key", s, err)
	}
}

// TestBatchReader_ListMissing falls back to plain GETs when the registry has
// no list route (a 404 or 405 injected around the real server).
func TestBatchReader_ListMissing(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t, registrytest.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && r.URL.Path == protocol.PathServers {
				http.Error(w, `{"success":false,"error":"not_found","message":"no such route"}`, http.StatusNotFound)
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	c := newClient(t, reg)
	ids := seedServers(t, c, 30)
	reg.Server.ResetStats()
	got := readAll(t, registry.NewBatchReader(c), ids)
	for _, id := range ids {
		if got[id] == nil {
			t.Fatalf("record %s not read", id)
		}
	}
	if st := reg.Server.Stats(); st.ByRoute["GET /v1/sdk/servers/{id}"] != 30 {
		t.Fatalf("want 30 plain GETs after the list route failed, got %v", st.ByRoute)
	}
}
