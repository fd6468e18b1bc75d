package provider

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

// TestIdentifierRules_AgreeWithRegistry feeds the same values to the
// provider's plan-time validators and to the local registry's routes: every
// value is accepted by both or refused by both. A value the provider passes
// at plan time and the registry then refuses is an apply that fails half
// way; a value the provider refuses that the registry takes is a needless
// error. Both once happened (an uppercase server id, an IPv6 domain).
func TestIdentifierRules_AgreeWithRegistry(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t)
	mat, err := keys.NewMaterial(nil)
	if err != nil {
		t.Fatal(err)
	}
	var created protocol.Envelope[protocol.Server]
	mustStatus(t, http.StatusCreated, &created)(regDo(reg, http.MethodPost, protocol.PathServers,
		protocol.CreateServerRequest{Name: "rules", DID: mat.DIDKey, PublicKey: mat.PEM}))
	id := created.Data.ID

	t.Run("server id", func(t *testing.T) {
		t.Parallel()
		for _, s := range []string{
			id, strings.ToUpper(id), "{" + id + "}", strings.ReplaceAll(id, "-", ""), "urn:uuid:" + id, id + " ",
		} {
			resp, _ := regDo(reg, http.MethodGet, protocol.Path(protocol.PathServer, s), nil)
			agree(t, "server id", s, uuidValidator(), resp.StatusCode == http.StatusOK)
		}
	})

	t.Run("badge domain", func(t *testing.T) {
		t.Parallel()
		for _, d := range []string{
			"mcp.example.com", "MCP.Example.COM", "localhost:8080", "127.0.0.1", "[::1]:8080", "[::1]",
			"xn--bcher-kva.example", strings.Repeat("a", 63) + ".com",
			"::1", "[127.0.0.1]", "exa_mple.com", "x.io:0", "x.io:99999", "x.io:080", "x.io:", ":80",
			"-a.com", "a-.com", "x..io", strings.Repeat("a", 64) + ".com", strings.Repeat("a.", 127) + "aa",
			"https://x.io", "x.io/p", "a b",
		} {
			resp, _ := regDo(reg, http.MethodPost, protocol.Path(protocol.PathServerBadge, id), protocol.BadgeRequest{Domain: d})
			agree(t, "domain", d, domainValidator(), resp.StatusCode == http.StatusCreated)
		}
	})

	t.Run("name", func(t *testing.T) {
		t.Parallel()
		for _, n := range []string{
			"billing-mcp", strings.Repeat("é", protocol.MaxNameRunes), strings.Repeat("é", protocol.MaxNameRunes+1),
			"tab\tname", "line\nbreak", "bell\a", "nul\x00", "zero\u200bwidth", "del\x7f",
		} {
			resp, _ := regDo(reg, http.MethodPut, protocol.Path(protocol.PathServer, id),
				protocol.RegisterKeyRequest{DID: mat.DIDKey, PublicKey: mat.PEM, Name: n})
			agree(t, "name", n, nameValidator(), resp.StatusCode == http.StatusOK)
		}
	})

	t.Run("revocation reason and jti", func(t *testing.T) {
		t.Parallel()
		for _, reason := range []string{
			"leaked in a CI log", strings.Repeat("r", protocol.MaxReasonRunes), strings.Repeat("r", protocol.MaxReasonRunes+1),
			"two\nlines", "esc\x1b[2J",
		} {
			jti := issueJTI(t, reg, id)
			resp, _ := regDo(reg, http.MethodPost, protocol.Path(protocol.PathBadgeRevoke, jti), protocol.RevokeRequest{Reason: reason})
			agree(t, "reason", reason, revokeReasonValidator(), resp.StatusCode == http.StatusOK)
		}
		jti := issueJTI(t, reg, id)
		for _, s := range []string{jti, strings.ToUpper(jti), strings.ReplaceAll(jti, "-", "")} {
			resp, _ := regDo(reg, http.MethodGet, protocol.Path(protocol.PathBadgeStatus, s), nil)
			agree(t, "jti", s, jtiValidator(), resp.StatusCode == http.StatusOK)
		}
	})
}

// agree fails the test when the validator and the registry disagree on value.
func agree(t *testing.T, what, value string, v validator.String, registryAccepts bool) {
	t.Helper()
	var resp validator.StringResponse
	v.ValidateString(context.Background(), validator.StringRequest{Path: path.Root(what), ConfigValue: types.StringValue(value)}, &resp)
	if providerAccepts := !resp.Diagnostics.HasError(); providerAccepts != registryAccepts {
		t.Errorf("%s %q: the provider accepts it: %v, the registry accepts it: %v (%v)", what, value, providerAccepts, registryAccepts, resp.Diagnostics)
	}
}

// issueJTI issues a badge for the record and returns its jti.
func issueJTI(t *testing.T, reg *registrytest.Registry, id string) string {
	t.Helper()
	var badge protocol.Envelope[protocol.Badge]
	mustStatus(t, http.StatusCreated, &badge)(regDo(reg, http.MethodPost, protocol.Path(protocol.PathServerBadge, id), protocol.BadgeRequest{}))
	return badge.Data.JTI
}

// mustStatus returns a check of a reply's status that decodes its body into v.
func mustStatus(t *testing.T, want int, v any) func(*http.Response, []byte) {
	t.Helper()
	return func(resp *http.Response, body []byte) {
		t.Helper()
		if resp.StatusCode != want {
			t.Fatalf("HTTP %d, want %d: %s", resp.StatusCode, want, body)
		}
		if err := jsonUnmarshal(body, v); err != nil {
			t.Fatal(err)
		}
	}
}
