package provider

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
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
						if err != nil || !revoked || reason != registry.ReasonKeyRotated {
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

func TestServerIdentity_DriftKeyChanged(t *testing.T) {
	reg := testRegistry(t)
	var id string
	rogue, err := keys.NewMaterial(nil)
	if err != nil {
		t.Fatal(err)
	}
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{
			{
				Config:            testIdentityConfig(reg, ``),
				ConfigStateChecks: []statecheck.StateCheck{capture(testAddr, "id", &id)},
			},
			{
				PreConfig: func() {
					resp, body := regDo(reg, http.MethodPut, "/v1/sdk/servers/"+id, registry.RegisterKeyRequest{DID: rogue.DIDKey, PublicKey: rogue.PEM})
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("out-of-band key change: HTTP %d %s", resp.StatusCode, body)
					}
				},
				Config: testIdentityConfig(reg, ``),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testAddr, plancheck.ResourceActionReplace),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					checkIdentityConsistent(reg, testAddr),
					checkAttrs(testAddr, func(a map[string]any) error {
						// The old record held the rogue key, so destroy left it alone.
						s, code := registryGet(t, reg, id)
						if code != http.StatusOK || s.DIDKey != rogue.DIDKey {
							return fmt.Errorf("record %s holding another key was touched (HTTP %d)", id, code)
						}
						return nil
					}),
				},
			},
		},
	})
}

func TestServerIdentity_DriftDisabled(t *testing.T) {
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
					if resp, body := regDo(reg, http.MethodPost, "/v1/sdk/servers/"+id+"/disable", nil); resp.StatusCode != http.StatusOK {
						t.Fatalf("out-of-band disable: HTTP %d %s", resp.StatusCode, body)
					}
				},
				Config: testIdentityConfig(reg, ``),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testAddr, plancheck.ResourceActionReplace),
				}},
				ConfigStateChecks: []statecheck.StateCheck{checkIdentityConsistent(reg, testAddr)},
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
func outOfBandRecord(t *testing.T, reg *registrytest.Registry) registry.Server {
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
		var env registry.Envelope[[]registry.Server]
		if err := jsonUnmarshal(body, &env); err != nil {
			return err
		}
		if len(env.Data) != 0 {
			return fmt.Errorf("%d server records left after destroy", len(env.Data))
		}
		return nil
	}
}
