package provider

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

// TestServerVerifyAction_Healthy verifies a healthy identity with each way of
// naming the expected key, and with none; the fresh badge is never printed.
func TestServerVerifyAction_Healthy(t *testing.T) {
	t.Parallel()
	var tap badgeTap
	reg := testRegistry(t, registrytest.WithMiddleware(tap.middleware))
	k := newTestKey(t)
	server := registryCreate(t, reg, "verify", k.DIDKey, k.PEM)
	cases := map[string]struct {
		config map[string]string
		says   string
	}{
		"public_key_pem": {map[string]string{"public_key_pem": k.PEM}, "the key public_key_pem expects"},
		"did_key":        {map[string]string{"did_key": k.DIDKey}, "the key did_key expects"},
		"no expected key": {map[string]string{"domain": "mcp.example.com"},
			"not compared with the key the server was deployed with"},
	}
	for name, c := range cases {
		c.config["server_id"] = server.ID
		got := invokeAction(t, reg, reg.APIKey, NewServerVerifyAction, c.config)
		wantInvoked(t, got, nil, c.says, "holds the key "+k.DIDKey, "/servers/"+server.ID+"/did.json serves the record's DID and key",
			"A fresh badge (jti ", "Server record "+server.ID+" verified")
		for _, s := range tap.secrets() {
			if strings.Contains(got.text(), s.value) {
				t.Errorf("%s: the invocation printed %s", name, s.what)
			}
		}
	}
	if tap.count() != len(cases) {
		t.Errorf("the registry issued %d badges for %d verifications, want one each", tap.count(), len(cases))
	}
}

// TestServerVerifyAction_Failures checks that each problem fails the action
// with its own error, and that every problem found is reported.
func TestServerVerifyAction_Failures(t *testing.T) {
	t.Parallel()
	var tamper tamperer
	reg := testRegistry(t, registrytest.WithMiddleware(tamper.middleware))
	newRecord := func(name string) (protocol.Server, keys.Material) {
		k := newTestKey(t)
		return registryCreate(t, reg, name, k.DIDKey, k.PEM), k
	}
	disable := func(id string) {
		if resp, body := reg.Do(t, http.MethodPost, "/v1/sdk/servers/"+id+"/disable", nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("disable: HTTP %d %s", resp.StatusCode, body)
		}
	}
	rogue := newTestKey(t)
	registerRogue := func(id string) {
		if resp, body := reg.Do(t, http.MethodPut, "/v1/sdk/servers/"+id, protocol.RegisterKeyRequest{DID: rogue.DIDKey, PublicKey: rogue.PEM}); resp.StatusCode != http.StatusOK {
			t.Fatalf("out-of-band key: HTTP %d %s", resp.StatusCode, body)
		}
	}

	disabled, disabledKey := newRecord("disabled")
	disable(disabled.ID)
	rotated, rotatedKey := newRecord("rotated")
	registerRogue(rotated.ID)
	both, bothKey := newRecord("both")
	disable(both.ID)
	registerRogue(both.ID)
	staleDoc, staleDocKey := newRecord("stale-doc")
	tamper.set(staleDoc.ID, "did-document")
	badBadge, badBadgeKey := newRecord("bad-badge")
	tamper.set(badBadge.ID, "badge")

	cases := map[string]struct {
		config map[string]string
		errors []string
		says   []string
	}{
		"no such record": {
			config: map[string]string{"server_id": uuid.NewString()},
			errors: []string{"Server Record Not Found"}, says: []string{"Check server_id"},
		},
		"disabled": {
			config: map[string]string{"server_id": disabled.ID, "public_key_pem": disabledKey.PEM},
			errors: []string{"Server Record Not Active"}, says: []string{`status "disabled"`, "disabled since", "capiscio_server_enable"},
		},
		"another key registered, public_key_pem expected": {
			config: map[string]string{"server_id": rotated.ID, "public_key_pem": rotatedKey.PEM},
			errors: []string{"Server Record Holds Another Key"}, says: []string{rogue.DIDKey, "not the expected " + rotatedKey.DIDKey},
		},
		"another key registered, did_key expected": {
			config: map[string]string{"server_id": rotated.ID, "did_key": rotatedKey.DIDKey},
			errors: []string{"Server Record Holds Another Key"}, says: []string{rogue.DIDKey},
		},
		"disabled and another key registered": {
			config: map[string]string{"server_id": both.ID, "public_key_pem": bothKey.PEM},
			errors: []string{"Server Record Not Active", "Server Record Holds Another Key"},
		},
		"DID document serves another key": {
			config: map[string]string{"server_id": staleDoc.ID, "public_key_pem": staleDocKey.PEM},
			errors: []string{"DID Document Does Not Serve the Registered Key"}, says: []string{"/servers/" + staleDoc.ID + "/did.json"},
		},
		"fresh badge does not verify": {
			config: map[string]string{"server_id": badBadge.ID, "public_key_pem": badBadgeKey.PEM},
			errors: []string{"Fresh Badge Did Not Verify"}, says: []string{"signature does not verify"},
		},
	}
	for name, c := range cases {
		got := invokeAction(t, reg, reg.APIKey, NewServerVerifyAction, c.config)
		t.Logf("%s:\n%s", name, got.text())
		wantInvoked(t, got, c.errors, c.says...)
		if strings.Contains(got.text(), " verified") {
			t.Errorf("%s: a failed verification says it verified:\n%s", name, got.text())
		}
		if tok := tamper.tampered(); tok != "" && strings.Contains(got.text(), tok) {
			t.Errorf("%s: the invocation printed the badge", name)
		}
		if t.Failed() {
			t.Fatalf("case %q", name)
		}
	}
	if n := tamper.badgesFor(disabled.ID) + tamper.badgesFor(both.ID); n != 0 {
		t.Errorf("the action asked for %d badges for disabled records; want none", n)
	}
	if tamper.tampered() == "" {
		t.Error("no badge was tampered with: the badge case proved nothing")
	}
}

// tamperer changes the registry's replies for chosen records: a DID
// document that publishes another key, or a badge whose signature is broken.
type tamperer struct {
	mu     sync.Mutex
	what   map[string]string // server id -> "did-document" | "badge"
	badges map[string]int    // server id -> badge requests seen
	token  string            // the tampered badge
}

func (tm *tamperer) set(id, what string) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	if tm.what == nil {
		tm.what = map[string]string{}
	}
	tm.what[id] = what
}

func (tm *tamperer) badgesFor(id string) int {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.badges[id]
}

func (tm *tamperer) tampered() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.token
}

func (tm *tamperer) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		var id, kind string
		switch {
		case len(parts) == 3 && parts[0] == "servers" && parts[2] == "did.json":
			id, kind = parts[1], "did-document"
		case len(parts) == 5 && parts[3] != "badges" && parts[4] == "badge" && r.Method == http.MethodPost:
			id, kind = parts[3], "badge"
		}
		tm.mu.Lock()
		if kind == "badge" {
			if tm.badges == nil {
				tm.badges = map[string]int{}
			}
			tm.badges[id]++
		}
		active := kind != "" && tm.what[id] == kind
		tm.mu.Unlock()
		if !active {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := tm.rewrite(kind, rec.Body.Bytes())
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

// rewrite puts another key in a DID document, or breaks a badge's signature.
func (tm *tamperer) rewrite(kind string, body []byte) []byte {
	if kind == "did-document" {
		var doc protocol.DIDDocument
		other, _ := keys.NewMaterial(nil)
		if json.Unmarshal(body, &doc) != nil || len(doc.VerificationMethod) == 0 {
			return body
		}
		doc.VerificationMethod[0].PublicKeyMultibase = keys.Multibase(other.Key)
		out, _ := json.Marshal(doc)
		return out
	}
	var env protocol.Envelope[protocol.Badge]
	if json.Unmarshal(body, &env) != nil || len(env.Data.Badge) < 20 {
		return body
	}
	tok := []byte(env.Data.Badge)
	i := len(tok) - 10
	if tok[i] == 'A' {
		tok[i] = 'B'
	} else {
		tok[i] = 'A'
	}
	env.Data.Badge, env.Data.Token = string(tok), string(tok)
	tm.mu.Lock()
	tm.token = string(tok)
	tm.mu.Unlock()
	out, _ := json.Marshal(env)
	return out
}
