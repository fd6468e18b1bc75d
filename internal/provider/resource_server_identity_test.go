package provider

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

const testAddr = "capiscio_server_identity.test"

func testIdentityConfig(reg *registrytest.Registry, body string) string {
	return providerBlock(reg, "max_retries = 1") + fmt.Sprintf(`
resource "capiscio_server_identity" "test" {
%s
}
`, body)
}

func TestServerIdentity_CreateConsistent(t *testing.T) {
	reg := testRegistry(t)
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		CheckDestroy:             checkNoServers(reg),
		Steps: []resource.TestStep{{
			Config: testIdentityConfig(reg, `name = "create-test"`),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testAddr, plancheck.ResourceActionCreate),
					plancheck.ExpectSensitiveValue(testAddr, tfjsonpath.New("private_key_pem")),
					plancheck.ExpectSensitiveValue(testAddr, tfjsonpath.New("env")),
					plancheck.ExpectKnownValue(testAddr, tfjsonpath.New("registry_url"), knownvalue.StringExact(reg.URL)),
					// Unset means the default the SDK derives; state keeps it null.
					plancheck.ExpectKnownValue(testAddr, tfjsonpath.New("domain"), knownvalue.Null()),
					plancheck.ExpectUnknownValue(testAddr, tfjsonpath.New("did")),
				},
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			ConfigStateChecks: []statecheck.StateCheck{
				checkIdentityConsistent(reg, testAddr),
				statecheck.ExpectSensitiveValue(testAddr, tfjsonpath.New("private_key_pem")),
				statecheck.ExpectSensitiveValue(testAddr, tfjsonpath.New("env")),
				statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("name"), knownvalue.StringExact("create-test")),
				statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("trust_level"), knownvalue.StringExact("1")),
				statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("issue_badge"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("ready_for_rotation"), knownvalue.Bool(false)),
			},
		}},
	})
}

func TestServerIdentity_NameUpdatesInPlace(t *testing.T) {
	reg := testRegistry(t)
	sameKey := statecheck.CompareValue(compare.ValuesSame())
	sameID := statecheck.CompareValue(compare.ValuesSame())
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{
			{
				Config: testIdentityConfig(reg, `name = "before"`),
				ConfigStateChecks: []statecheck.StateCheck{
					sameKey.AddStateValue(testAddr, tfjsonpath.New("did_key")),
					sameID.AddStateValue(testAddr, tfjsonpath.New("id")),
				},
			},
			{
				Config: testIdentityConfig(reg, `name = "after"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					sameKey.AddStateValue(testAddr, tfjsonpath.New("did_key")),
					sameID.AddStateValue(testAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("name"), knownvalue.StringExact("after")),
					checkAttrs(testAddr, func(a map[string]any) error {
						s, code := registryGet(t, reg, str(a, "id"))
						if code != http.StatusOK || s.Name != "after" {
							return fmt.Errorf("registry name %q (HTTP %d), want after", s.Name, code)
						}
						return nil
					}),
				},
			},
		},
	})
}

func TestServerIdentity_RotationTriggersReplace(t *testing.T) {
	reg := testRegistry(t)
	var oldJTI, oldID string
	differentKey := statecheck.CompareValue(compare.ValuesDiffer())
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		CheckDestroy:             checkNoServers(reg),
		Steps: []resource.TestStep{
			{
				Config: testIdentityConfig(reg, `rotation_triggers = { v = "1" }`),
				ConfigStateChecks: []statecheck.StateCheck{
					differentKey.AddStateValue(testAddr, tfjsonpath.New("did_key")),
					capture(testAddr, "badge_jti", &oldJTI),
					capture(testAddr, "id", &oldID),
				},
			},
			{
				Config: testIdentityConfig(reg, `rotation_triggers = { v = "2" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testAddr, plancheck.ResourceActionReplace),
					plancheck.ExpectUnknownValue(testAddr, tfjsonpath.New("did_key")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					differentKey.AddStateValue(testAddr, tfjsonpath.New("did_key")),
					checkIdentityConsistent(reg, testAddr),
					checkAttrs(testAddr, func(map[string]any) error {
						revoked, _, err := badgeRevoked(reg, oldJTI)
						if err != nil || !revoked {
							return fmt.Errorf("old badge %s revoked=%v err=%v; want revoked", oldJTI, revoked, err)
						}
						if _, code := registryGet(t, reg, oldID); code != http.StatusNotFound {
							return fmt.Errorf("old provider-created record %s still exists (HTTP %d)", oldID, code)
						}
						return nil
					}),
				},
			},
		},
	})
}

// TestServerIdentity_ReplaceOnGivenRecord rotates a dashboard record with a
// taint (terraform apply -replace): the same record gets a new key, the DID
// stays, and the registry revokes the old key's badge with reason key_rotated.
func TestServerIdentity_ReplaceOnGivenRecord(t *testing.T) {
	reg := testRegistry(t)
	rec := outOfBandRecord(t, reg)
	var oldJTI string
	sameDID := statecheck.CompareValue(compare.ValuesSame())
	differentKey := statecheck.CompareValue(compare.ValuesDiffer())
	config := testIdentityConfig(reg, fmt.Sprintf(`server_id = %q`, rec.ID))
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		CheckDestroy: func(*terraform.State) error {
			if _, code := registryGet(t, reg, rec.ID); code != http.StatusOK {
				return fmt.Errorf("destroy deleted the user's record %s (HTTP %d)", rec.ID, code)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					checkIdentityConsistent(reg, testAddr),
					sameDID.AddStateValue(testAddr, tfjsonpath.New("did")),
					differentKey.AddStateValue(testAddr, tfjsonpath.New("did_key")),
					statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("id"), knownvalue.StringExact(rec.ID)),
					capture(testAddr, "badge_jti", &oldJTI),
				},
			},
			{
				Config: config,
				Taint:  []string{testAddr},
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testAddr, plancheck.ResourceActionReplace),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					checkIdentityConsistent(reg, testAddr),
					sameDID.AddStateValue(testAddr, tfjsonpath.New("did")),
					differentKey.AddStateValue(testAddr, tfjsonpath.New("did_key")),
					checkAttrs(testAddr, func(map[string]any) error {
						revoked, reason, err := badgeRevoked(reg, oldJTI)
						if err != nil || !revoked || reason != protocol.ReasonKeyRotated {
							return fmt.Errorf("old badge: revoked=%v reason=%q err=%v; want revoked, key_rotated", revoked, reason, err)
						}
						return nil
					}),
				},
			},
		},
	})
}

func TestServerIdentity_DriftRecordDeleted(t *testing.T) {
	reg := testRegistry(t)
	var id string
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{
			{
				Config:            testIdentityConfig(reg, ``),
				ConfigStateChecks: []statecheck.StateCheck{capture(testAddr, "id", &id)},
			},
			{
				PreConfig: func() {
					if resp, body := regDo(reg, http.MethodDelete, "/v1/sdk/servers/"+id, nil); resp.StatusCode != http.StatusOK {
						t.Fatalf("out-of-band delete: HTTP %d %s", resp.StatusCode, body)
					}
				},
				Config: testIdentityConfig(reg, ``),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testAddr, plancheck.ResourceActionCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{checkIdentityConsistent(reg, testAddr)},
			},
		},
	})
}

// TestServerIdentity_DestroyNeedsProof: a DELETE answered 404 without the
// registry's proof that the record is gone (here a proxy without the route:
// 404, not the record's not_found) fails the destroy and keeps the identity
// in state, its key with it; the record stays. Once DELETE works, destroy
// deletes the record.
func TestServerIdentity_DestroyNeedsProof(t *testing.T) {
	faults := registrytest.NewFaults(&registrytest.Rule{Method: http.MethodDelete, Fault: registrytest.Status(http.StatusNotFound)})
	reg := testRegistry(t, faults.Option())
	var id string
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{
			{
				Config:            testIdentityConfig(reg, ``),
				ConfigStateChecks: []statecheck.StateCheck{capture(testAddr, "id", &id)},
			},
			{
				Config:      testIdentityConfig(reg, ``),
				Destroy:     true,
				ExpectError: regexp.MustCompile(`Server Record Not Confirmed Deleted`),
			},
			{
				PreConfig: func() {
					if s, code := registryGet(t, reg, id); code != http.StatusOK || s.ID != id {
						t.Fatalf("after the failed destroy the record %s reads HTTP %d, want it kept", id, code)
					}
					faults.Disable()
				},
				Config: testIdentityConfig(reg, ``),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(), // the identity, its key with it, is still in state
				}},
			},
		},
		CheckDestroy: func(*terraform.State) error {
			if _, code := registryGet(t, reg, id); code != http.StatusNotFound {
				return fmt.Errorf("record %s reads HTTP %d after destroy, want 404", id, code)
			}
			return nil
		},
	})
}

// TestServerIdentity_DriftKeyChanged: another key registered on the record
// out of band (a runtime that lost its key and made a new one) is mended in
// place in every custody mode: the plan is an update that registers this
// identity's key again on the same record, the DID stays, and no record is
// created or left behind.
func TestServerIdentity_DriftKeyChanged(t *testing.T) {
	k1 := newTestKey(t)
	modes := map[string]struct {
		body string
		vars func() config.Variables
	}{
		"generate": {},
		"external": {body: fmt.Sprintf("external_public_key_pem = %q", k1.PEM)},
		"write-only": {
			body: "private_key_wo = var.key\n  private_key_wo_version = 1",
			// A new key in every run, as ephemeral.capiscio_server_key gives:
			// the declared key is the one in state, not this run's value.
			vars: func() config.Variables {
				return config.Variables{"key": config.StringVariable(newTestKey(t).PrivatePEM)}
			},
		},
	}
	for name, m := range modes {
		t.Run(name, func(t *testing.T) {
			reg := testRegistry(t)
			rogue := newTestKey(t)
			cfg := testIdentityConfig(reg, m.body)
			if m.vars != nil {
				cfg += "variable \"key\" {\n  type      = string\n  sensitive = true\n  ephemeral = true\n}\n"
			}
			var vars config.Variables
			if m.vars != nil {
				vars = m.vars()
			}
			var id, did, declared string
			sameDID := statecheck.CompareValue(compare.ValuesSame())
			unitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testProviderFactories(nil),
				TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)},
				CheckDestroy:             checkNoServers(reg),
				Steps: []resource.TestStep{
					{
						Config: cfg, ConfigVariables: vars,
						ConfigStateChecks: []statecheck.StateCheck{
							capture(testAddr, "id", &id), capture(testAddr, "did", &did), capture(testAddr, "did_key", &declared),
							sameDID.AddStateValue(testAddr, tfjsonpath.New("did")),
						},
					},
					{
						PreConfig: func() {
							resp, body := regDo(reg, http.MethodPut, "/v1/sdk/servers/"+id, protocol.RegisterKeyRequest{DID: rogue.DIDKey, PublicKey: rogue.PEM})
							if resp.StatusCode != http.StatusOK {
								t.Fatalf("out-of-band key change: HTTP %d %s", resp.StatusCode, body)
							}
						},
						Config: cfg, ConfigVariables: varsAgain(m.vars),
						ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
							plancheck.ExpectResourceAction(testAddr, plancheck.ResourceActionUpdate),
							plancheck.ExpectKnownValue(testAddr, tfjsonpath.New("did_key"), knownvalueFrom(&declared)),
							plancheck.ExpectKnownValue(testAddr, tfjsonpath.New("did"), knownvalueFrom(&did)),
						}},
						ConfigStateChecks: []statecheck.StateCheck{
							sameDID.AddStateValue(testAddr, tfjsonpath.New("did")),
							checkAttrs(testAddr, func(a map[string]any) error {
								s, code := registryGet(t, reg, id)
								switch {
								case str(a, "id") != id:
									return fmt.Errorf("the identity moved to record %s, want %s", str(a, "id"), id)
								case code != http.StatusOK || s.DIDKey != declared || str(a, "did_key") != declared:
									return fmt.Errorf("record %s holds %s (HTTP %d), state did_key %s; want the declared %s", id, s.DIDKey, code, str(a, "did_key"), declared)
								}
								return checkRecordCount(reg, 1)
							}),
						},
					},
					{
						// Mended: nothing more to do.
						Config: cfg, ConfigVariables: varsAgain(m.vars),
						ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
					},
				},
			})
		})
	}
}

// varsAgain gives a step fresh variables (a new ephemeral key per run), or none.
func varsAgain(f func() config.Variables) config.Variables {
	if f == nil {
		return nil
	}
	return f()
}

// knownvalueFrom checks a string against a value captured by an earlier step.
func knownvalueFrom(p *string) knownvalue.Check { return lazyExact{p} }

type lazyExact struct{ p *string }

func (c lazyExact) CheckValue(v any) error { return knownvalue.StringExact(*c.p).CheckValue(v) }
func (c lazyExact) String() string         { return *c.p }

// checkRecordCount asserts how many records the dev organisation holds.
func checkRecordCount(reg *registrytest.Registry, want int) error {
	resp, body := regDo(reg, http.MethodGet, "/v1/sdk/servers?limit=1000", nil)
	var env protocol.Envelope[[]protocol.Server]
	if resp.StatusCode != http.StatusOK || jsonUnmarshal(body, &env) != nil {
		return fmt.Errorf("listing records: HTTP %d", resp.StatusCode)
	}
	if len(env.Data) != want {
		return fmt.Errorf("the registry holds %d records, want %d", len(env.Data), want)
	}
	return nil
}

// TestServerIdentity_DriftDisabled: a record an operator disabled is neither
// replaced nor enabled again: the plan changes nothing (it warns, which the
// CLI-level TestDrift_PlanMessages checks), status says disabled, and the
// record stays disabled until the operator enables it.
func TestServerIdentity_DriftDisabled(t *testing.T) {
	reg := testRegistry(t)
	var id string
	sameKey := statecheck.CompareValue(compare.ValuesSame())
	recordStatus := func(want string) statecheck.StateCheck {
		return checkAttrs(testAddr, func(a map[string]any) error {
			if s, code := registryGet(t, reg, id); code != http.StatusOK || s.Status != want {
				return fmt.Errorf("record %s status %q (HTTP %d), want %q", id, s.Status, code, want)
			}
			return checkRecordCount(reg, 1)
		})
	}
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{
			{
				Config: testIdentityConfig(reg, ``),
				ConfigStateChecks: []statecheck.StateCheck{
					capture(testAddr, "id", &id),
					sameKey.AddStateValue(testAddr, tfjsonpath.New("did_key")),
					statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("status"), knownvalue.StringExact("active")),
				},
			},
			{
				PreConfig: func() {
					if resp, body := regDo(reg, http.MethodPost, "/v1/sdk/servers/"+id+"/disable", nil); resp.StatusCode != http.StatusOK {
						t.Fatalf("out-of-band disable: HTTP %d %s", resp.StatusCode, body)
					}
				},
				Config: testIdentityConfig(reg, ``),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					sameKey.AddStateValue(testAddr, tfjsonpath.New("did_key")),
					statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("status"), knownvalue.StringExact("disabled")),
					recordStatus("disabled"),
				},
			},
			{
				PreConfig: func() {
					if resp, body := regDo(reg, http.MethodPost, "/v1/sdk/servers/"+id+"/enable", nil); resp.StatusCode != http.StatusOK {
						t.Fatalf("out-of-band enable: HTTP %d %s", resp.StatusCode, body)
					}
				},
				Config: testIdentityConfig(reg, ``),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					sameKey.AddStateValue(testAddr, tfjsonpath.New("did_key")),
					statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("status"), knownvalue.StringExact("active")),
					recordStatus("active"),
				},
			},
		},
	})
}

// TestServerIdentity_RegistryURLAliases: the same registry reached as
// localhost instead of 127.0.0.1, with another scheme case, a default port or
// a trailing slash replaces nothing: the plan is empty and state follows the
// URL the provider uses.
func TestServerIdentity_RegistryURLAliases(t *testing.T) {
	reg := testRegistry(t)
	port := reg.URL[strings.LastIndex(reg.URL, ":")+1:]
	withURL := func(u string) string {
		return fmt.Sprintf(`
provider "capiscio" {
  registry_url = %[1]q
  api_key      = %[2]q
  max_retries  = 1
}
resource "capiscio_server_identity" "test" {}
`, u, reg.APIKey)
	}
	sameID := statecheck.CompareValue(compare.ValuesSame())
	sameKey := statecheck.CompareValue(compare.ValuesSame())
	var steps []resource.TestStep
	for i, u := range []string{reg.URL, "http://localhost:" + port, "HTTP://LOCALHOST:" + port + "/", reg.URL + "/"} {
		step := resource.TestStep{
			Config: withURL(u),
			ConfigStateChecks: []statecheck.StateCheck{
				sameID.AddStateValue(testAddr, tfjsonpath.New("id")),
				sameKey.AddStateValue(testAddr, tfjsonpath.New("did_key")),
				checkAttrs(testAddr, func(map[string]any) error { return checkRecordCount(reg, 1) }),
			},
		}
		if i > 0 {
			step.ConfigPlanChecks = resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}
		}
		steps = append(steps, step)
	}
	unitTest(t, resource.TestCase{ProtoV6ProviderFactories: testProviderFactories(nil), Steps: steps})
}

// TestServerIdentity_MovedToAnotherRegistry: pointing the provider at another
// registry, proven to be one and without the record, plans a replacement: a
// new identity there, and the record at the first registry is left in place.
func TestServerIdentity_MovedToAnotherRegistry(t *testing.T) {
	reg1, reg2 := testRegistry(t), testRegistry(t)
	var id string
	cfg := func(reg *registrytest.Registry) string { return testIdentityConfig(reg, ``) }
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{
			{Config: cfg(reg1), ConfigStateChecks: []statecheck.StateCheck{capture(testAddr, "id", &id)}},
			{
				Config: cfg(reg2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testAddr, plancheck.ResourceActionReplace),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					checkIdentityConsistent(reg2, testAddr),
					checkAttrs(testAddr, func(map[string]any) error {
						if _, code := registryGet(t, reg1, id); code != http.StatusOK {
							return fmt.Errorf("the record at the first registry was deleted (HTTP %d); it must be left in place", code)
						}
						return nil
					}),
				},
			},
		},
	})
}

func TestServerIdentity_Import(t *testing.T) {
	reg := testRegistry(t)
	rec := outOfBandRecord(t, reg)
	config := testIdentityConfig(reg, fmt.Sprintf(`server_id = %q`, rec.ID))
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{
			{
				Config:             config,
				ResourceName:       testAddr,
				ImportState:        true,
				ImportStateId:      rec.ID,
				ImportStatePersist: true,
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					if len(states) != 1 {
						return fmt.Errorf("imported %d instances", len(states))
					}
					a := states[0].Attributes
					want := map[string]string{
						"id": rec.ID, "server_id": rec.ID, "did": rec.DID, "did_key": rec.DIDKey,
						"public_key_pem": rec.PublicKey, "name": rec.Name, "registry_url": reg.URL,
					}
					for k, v := range want {
						if a[k] != v {
							return fmt.Errorf("imported %s = %q, want %q", k, a[k], v)
						}
					}
					for _, k := range []string{"private_key_pem", "badge_jti"} {
						if v, ok := a[k]; ok && v != "" {
							return fmt.Errorf("imported %s is set; private attributes must stay null", k)
						}
					}
					return nil
				},
			},
			{
				// After import the configuration plans nothing.
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
			},
		},
		CheckDestroy: func(*terraform.State) error {
			if _, code := registryGet(t, reg, rec.ID); code != http.StatusOK {
				return fmt.Errorf("destroy deleted the imported record (HTTP %d)", code)
			}
			return nil
		},
	})
}

func TestServerIdentity_BadgeFailureKeepsIdentity(t *testing.T) {
	reg := testRegistry(t, registrytest.WithMiddleware(failBadges))
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{{
			Config: providerBlock(reg, "max_retries = 0") + `
resource "capiscio_server_identity" "test" {}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("badge_expires_at"), knownvalue.Null()),
				statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("badge_jti"), knownvalue.Null()),
				checkAttrs(testAddr, func(a map[string]any) error {
					if _, code := registryGet(t, reg, str(a, "id")); code != http.StatusOK {
						return fmt.Errorf("registered record missing (HTTP %d)", code)
					}
					return nil
				}),
			},
		}},
	})
}

// failBadges answers every badge request with 503, around the real registry.
func failBadges(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && len(r.URL.Path) > 6 && r.URL.Path[len(r.URL.Path)-6:] == "/badge" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"success":false,"error":"unavailable","message":"badge CA down for the test"}`))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// outOfBandRecord makes a record as the dashboard would, holding a key that
// is not the provider's.
func outOfBandRecord(t *testing.T, reg *registrytest.Registry) protocol.Server {
	t.Helper()
	mat, err := keys.NewMaterial(nil)
	if err != nil {
		t.Fatal(err)
	}
	return registryCreate(t, reg, "dashboard-record", mat.DIDKey, mat.PEM)
}

// checkNoServers asserts that destroy removed every provider-created record.
func checkNoServers(reg *registrytest.Registry) resource.TestCheckFunc {
	return func(*terraform.State) error {
		resp, body := regDo(reg, http.MethodGet, "/v1/sdk/servers?limit=1000", nil)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("list: HTTP %d", resp.StatusCode)
		}
		var env protocol.Envelope[[]protocol.Server]
		if err := jsonUnmarshal(body, &env); err != nil {
			return err
		}
		if len(env.Data) != 0 {
			return fmt.Errorf("%d server records left after destroy", len(env.Data))
		}
		return nil
	}
}
