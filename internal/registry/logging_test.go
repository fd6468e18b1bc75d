package registry

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-log/tflog"
	"github.com/hashicorp/terraform-plugin-log/tflogtest"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// lockedBuffer is a bytes.Buffer safe for the logger's writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestClient_LogsNoSecrets drives every call, successes, error replies,
// retries and a network failure, through a tflog root logger at TRACE and
// checks the output holds neither the API key, nor any PEM line, nor the
// badge; and that the structured fields are there.
func TestClient_LogsNoSecrets(t *testing.T) {
	t.Parallel()
	badge := testJWS(t, testBadgeClaims())
	// The registry here is careless on purpose: it echoes the key and the
	// PEM in an error message and puts the badge everywhere it can.
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch {
		case n == 1: // first attempt of the create: 503, then retried
			w.Header().Set("Retry-After", "0")
			replyWith(http.StatusServiceUnavailable, `{"error":"unavailable","message":"key `+testAPIKey+` pem `+testPEMBody+`"}`)(w, r, n)
		case r.URL.Path == "/v1/sdk/servers/missing":
			replyWith(http.StatusNotFound, `{"error":"not_found","message":"no server for key `+testAPIKey+`"}`)(w, r, n)
		case r.URL.Path == "/v1/sdk/servers/denied":
			replyWith(http.StatusUnauthorized, `{"error":"unauthorized","message":"`+testAPIKey+` is not valid"}`)(w, r, n)
		case strings.HasSuffix(r.URL.Path, "/badge"):
			replyWith(http.StatusOK, mustJSON(t, envelope(map[string]any{"badge": badge, "token": badge})))(w, r, n)
		case strings.Contains(r.URL.Path, "/status"):
			replyWith(http.StatusOK, `{"jti":"`+testJTI+`","revoked":false}`)(w, r, n)
		case r.URL.Path == protocol.PathJWKS:
			replyWith(http.StatusOK, `{"keys":[]}`)(w, r, n)
		case strings.HasSuffix(r.URL.Path, "/did.json"):
			replyWith(http.StatusOK, `{"id":"`+testDIDWeb+`"}`)(w, r, n)
		case r.Method == http.MethodGet && r.URL.Path == protocol.PathServers:
			replyWith(http.StatusOK, mustJSON(t, map[string]any{"success": true, "data": []any{serverCamel()}}))(w, r, n)
		default:
			replyWith(http.StatusOK, mustJSON(t, envelope(serverCamel())))(w, r, n)
		}
	})
	var out lockedBuffer
	ctx := tflogtest.RootLogger(context.Background(), &out)
	c := newTestClient(t, f.URL, nil)

	mustOK := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var errs []error
	_, err := c.CreateServer(ctx, protocol.CreateServerRequest{Name: "n", DID: testDIDKey, PublicKey: testPEM}, "idem")
	mustOK(err)
	_, err = c.RegisterKey(ctx, testServerID, protocol.RegisterKeyRequest{DID: testDIDKey, PublicKey: testPEM})
	mustOK(err)
	_, err = c.GetServer(ctx, testServerID)
	mustOK(err)
	_, _, err = c.ListServers(ctx, "", 10)
	mustOK(err)
	_, err = c.IssueBadge(ctx, testServerID, protocol.BadgeRequest{Domain: "mcp.example.com"})
	mustOK(err)
	mustOK(c.RevokeBadge(ctx, testJTI, "test"))
	_, err = c.BadgeStatus(ctx, testJTI)
	mustOK(err)
	_, err = c.keySet(ctx)
	mustOK(err)
	_, err = c.DIDDocument(ctx, testServerID)
	mustOK(err)
	_, err = c.DisableServer(ctx, testServerID)
	mustOK(err)
	_, err = c.EnableServer(ctx, testServerID)
	mustOK(err)
	mustOK(c.DeleteServer(ctx, testServerID))
	_, err = c.GetServer(ctx, "missing")
	errs = append(errs, err)
	_, err = c.GetServer(ctx, "denied")
	errs = append(errs, err)

	// A network failure with retries.
	l, lerr := net.Listen("tcp", "127.0.0.1:0")
	mustOK(lerr)
	addr := l.Addr().String()
	_ = l.Close()
	down := newTestClient(t, "http://"+addr, func(cfg *Config) { cfg.MaxRetries = 1 })
	_, err = down.RegisterKey(ctx, testServerID, protocol.RegisterKeyRequest{DID: testDIDKey, PublicKey: testPEM})
	errs = append(errs, err)

	// An accidental log line by a caller using the masked context.
	tflog.Debug(c.MaskSecrets(ctx), "oops, logging the key "+testAPIKey, map[string]any{"api_key": testAPIKey})

	logs := out.String()
	secrets := map[string]string{"API key": testAPIKey, "badge": badge, "badge signature": strings.Split(badge, ".")[2], "PEM body": testPEMBody}
	for _, line := range strings.Split(testPEM, "\n") {
		if line != "" {
			secrets["PEM line "+line] = line
		}
	}
	for what, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the logs contain the %s", what)
		}
	}
	for _, err := range errs {
		if err == nil {
			t.Fatal("an error call succeeded")
		}
		for what, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error %q contains the %s", err, what)
			}
		}
	}
	// The logs must be there, with their fields, or this test proves nothing.
	for _, want := range []string{
		`"@message":"Sending registry request"`, `"@message":"Received registry reply"`,
		`"@message":"Retrying registry request"`, `"@message":"Registry request attempt failed"`,
		`"@message":"Registry request finished"`, `"method":"PUT"`, `"path":"/v1/sdk/servers/` + testServerID + `"`,
		`"status_code":503`, `"status_code":404`, `"attempt":2`, `"retry_in_ms":`, `"duration_ms":`,
		`oops, logging the key ***`, `"api_key":"***"`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("the logs lack %s", want)
		}
	}
	if t.Failed() {
		t.Logf("logs:\n%s", logs)
	}
}

func TestClient_MaskSecrets(t *testing.T) {
	t.Parallel()
	var out lockedBuffer
	ctx := tflogtest.RootLogger(context.Background(), &out)
	c := newTestClient(t, "http://127.0.0.1:1", nil)
	tflog.Info(c.MaskSecrets(ctx), "key="+testAPIKey, map[string]any{"header": "X: " + testAPIKey})
	if logs := out.String(); strings.Contains(logs, testAPIKey) || !strings.Contains(logs, "key=***") {
		t.Errorf("API key not masked: %s", logs)
	}

	noKey := newTestClient(t, "http://127.0.0.1:1", func(cfg *Config) { cfg.APIKey = "" })
	if got := noKey.MaskSecrets(ctx); got != ctx {
		t.Error("MaskSecrets without a key must return the context unchanged")
	}
	var nilClient *Client
	if got := nilClient.MaskSecrets(ctx); got != ctx {
		t.Error("MaskSecrets on a nil client must return the context unchanged")
	}
}

func TestClient_LogsWithoutLogger(t *testing.T) {
	t.Parallel()
	// No tflog logger in the context (plain unit use): calls still work.
	f := newFake(t, replyWith(http.StatusOK, mustJSON(t, envelope(serverCamel()))))
	if _, err := newTestClient(t, f.URL, nil).GetServer(context.Background(), testServerID); err != nil {
		t.Fatal(err)
	}
}
