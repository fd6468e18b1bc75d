package registry_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

// TestProveGone drives ProveGone against the real local registry: only a
// record really deleted is proven gone; a wrong base path, another
// organisation's key and a record that was never there in this registry but
// is served publicly are not.
func TestProveGone(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t)
	owner := clientFor(t, reg.URL, reg.APIKey)
	ids := seedServers(t, owner, 2)
	if err := owner.DeleteServer(context.Background(), ids[1]); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		client *registry.Client
		id     string
		reason string // "" = proven gone
	}{
		"deleted record":                  {client: owner, id: ids[1]},
		"never existed":                   {client: owner, id: "0b6a3f2e-1c4d-4e5f-9a8b-7c6d5e4f3a2b"},
		"API key of another organisation": {client: clientFor(t, reg.URL, reg.SecondOrgKey(t)), id: ids[0], reason: registry.UnprovenOtherOrganisation},
		"base URL with /v1":               {client: clientFor(t, reg.URL+"/v1", reg.APIKey), id: ids[0], reason: registry.UnprovenWrongBase},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			_, err := c.client.GetServer(ctx, c.id)
			if !registry.IsNotFound(err) {
				t.Fatalf("GetServer = %v; want a 404 to judge", err)
			}
			got := c.client.ProveGone(ctx, c.id, err)
			np, ok := registry.IsNotProven(got)
			switch {
			case c.reason == "" && got != nil:
				t.Fatalf("ProveGone = %v; want proven gone", got)
			case c.reason != "" && (!ok || np.Reason != c.reason):
				t.Fatalf("ProveGone = %v; want not proven (%s)", got, c.reason)
			}
		})
	}
}

// TestProveGone_ForeignReplies: replies no CapiscIO registry sends (an HTML
// 404 from a proxy, a 404 without an error code, a public route that fails)
// are never taken as proof.
func TestProveGone_ForeignReplies(t *testing.T) {
	t.Parallel()
	const id = "0b6a3f2e-1c4d-4e5f-9a8b-7c6d5e4f3a2b"
	notFound := `{"success":false,"error":"not_found","message":"server not found"}`
	jwks := `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k"}]}`
	cases := map[string]struct {
		record, jwks, public func(w http.ResponseWriter)
		reason               string
	}{
		"html 404 from a proxy": {
			record: func(w http.ResponseWriter) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(404)
				_, _ = w.Write([]byte("<h1>Not Found</h1>"))
			},
			reason: registry.UnprovenWrongBase,
		},
		"404 without a code": {
			record: func(w http.ResponseWriter) { w.WriteHeader(404); _, _ = w.Write([]byte(`{"message":"nope"}`)) },
			reason: registry.UnprovenWrongBase,
		},
		"no key set at the base URL": {
			record: reply(404, notFound), jwks: reply(404, `{"error":"not_found"}`),
			reason: registry.UnprovenWrongBase,
		},
		"public route fails": {
			record: reply(404, notFound), jwks: reply(200, jwks), public: reply(503, `{"error":"unavailable"}`),
			reason: registry.UnprovenInconclusive,
		},
		"public route serves the record": {
			record: reply(404, notFound), jwks: reply(200, jwks), public: reply(200, `{"id":"`+id+`","status":"active"}`),
			reason: registry.UnprovenOtherOrganisation,
		},
		"all agree": {
			record: reply(404, notFound), jwks: reply(200, jwks), public: reply(404, notFound),
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case strings.HasPrefix(r.URL.Path, "/v1/sdk/servers/"):
					c.record(w)
				case r.URL.Path == protocol.PathJWKS && c.jwks != nil:
					c.jwks(w)
				case c.public != nil:
					c.public(w)
				default:
					w.WriteHeader(500)
				}
			}))
			defer ts.Close()
			client := clientFor(t, ts.URL, "sk_test_0123456789abcdefghijklmn")
			ctx := context.Background()
			_, err := client.GetServer(ctx, id)
			got := client.ProveGone(ctx, id, err)
			np, ok := registry.IsNotProven(got)
			switch {
			case c.reason == "" && got != nil:
				t.Fatalf("ProveGone = %v; want proven gone", got)
			case c.reason != "" && (!ok || np.Reason != c.reason || !strings.Contains(got.Error(), id)):
				t.Fatalf("ProveGone = %v; want not proven (%s), naming the id", got, c.reason)
			}
		})
	}
}

func reply(status int, body string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

func clientFor(t *testing.T, url, key string) *registry.Client {
	t.Helper()
	c, err := registry.New(registry.Config{BaseURL: url, APIKey: key, MaxRetries: 0})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
