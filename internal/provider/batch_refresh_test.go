package provider

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

// TestBatchedRefresh_RealCLI applies N identities with the real binary, then
// checks that a no-change plan costs far fewer than N registry requests, and
// that a deletion and a key change made out of band are still planned.
func TestBatchedRefresh_RealCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the provider binary")
	}
	t.Parallel()
	const n = 60
	reg := registrytest.Start(t)
	tf := newCLIRun(t, reg)
	tf.env = append(tf.env, "TF_LOG=")
	tf.writeConfigExtra(fmt.Sprintf("count = %d\n  issue_badge = false", n), "")
	tf.run("apply", "-auto-approve")

	reg.Server.ResetStats()
	out := tf.run("plan", "-detailed-exitcode")
	if !strings.Contains(out, "No changes") {
		t.Fatalf("plan after apply is not empty:\n%s", out)
	}
	st := reg.Server.Stats()
	if limit := uint64(registry.BatchThreshold + 1); st.Requests > limit {
		t.Fatalf("a no-change plan of %d identities made %d registry requests (%v), want at most %d", n, st.Requests, st.ByRoute, limit)
	}
	if st.ByRoute["GET /v1/sdk/servers"] == 0 {
		t.Fatalf("no list call was made: %v", st.ByRoute)
	}

	ids := tf.stateIDs()
	if resp, _ := regDo(reg, http.MethodDelete, "/v1/sdk/servers/"+ids[41], nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("out-of-band delete: HTTP %d", resp.StatusCode)
	}
	rogue := newTestKey(t)
	if resp, _ := regDo(reg, http.MethodPut, "/v1/sdk/servers/"+ids[52], protocol.RegisterKeyRequest{DID: rogue.DIDKey, PublicKey: rogue.PEM}); resp.StatusCode != http.StatusOK {
		t.Fatalf("out-of-band key change: HTTP %d", resp.StatusCode)
	}
	out = tf.planAllowingChanges()
	if !strings.Contains(out, "Plan: 1 to add, 1 to change, 0 to destroy") {
		t.Fatalf("plan after out-of-band changes does not create the deleted one and register the key again on the other:\n%s", out)
	}
	tf.run("destroy", "-auto-approve")
	_ = keys.DIDKeyPrefix
}
