package provider

import (
	"testing"

	"github.com/google/uuid"
	"github.com/hashicorp/terraform-plugin-framework/action"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// TestServerStatusActions_ChangeAndRepeat disables and enables a record
// twice each: the first call changes the registry, the second says there is
// nothing to do, and the public status route (what verifiers read) follows.
func TestServerStatusActions_ChangeAndRepeat(t *testing.T) {
	t.Parallel()
	reg := testRegistry(t)
	k := newTestKey(t)
	id := registryCreate(t, reg, "status-actions", k.DIDKey, k.PEM).ID
	steps := []struct {
		newAction func() action.Action
		want      string
		says      []string
	}{
		{NewServerDisableAction, protocol.StatusDisabled, []string{"is active; asking the registry to disable it", "is now disabled", "Disabled since", "capiscio_badge_revoke"}},
		{NewServerDisableAction, protocol.StatusDisabled, []string{"is already disabled; nothing to do"}},
		{NewServerEnableAction, protocol.StatusActive, []string{"is disabled; asking the registry to enable it", "is now active"}},
		{NewServerEnableAction, protocol.StatusActive, []string{"is already active; nothing to do"}},
	}
	for i, s := range steps {
		got := invokeAction(t, reg, reg.APIKey, s.newAction, map[string]string{"server_id": id})
		wantInvoked(t, got, nil, append(s.says, id, "status-actions")...)
		if rec, _ := registryGet(t, reg, id); rec.Status != s.want {
			t.Errorf("step %d: the record is %q, want %q", i, rec.Status, s.want)
		}
		if st := serverStatusOf(t, reg, id); st != s.want {
			t.Errorf("step %d: the public status is %q, want %q", i, st, s.want)
		}
	}
}

// TestServerStatusActions_Errors checks that both actions say why they
// cannot change a record, and change nothing.
func TestServerStatusActions_Errors(t *testing.T) {
	t.Parallel()
	reg := testRegistry(t)
	other := registryCreateWithKey(t, reg, reg.SecondOrgKey(t))
	cases := map[string]struct {
		apiKey, id string
		errors     []string
		says       []string
	}{
		"no such record": {
			apiKey: reg.APIKey, id: uuid.NewString(),
			errors: []string{"Server Record Not Found"}, says: []string{"No server record with id", "Check server_id"},
		},
		"another organisation's record": {
			apiKey: reg.APIKey, id: other.ID,
			errors: []string{"Server Record Belongs to Another Organisation"}, says: []string{other.ID, EnvAPIKey},
		},
		"no API key": {
			apiKey: "", id: other.ID,
			errors: []string{"Missing CapiscIO API Key"}, says: []string{"api_key", EnvAPIKey},
		},
		"API key the registry refuses": {
			apiKey: "sk_test_" + "0123456789abcdefghijklmnopqrstuv", id: other.ID,
			errors: []string{"Unable to Read Server Record"}, says: []string{"refused the API key", "Nothing was changed"},
		},
	}
	for name, c := range cases {
		for _, newAction := range []func() action.Action{NewServerDisableAction, NewServerEnableAction} {
			got := invokeAction(t, reg, c.apiKey, newAction, map[string]string{"server_id": c.id})
			wantInvoked(t, got, c.errors, c.says...)
			if t.Failed() {
				t.Fatalf("case %q", name)
			}
		}
	}
	if rec, _ := reg.DoWithKey(t, reg.SecondOrgKey(t), "GET", "/v1/sdk/servers/"+other.ID, nil); rec.StatusCode != 200 {
		t.Fatalf("reading the other organisation's record: HTTP %d", rec.StatusCode)
	}
	if st := serverStatusOf(t, reg, other.ID); st != protocol.StatusActive {
		t.Errorf("the other organisation's record is %q after the failed calls, want active", st)
	}
}
