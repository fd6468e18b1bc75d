package registry

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// Batched refresh.
//
// Terraform refreshes every resource with its own ReadResource call, so a
// no-change plan of N identities would cost N GETs. A BatchReader serves those
// reads from paged GET /v1/sdk/servers list calls once a run has shown that it
// reads many records, and keeps small runs on plain GETs:
//
//   - the first BatchThreshold reads of a provider process are plain GETs, so a
//     configuration with a few identities never pages through an organisation's
//     thousands of records;
//   - after that, a record missing from the snapshot triggers the next list page
//     (one page at a time, shared by all concurrent readers), as long as the pages
//     fetched stay within ListBudgetFactor times the number of reads so far;
//   - a record not in the snapshot after that (absent from the list, list route
//     missing, list call failing, budget spent) gets a plain GET, so a deletion
//     out of band is confirmed by a real 404 and nothing is missed;
//   - a snapshot is used for SnapshotTTL at most and an id is dropped from it as
//     soon as this process changes that record, so a read never returns data
//     older than the run it belongs to.
type BatchReader struct {
	client *Client
	now    func() time.Time

	mu        sync.Mutex
	reads     int
	snap      map[string]protocol.Server
	takenAt   time.Time
	cursor    string
	pages     int
	exhausted bool
	noList    bool
	inflight  chan struct{}
}

// Batching parameters (see BatchReader).
const (
	BatchThreshold   = 16
	BatchPageSize    = 1000
	ListBudgetFactor = 10
	SnapshotTTL      = 30 * time.Second
)

// NewBatchReader returns a BatchReader over c.
func NewBatchReader(c *Client) *BatchReader {
	return &BatchReader{client: c, now: time.Now}
}

// GetServer returns the record with id, like Client.GetServer, from the list
// snapshot when the run is large enough to have one.
func (b *BatchReader) GetServer(ctx context.Context, id string) (*protocol.Server, error) {
	b.mu.Lock()
	b.reads++
	for {
		b.expireLocked()
		if s, ok := b.snap[id]; ok {
			b.mu.Unlock()
			return &s, nil
		}
		if !b.mayPageLocked() {
			b.mu.Unlock()
			return b.client.GetServer(ctx, id)
		}
		if wait := b.inflight; wait != nil {
			b.mu.Unlock()
			select {
			case <-wait:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			b.mu.Lock()
			continue
		}
		if !b.fetchPageLocked(ctx) {
			b.mu.Unlock()
			return b.client.GetServer(ctx, id)
		}
	}
}

// Forget drops id from the snapshot after this process changed the record.
func (b *BatchReader) Forget(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.snap, id)
}

func (b *BatchReader) expireLocked() {
	if b.snap != nil && b.inflight == nil && b.now().Sub(b.takenAt) > SnapshotTTL {
		b.snap, b.cursor, b.pages, b.exhausted = nil, "", 0, false
	}
}

// mayPageLocked reports whether fetching (or waiting for) another list page
// is worth it for this run.
func (b *BatchReader) mayPageLocked() bool {
	if b.inflight != nil {
		return true
	}
	if b.reads <= BatchThreshold || b.noList || b.exhausted {
		return false
	}
	return b.pages*BatchPageSize < ListBudgetFactor*b.reads
}

// fetchPageLocked fetches the next list page with b.mu released while the
// request runs; it reports whether the page arrived.
func (b *BatchReader) fetchPageLocked(ctx context.Context) bool {
	done := make(chan struct{})
	b.inflight = done
	cursor := b.cursor
	b.mu.Unlock()
	servers, next, err := b.client.ListServers(ctx, cursor, BatchPageSize)
	b.mu.Lock()
	b.inflight = nil
	close(done)
	if err != nil {
		var apiErr *APIError
		if errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusNotFound || apiErr.StatusCode == http.StatusMethodNotAllowed) {
			b.noList = true
		}
		tflog.Debug(ctx, "Listing servers for a batched refresh failed; reading records one by one", map[string]any{"error": err.Error()})
		return false
	}
	if b.snap == nil {
		b.snap, b.takenAt = make(map[string]protocol.Server, len(servers)), b.now()
	}
	for _, s := range servers {
		b.snap[s.ID] = s
	}
	b.cursor, b.exhausted = next, next == ""
	b.pages++
	tflog.Debug(ctx, "Fetched a page of servers for a batched refresh", map[string]any{"page": b.pages, "records": len(servers), "reads": b.reads})
	return true
}
