package registryserver_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

func TestServerStatus(t *testing.T) {
	t.Parallel()
	reg := start(t)
	srv := createServer(t, reg, reg.APIKey, newKey(t), "status")
	got := decode[protocol.ServerStatus](t, mustGet(t, reg, pathOf(protocol.PathServerStatus, srv.ID)))
	want := protocol.ServerStatus{ID: srv.ID, DID: srv.DID, Status: protocol.StatusActive}
	if got != want {
		t.Errorf("status = %+v, want %+v", got, want)
	}
}

func TestBadgeStatus_BothPaths(t *testing.T) {
	t.Parallel()
	reg := start(t)
	srv := createServer(t, reg, reg.APIKey, newKey(t), "status")
	badge := issueBadge(t, reg, srv.ID, nil)
	for _, path := range []string{protocol.PathBadgeStatus, protocol.PathServerBadgeStat} {
		raw := mustGet(t, reg, pathOf(path, badge.JTI))
		got := decode[protocol.BadgeStatus](t, raw)
		if got.JTI != badge.JTI || got.Sub != srv.DID || got.Revoked || got.ExpiresAt == nil || !got.ExpiresAt.Equal(badge.ExpiresAt) {
			t.Errorf("%s = %+v", path, got)
		}
		if strings.Contains(string(raw), `"success"`) {
			t.Errorf("%s: status documents are not wrapped, got %s", path, raw)
		}
	}
}

func TestRevocations(t *testing.T) {
	t.Parallel()
	// A controllable clock orders the revocations.
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	reg := start(t, registrytest.WithNow(clock))

	srv := createServer(t, reg, reg.APIKey, newKey(t), "revoked a lot")
	var jtis []string
	for range 5 {
		b := issueBadge(t, reg, srv.ID, nil)
		advance(time.Minute)
		resp, raw := reg.Do(t, http.MethodPost, pathOf(protocol.PathBadgeRevoke, b.JTI), nil)
		wantStatus(t, resp, raw, http.StatusOK)
		jtis = append(jtis, b.JTI)
	}
	cases := map[string]struct {
		query    string
		wantJTIs []string
	}{
		"all":              {query: "", wantJTIs: jtis},
		"since the third":  {query: "since=2026-03-01T12:03:00Z", wantJTIs: jtis[2:]},
		"since the future": {query: "since=2027-01-01T00:00:00Z", wantJTIs: nil},
		"paged by 2":       {query: "limit=2", wantJTIs: jtis},
		"since and paged":  {query: "since=2026-03-01T12:02:00Z&limit=1", wantJTIs: jtis[1:]},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var got []string
			cursor := ""
			for {
				list := decode[protocol.RevocationList](t, mustGet(t, reg, protocol.PathRevocations+"?"+tc.query+"&cursor="+url.QueryEscape(cursor)))
				for _, r := range list.Revocations {
					got = append(got, r.JTI)
					if r.Reason != protocol.ReasonRevoked || r.RevokedAt.IsZero() {
						t.Errorf("entry %+v", r)
					}
				}
				if list.SyncedAt.IsZero() {
					t.Errorf("syncedAt missing")
				}
				if list.NextCursor == "" {
					break
				}
				cursor = list.NextCursor
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.wantJTIs) {
				t.Errorf("jtis = %v, want %v", got, tc.wantJTIs)
			}
		})
	}
}

func TestDIDDocument(t *testing.T) {
	t.Parallel()
	reg := start(t)
	key := newKey(t)
	srv := createServer(t, reg, reg.APIKey, key, "did doc")
	resp, raw := reg.DoWithKey(t, "", http.MethodGet, pathOf(protocol.PathDIDDocument, srv.ID), nil)
	wantStatus(t, resp, raw, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); ct != "application/did+json" {
		t.Errorf("Content-Type = %q", ct)
	}
	doc := decode[protocol.DIDDocument](t, raw)
	vm := srv.DID + "#key-1"
	want := protocol.DIDDocument{
		Context: []string{"https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/ed25519-2020/v1"},
		ID:      srv.DID,
		VerificationMethod: []protocol.VerificationMethod{{
			ID: vm, Type: "Ed25519VerificationKey2020", Controller: srv.DID, PublicKeyMultibase: keys.Multibase(key.pub),
		}},
		Authentication:  []string{vm},
		AssertionMethod: []string{vm},
	}
	if mustJSON(t, doc) != mustJSON(t, want) {
		t.Errorf("document = %s\nwant %s", mustJSON(t, doc), mustJSON(t, want))
	}
	// The did:web maps back to this very URL.
	host, _ := url.PathUnescape(strings.Split(srv.DID, ":")[2])
	if got := "http://" + host + "/servers/" + srv.ID + "/did.json"; got != reg.URL+pathOf(protocol.PathDIDDocument, srv.ID) {
		t.Errorf("did:web resolves to %s", got)
	}
}

func TestJWKSAndHealth(t *testing.T) {
	t.Parallel()
	reg := start(t)
	// The members as served, not as a JOSE library reads them.
	type jwk struct{ Kty, Crv, Alg, Use, Kid, X string }
	jwks := decode[struct{ Keys []jwk }](t, mustGet(t, reg, protocol.PathJWKS))
	if len(jwks.Keys) != 1 {
		t.Fatalf("keys = %+v", jwks.Keys)
	}
	k := jwks.Keys[0]
	if k.Kty != "OKP" || k.Crv != "Ed25519" || k.Alg != "EdDSA" || k.Use != "sig" || !strings.HasPrefix(k.Kid, "capiscio-ca-") || len(k.X) != 43 {
		t.Errorf("jwk = %+v", k)
	}
	if got := decode[protocol.Health](t, mustGet(t, reg, protocol.PathHealth)); got.Status != "ok" {
		t.Errorf("health = %+v", got)
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	reg := start(t)
	srv := createServer(t, reg, reg.APIKey, newKey(t), "counted")
	rotate(t, reg, srv.ID, newKey(t))
	rotate(t, reg, srv.ID, newKey(t))
	reg.Do(t, http.MethodGet, "/nowhere", nil)

	resp, raw := reg.Do(t, http.MethodGet, registryserver.PathStats, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	got := decode[registryserver.Stats](t, raw)
	if got.Requests != 4 || got.ByRoute["POST /v1/sdk/servers"] != 1 || got.ByRoute["PUT /v1/sdk/servers/{id}"] != 2 || got.ByRoute["GET /health"] != 0 {
		t.Errorf("stats = %+v, want 4 requests: 1 create, 2 PUT, 1 unrouted", got)
	}
	if len(got.ByRoute) != 18 {
		t.Errorf("byRoute has %d routes, want all 18", len(got.ByRoute))
	}
	reg.Server.ResetStats()
	if got := reg.Server.Stats(); got.Requests != 0 || got.ByRoute["PUT /v1/sdk/servers/{id}"] != 0 {
		t.Errorf("after ResetStats: %+v", got)
	}
}

// TestStats_Access checks who may read PathStats: any valid API key, and
// anyone only when the registry serves public stats.
func TestStats_Access(t *testing.T) {
	t.Parallel()
	private := start(t)
	public := start(t, registrytest.WithPublicStats())
	const unknownKey = "sk_test_not-a-key-of-this-registry"
	cases := map[string]struct {
		reg        *registrytest.Registry
		key        string
		wantStatus int
	}{
		"no API key":           {reg: private, key: "", wantStatus: http.StatusUnauthorized},
		"unknown API key":      {reg: private, key: unknownKey, wantStatus: http.StatusUnauthorized},
		"dev organisation key": {reg: private, key: private.APIKey, wantStatus: http.StatusOK},
		"other organisation":   {reg: private, key: private.SecondOrgKey(t), wantStatus: http.StatusOK},
		"public, no API key":   {reg: public, key: "", wantStatus: http.StatusOK},
		"public, with API key": {reg: public, key: public.APIKey, wantStatus: http.StatusOK},
		"public, unknown key":  {reg: public, key: unknownKey, wantStatus: http.StatusOK},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resp, raw := tc.reg.DoWithKey(t, tc.key, http.MethodGet, registryserver.PathStats, nil)
			wantStatus(t, resp, raw, tc.wantStatus)
			if tc.wantStatus == http.StatusOK {
				decode[registryserver.Stats](t, raw)
				return
			}
			checkErrorReply(t, resp, raw, errorCase{status: tc.wantStatus, code: protocol.CodeUnauthorized, message: protocol.HeaderAPIKey})
		})
	}
}
