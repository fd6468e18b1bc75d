package provider

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

// bentReplies rewrite a successful reply of the registry, after it carried
// the request out, the way a proxy in between or a registry bug could.
func bentReplies(t *testing.T) map[string]func(int, []byte) (int, []byte) {
	other := newTestKey(t)
	data := func(edit func(d map[string]any, env map[string]any)) func(int, []byte) (int, []byte) {
		return func(status int, body []byte) (int, []byte) {
			var env map[string]any
			if json.Unmarshal(body, &env) != nil {
				return status, body
			}
			d, _ := env["data"].(map[string]any)
			edit(d, env)
			out, _ := json.Marshal(env)
			return status, out
		}
	}
	return map[string]func(int, []byte) (int, []byte){
		"data an array":    data(func(d, env map[string]any) { env["data"] = []any{d} }),
		"data a string":    data(func(_, env map[string]any) { env["data"] = "created" }),
		"data null":        data(func(_, env map[string]any) { env["data"] = nil }),
		"data missing":     data(func(_, env map[string]any) { delete(env, "data") }),
		"no did":           data(func(d, _ map[string]any) { delete(d, "did") }),
		"did not a server": data(func(d, _ map[string]any) { d["did"] = other.DIDKey }),
		"did of another server": data(func(d, _ map[string]any) {
			d["did"] = regexp.MustCompile(`[0-9a-f-]{36}$`).ReplaceAllString(fmt.Sprint(d["did"]), "0b6a3f2e-1c4d-4e5f-9a8b-7c6d5e4f3a2b")
		}),
		"id a number":       data(func(d, _ map[string]any) { d["id"] = 42 }),
		"name a number":     data(func(d, _ map[string]any) { d["name"] = 5 }),
		"another key":       data(func(d, _ map[string]any) { d["publicKey"], d["didKey"] = other.PEM, other.DIDKey }),
		"success false 200": func(int, []byte) (int, []byte) { return 200, []byte(`{"success":false,"message":"could not save"}`) },
		"not JSON":          func(int, []byte) (int, []byte) { return 201, []byte("<html><body>created</body></html>") },
	}
}

// TestTrust_BentRegistrationReplies drives create (POST) and key
// registration on a given record (PUT) through a proxy that answers the
// request the registry carried out with a reply the provider cannot read or
// must not believe. The apply must fail saying the outcome is unconfirmed,
// keep what it knows in state, and the next clean apply must converge: no
// orphaned or duplicate record, the registry holding the key whose private
// half is in state, and an empty plan.
func TestTrust_BentRegistrationReplies(t *testing.T) {
	for name, bend := range bentReplies(t) {
		for _, kind := range []string{"create", "register on a given record"} {
			t.Run(kind+"/"+name, func(t *testing.T) {
				rule := &registrytest.Rule{Method: http.MethodPost, Paths: []string{"/v1/sdk/servers"}, Limit: 1, Fault: registrytest.BendReply(name, bend)}
				wantErr := regexp.MustCompile(`Server Record Creation Unconfirmed[\s\S]*reply`)
				if kind != "create" {
					rule = &registrytest.Rule{Method: http.MethodPut, Paths: []string{"/v1/sdk/servers/*"}, Limit: 1, Fault: registrytest.BendReply(name, bend)}
					wantErr = regexp.MustCompile(`Server Key Registration Unconfirmed[\s\S]*reply`)
				}
				faults := registrytest.NewFaults(rule)
				reg := testRegistry(t, faults.Option())
				body := ""
				if kind != "create" {
					body = fmt.Sprintf("server_id = %q", outOfBandRecord(t, reg).ID)
				}
				cfg := testIdentityConfig(reg, body)
				unitTest(t, resource.TestCase{
					ProtoV6ProviderFactories: testProviderFactories(nil),
					Steps: []resource.TestStep{
						{Config: cfg, ExpectError: wantErr},
						{
							PreConfig: func() {
								if rule.Fired() != 1 {
									t.Fatalf("the bent reply fired %d times, want 1", rule.Fired())
								}
								faults.Disable()
							},
							Config: cfg,
							Check:  convergedOnOneRecord(reg),
						},
					},
				})
			})
		}
	}
}

// convergedOnOneRecord: the organisation holds exactly one record, the
// identity's, and it holds the key whose private half is in state.
func convergedOnOneRecord(reg *registrytest.Registry) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		rs, ok := s.RootModule().Resources[testAddr]
		if !ok || rs.Primary.Tainted {
			return fmt.Errorf("the identity is missing or still tainted")
		}
		a := rs.Primary.Attributes
		if err := checkRecordCount(reg, 1); err != nil {
			return err
		}
		resp, raw := regDo(reg, http.MethodGet, "/v1/sdk/servers/"+rs.Primary.ID, nil)
		var env protocol.Envelope[protocol.Server]
		if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &env) != nil {
			return fmt.Errorf("record %s: HTTP %d", rs.Primary.ID, resp.StatusCode)
		}
		rec := env.Data
		priv, err := keys.ParsePrivatePEM(a["private_key_pem"])
		if err != nil {
			return fmt.Errorf("private_key_pem: %w", err)
		}
		mat, err := keys.DescribePrivate(priv)
		if err != nil || rec.DIDKey != mat.DIDKey || a["did_key"] != mat.DIDKey {
			return fmt.Errorf("the registry holds %s, state's private key is %s's half", rec.DIDKey, mat.DIDKey)
		}
		return nil
	}
}

// TestTrust_BentBadge: a first badge that does not verify (alg none, a
// forged signature on claims naming another server or an expiry in 2100, a
// key claim of another key) is not recorded; the identity itself is saved.
func TestTrust_BentBadge(t *testing.T) {
	forge := func(edit func(claims map[string]any, header map[string]any)) func(int, []byte) (int, []byte) {
		return func(status int, body []byte) (int, []byte) {
			var env map[string]any
			if json.Unmarshal(body, &env) != nil {
				return status, body
			}
			d, _ := env["data"].(map[string]any)
			tok, _ := d["badge"].(string)
			parts := strings.Split(tok, ".")
			if len(parts) != 3 {
				return status, body
			}
			var header, claims map[string]any
			rawH, _ := base64.RawURLEncoding.DecodeString(parts[0])
			rawC, _ := base64.RawURLEncoding.DecodeString(parts[1])
			_ = json.Unmarshal(rawH, &header)
			_ = json.Unmarshal(rawC, &claims)
			edit(claims, header)
			h, _ := json.Marshal(header)
			c, _ := json.Marshal(claims)
			forged := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "." + parts[2]
			if header["alg"] == "none" {
				forged = base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "."
			}
			d["badge"], d["token"] = forged, forged
			out, _ := json.Marshal(env)
			return status, out
		}
	}
	other := newTestKey(t)
	cases := map[string]func(int, []byte) (int, []byte){
		"alg none": forge(func(c, h map[string]any) { h["alg"] = "none"; c["exp"] = 4102444800 }),
		"another sub": forge(func(c, _ map[string]any) {
			c["sub"] = "did:web:evil.example:servers:0b6a3f2e-1c4d-4e5f-9a8b-7c6d5e4f3a2b"
		}),
		"exp in 2100": forge(func(c, _ map[string]any) { c["exp"] = 4102444800 }),
		"another key claim": forge(func(c, _ map[string]any) {
			c["key"] = map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64url(other.Key)}
		}),
		"not a JWS at all": forge(func(c, h map[string]any) { h["typ"] = "x" }),
	}
	for name, bend := range cases {
		t.Run(name, func(t *testing.T) {
			rule := &registrytest.Rule{Method: http.MethodPost, Paths: []string{"/v1/sdk/servers/*/badge"}, Limit: 1, Fault: registrytest.BendReply(name, bend)}
			reg := testRegistry(t, registrytest.NewFaults(rule).Option())
			unitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testProviderFactories(nil),
				Steps: []resource.TestStep{{
					Config: testIdentityConfig(reg, ``),
					ConfigStateChecks: []statecheck.StateCheck{
						statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("badge_jti"), knownvalue.Null()),
						statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("badge_expires_at"), knownvalue.Null()),
						checkAttrs(testAddr, func(a map[string]any) error {
							if rule.Fired() != 1 {
								return fmt.Errorf("the bent badge fired %d times, want 1", rule.Fired())
							}
							return checkRecordCount(reg, 1)
						}),
					},
				}},
			})
		})
	}
}
