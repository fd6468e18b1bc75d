package provider

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/echoprovider"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/capiscio/terraform-provider-capiscio/internal/clock"
	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

func newTestKey(t *testing.T) keys.Material {
	t.Helper()
	mat, err := keys.NewMaterial(nil)
	if err != nil {
		t.Fatal(err)
	}
	return mat
}

// checkRegistered asserts that the registry's record of the identity holds
// want, and that state's did_key says so too.
func checkRegistered(reg *registrytest.Registry, want *keys.Material) statecheck.StateCheck {
	return checkAttrs(testAddr, func(a map[string]any) error {
		if err := checkRegistryHolds(reg, str(a, "id"), want.Key, str(a, "did")); err != nil {
			return err
		}
		if str(a, "did_key") != want.DIDKey || str(a, "key_id") != want.KeyID || str(a, "public_key_pem") != want.PEM {
			return fmt.Errorf("state's key attributes are not those of the given key")
		}
		return nil
	})
}

// checkNoWrites asserts that the registry served only reads since the last
// ResetStats.
func checkNoWrites(reg *registrytest.Registry) statecheck.StateCheck {
	return checkAttrs(testAddr, func(map[string]any) error {
		for route, n := range reg.Server.Stats().ByRoute {
			if n > 0 && !strings.HasPrefix(route, "GET ") {
				return fmt.Errorf("the registry served %d %s requests; want reads only", n, route)
			}
		}
		return nil
	})
}

var noPrivateInState = []statecheck.StateCheck{
	statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("private_key_pem"), knownvalue.Null()),
	statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("private_key_wo"), knownvalue.Null()),
	checkAttrs(testAddr, func(a map[string]any) error {
		env, _ := a["env"].(map[string]any)
		if _, ok := env["CAPISCIO_SERVER_PRIVATE_KEY_PEM"]; ok || len(env) == 0 {
			return fmt.Errorf("env = %d entries with a private key entry: %v", len(env), ok)
		}
		return nil
	}),
}

func TestServerIdentity_ExternalKey(t *testing.T) {
	reg := testRegistry(t)
	k1, k2 := newTestKey(t), newTestKey(t)
	cfg := func(pem string) string {
		return testIdentityConfig(reg, fmt.Sprintf("external_public_key_pem = %q", pem))
	}
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		CheckDestroy:             checkNoServers(reg),
		Steps: []resource.TestStep{
			{
				Config: cfg(k1.PEM),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					// An external key's encodings are known at plan time.
					plancheck.ExpectKnownValue(testAddr, tfjsonpath.New("did_key"), knownvalue.StringExact(k1.DIDKey)),
					plancheck.ExpectKnownValue(testAddr, tfjsonpath.New("private_key_pem"), knownvalue.Null()),
				}},
				ConfigStateChecks: append([]statecheck.StateCheck{checkRegistered(reg, &k1)}, noPrivateInState...),
			},
			{
				// The same key written as one line with literal \n, or with CRLF
				// line breaks: Terraform plans the new text of the argument (a
				// planned argument must equal the configuration), and the
				// update calls no registry and keeps every key attribute.
				PreConfig: reg.Server.ResetStats,
				Config:    cfg(keys.EnvEscape(k1.PEM)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(testAddr, tfjsonpath.New("did_key"), knownvalue.StringExact(k1.DIDKey)),
				}},
				ConfigStateChecks: []statecheck.StateCheck{checkRegistered(reg, &k1), checkNoWrites(reg)},
			},
			{
				PreConfig: reg.Server.ResetStats,
				Config:    cfg(strings.ReplaceAll(k1.PEM, "\n", "\r\n")),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(testAddr, tfjsonpath.New("did_key"), knownvalue.StringExact(k1.DIDKey)),
				}},
				ConfigStateChecks: []statecheck.StateCheck{checkRegistered(reg, &k1), checkNoWrites(reg)},
			},
			{
				Config: cfg(k2.PEM),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testAddr, plancheck.ResourceActionReplace),
				}},
				ConfigStateChecks: append([]statecheck.StateCheck{checkRegistered(reg, &k2)}, noPrivateInState...),
			},
		},
	})
}

// woConfig gives private_key_wo from an ephemeral input variable, so the test
// knows which key should be registered.
func woConfig(reg *registrytest.Registry, version int) string {
	return testIdentityConfig(reg, fmt.Sprintf(`
  private_key_wo         = var.key
  private_key_wo_version = %d`, version)) + `
variable "key" {
  type      = string
  sensitive = true
  ephemeral = true
}
`
}

func TestServerIdentity_WriteOnlyKey(t *testing.T) {
	reg := testRegistry(t)
	k1, k2, k3 := newTestKey(t), newTestKey(t), newTestKey(t)
	keyVar := func(m keys.Material) config.Variables {
		return config.Variables{"key": config.StringVariable(m.PrivatePEM)}
	}
	differentSerial := statecheck.CompareValue(compare.ValuesDiffer())
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)},
		CheckDestroy:             checkNoServers(reg),
		Steps: []resource.TestStep{
			{
				Config:          woConfig(reg, 1),
				ConfigVariables: keyVar(k1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue(testAddr, tfjsonpath.New("did_key")),
					plancheck.ExpectUnknownValue(testAddr, tfjsonpath.New("key_serial")),
					plancheck.ExpectKnownValue(testAddr, tfjsonpath.New("private_key_pem"), knownvalue.Null()),
				}},
				ConfigStateChecks: append([]statecheck.StateCheck{
					checkRegistered(reg, &k1),
					differentSerial.AddStateValue(testAddr, tfjsonpath.New("key_serial")),
				}, noPrivateInState...),
			},
			{
				// Another write-only value without a version bump: nothing to do.
				Config:          woConfig(reg, 1),
				ConfigVariables: keyVar(k2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
				ConfigStateChecks: []statecheck.StateCheck{checkRegistered(reg, &k1)},
			},
			{
				Config:          woConfig(reg, 2),
				ConfigVariables: keyVar(k3),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testAddr, plancheck.ResourceActionReplace),
					plancheck.ExpectUnknownValue(testAddr, tfjsonpath.New("did_key")),
				}},
				ConfigStateChecks: append([]statecheck.StateCheck{
					checkRegistered(reg, &k3),
					differentSerial.AddStateValue(testAddr, tfjsonpath.New("key_serial")),
				}, noPrivateInState...),
			},
		},
	})
}

// TestServerIdentity_WriteOnlyFromEphemeral is the documented flow: the
// ephemeral resource's key, opened again at apply with a new value, is the
// one registered; attributes derived from it come from the apply.
func TestServerIdentity_WriteOnlyFromEphemeral(t *testing.T) {
	reg := testRegistry(t)
	cfg := testIdentityConfig(reg, `
  private_key_wo         = ephemeral.capiscio_server_key.k.private_key_pem
  private_key_wo_version = 1`) + `
ephemeral "capiscio_server_key" "k" {}
`
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)},
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigStateChecks: append([]statecheck.StateCheck{
				checkAttrs(testAddr, func(a map[string]any) error {
					pub, err := keys.ParsePublicPEM(str(a, "public_key_pem"))
					if err != nil {
						return err
					}
					if keys.DIDKey(pub) != str(a, "did_key") {
						return fmt.Errorf("did_key does not derive from public_key_pem")
					}
					return checkRegistryHolds(reg, str(a, "id"), pub, str(a, "did"))
				}),
			}, noPrivateInState...),
		}},
	})
}

// TestServerKeyEphemeral_Consistent reads the ephemeral resource's values
// through the echo provider and checks them against each other.
func TestServerKeyEphemeral_Consistent(t *testing.T) {
	factories := testProviderFactories(nil)
	factories["echo"] = echoprovider.NewProviderServer()
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_10_0)},
		Steps: []resource.TestStep{{
			Config: `
provider "capiscio" {
  registry_url = "http://127.0.0.1:9"
}
ephemeral "capiscio_server_key" "k" {}
provider "echo" {
  data = ephemeral.capiscio_server_key.k
}
resource "echo" "k" {}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				checkAttrs("echo.k", func(a map[string]any) error {
					d, _ := a["data"].(map[string]any)
					priv, err := keys.ParsePrivatePEM(str(d, "private_key_pem"))
					if err != nil {
						return err
					}
					m, err := keys.DescribePrivate(priv)
					if err != nil {
						return err
					}
					if str(d, "public_key_pem") != m.PEM || str(d, "did_key") != m.DIDKey || str(d, "key_id") != m.KeyID ||
						str(d, "private_key_pem_env") != m.PrivatePEMEnv || !strings.HasPrefix(m.DIDKey, "did:key:z6Mk") {
						return fmt.Errorf("ephemeral key attributes are inconsistent")
					}
					return nil
				}),
			},
		}},
	})
}

func TestServerIdentity_RotateAfter(t *testing.T) {
	reg := testRegistry(t)
	fake := clock.NewFake(time.Now().UTC())
	cfg := testIdentityConfig(reg, `rotate_after = "720h"`) + `
resource "terraform_data" "dependant" {
  input = "uses the identity"
  lifecycle {
    replace_triggered_by = [capiscio_server_identity.test]
  }
}
`
	differentKey := statecheck.CompareValue(compare.ValuesDiffer())
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(fake),
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					differentKey.AddStateValue(testAddr, tfjsonpath.New("did_key")),
					statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("ready_for_rotation"), knownvalue.Bool(false)),
				},
			},
			{
				PreConfig: func() { fake.Advance(719 * time.Hour) },
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
			},
			{
				PreConfig: func() { fake.Advance(2 * time.Hour) },
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testAddr, plancheck.ResourceActionReplace),
					plancheck.ExpectResourceAction("terraform_data.dependant", plancheck.ResourceActionReplace),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					differentKey.AddStateValue(testAddr, tfjsonpath.New("did_key")),
					statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("ready_for_rotation"), knownvalue.Bool(false)),
					checkIdentityConsistent(reg, testAddr),
				},
			},
		},
	})
}

func TestServerIdentity_CreateBeforeDestroy(t *testing.T) {
	for name, givenRecord := range map[string]bool{"provider record": false, "dashboard record": true} {
		t.Run(name, func(t *testing.T) {
			reg := testRegistry(t)
			body := `lifecycle {
    create_before_destroy = true
  }
  rotation_triggers = { v = var.v }`
			if givenRecord {
				body += fmt.Sprintf("\n  server_id = %q", outOfBandRecord(t, reg).ID)
			}
			cfg := testIdentityConfig(reg, body) + `
variable "v" { type = string }
`
			unitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testProviderFactories(nil),
				Steps: []resource.TestStep{
					{Config: cfg, ConfigVariables: config.Variables{"v": config.StringVariable("1")}},
					{
						Config:          cfg,
						ConfigVariables: config.Variables{"v": config.StringVariable("2")},
						ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
							plancheck.ExpectResourceAction(testAddr, plancheck.ResourceActionCreateBeforeDestroy),
						}},
						// checkIdentityConsistent asserts the record holds the new key and is active.
						ConfigStateChecks: []statecheck.StateCheck{
							checkIdentityConsistent(reg, testAddr),
							checkAttrs(testAddr, func(map[string]any) error {
								resp, body := regDo(reg, http.MethodGet, "/v1/sdk/servers", nil)
								if n := strings.Count(string(body), `"id":`); resp.StatusCode != http.StatusOK || n != 1 {
									return fmt.Errorf("registry holds %d records after the replacement, want 1", n)
								}
								return nil
							}),
						},
					},
				},
			})
		})
	}
}

// seedForms are the ways a private key's raw seed could appear in a file.
func seedForms(m keys.Material) []string {
	seed := m.Private.Seed()
	return []string{hex.EncodeToString(seed), b64std(seed), b64url(seed), fmt.Sprintf("%d", seed)}
}

var _ = ed25519.SeedSize
var _ tfprotov6.ProviderServer

// TestKeyCustody_StateBytes drives the external and write-only modes with the
// real binary and CLI through create, refresh, replace and import, and
// searches the state file's bytes (and its backup) after each step for every
// base64 line of the private key, its one-line form, and the raw seed in hex
// and base64.
func TestKeyCustody_StateBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the provider binary")
	}
	t.Parallel()
	reg := registrytest.Start(t)
	keysUsed := []keys.Material{newTestKey(t), newTestKey(t), newTestKey(t)}
	tf := newCLIRun(t, reg)
	tf.env = append(tf.env, "TF_LOG=", "TF_VAR_wo_key="+keysUsed[0].PrivatePEM)
	check := func(step string) {
		t.Helper()
		state := string(tf.readState())
		for i, m := range keysUsed {
			forms := append(seedForms(m), m.PrivatePEMEnv)
			for _, line := range strings.Split(m.PrivatePEM, "\n") {
				if line != "" && !strings.HasPrefix(line, "-----") {
					forms = append(forms, line)
				}
			}
			for _, f := range forms {
				if strings.Contains(state, f) {
					t.Fatalf("after %s: private material of key %d is in the state file", step, i)
				}
			}
		}
		if !strings.Contains(state, "capiscio_server_identity") {
			t.Fatalf("after %s: state does not hold the identity; the check would prove nothing", step)
		}
	}
	external := func(m keys.Material) string { return fmt.Sprintf("external_public_key_pem = %q", m.PEM) }
	writeOnly := func(version int) string {
		return fmt.Sprintf("private_key_wo = var.wo_key\n  private_key_wo_version = %d", version)
	}

	tf.writeConfigExtra(external(keysUsed[0]), woVariable)
	tf.run("apply", "-auto-approve")
	check("external create")
	tf.run("apply", "-auto-approve", "-refresh-only")
	check("external refresh")
	tf.writeConfigExtra(external(keysUsed[1]), woVariable)
	tf.run("apply", "-auto-approve")
	check("external replace")
	id := tf.stateAttr("id")
	tf.run("state", "rm", "capiscio_server_identity.test")
	tf.run("import", "capiscio_server_identity.test", id)
	check("external import")

	tf.writeConfigExtra(writeOnly(1), woVariable)
	tf.run("apply", "-auto-approve")
	check("write-only create (replacing the external identity)")
	tf.run("apply", "-auto-approve", "-refresh-only")
	check("write-only refresh")
	tf.env = append(tf.env, "TF_VAR_wo_key="+keysUsed[2].PrivatePEM)
	tf.writeConfigExtra(writeOnly(2), woVariable)
	tf.run("apply", "-auto-approve")
	check("write-only replace")
	if got := tf.stateAttr("did_key"); got != keysUsed[2].DIDKey {
		t.Fatalf("write-only replace registered %s, want the given key %s", got, keysUsed[2].DIDKey)
	}
	id = tf.stateAttr("id")
	tf.run("state", "rm", "capiscio_server_identity.test")
	tf.run("import", "capiscio_server_identity.test", id)
	check("write-only import")
	tf.run("destroy", "-auto-approve")
}

const woVariable = `
variable "wo_key" {
  type      = string
  sensitive = true
  ephemeral = true
}
`

// TestServerIdentity_KeyTimesAreReal creates many identities in one apply:
// every key_created_at is the real time of the apply (the first versions
// pushed them seconds apart into the future to keep serials unique), and a
// replacement's key_serial is larger than the key it replaces while the
// others keep theirs.
func TestServerIdentity_KeyTimesAreReal(t *testing.T) {
	reg := testRegistry(t)
	const n = 25
	var start, end time.Time
	serials := map[string]int64{}
	cfg := providerBlock(reg, "max_retries = 1") + fmt.Sprintf(`
resource "capiscio_server_identity" "test" {
  count       = %d
  issue_badge = false
}
`, n)
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{
			{
				PreConfig: func() { start = time.Now().Add(-time.Second) },
				Config:    cfg,
				Check: func(s *terraform.State) error {
					end = time.Now().Add(time.Second)
					for addr, rs := range s.RootModule().Resources {
						created, err := time.Parse(time.RFC3339, rs.Primary.Attributes["key_created_at"])
						if err != nil || created.Before(start.Truncate(time.Second)) || created.After(end) {
							return fmt.Errorf("%s: key_created_at %q is not within the apply (%s to %s)", addr, rs.Primary.Attributes["key_created_at"], start, end)
						}
						serial, err := strconv.ParseInt(rs.Primary.Attributes["key_serial"], 10, 64)
						if err != nil || serial < created.UnixMilli() {
							return fmt.Errorf("%s: key_serial %q", addr, rs.Primary.Attributes["key_serial"])
						}
						serials[addr] = serial
					}
					if len(serials) != n {
						return fmt.Errorf("%d identities in state, want %d", len(serials), n)
					}
					return nil
				},
			},
			{
				Config: cfg,
				Taint:  []string{testAddr + "[3]"},
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testAddr+"[3]", plancheck.ResourceActionReplace),
				}},
				Check: func(s *terraform.State) error {
					for addr, rs := range s.RootModule().Resources {
						serial, _ := strconv.ParseInt(rs.Primary.Attributes["key_serial"], 10, 64)
						switch {
						case addr == testAddr+".3" && serial <= serials[addr]:
							return fmt.Errorf("%s: replacement's key_serial %d is not larger than %d", addr, serial, serials[addr])
						case addr != testAddr+".3" && serial != serials[addr]:
							return fmt.Errorf("%s: key_serial changed from %d to %d without a new key", addr, serials[addr], serial)
						}
					}
					return nil
				},
			},
		},
	})
}

// TestServerIdentity_RotateAfterSkipsDisabled: a due rotate_after does not
// replace a disabled record (the operator's decision stands); once enabled
// again, the due rotation is planned.
func TestServerIdentity_RotateAfterSkipsDisabled(t *testing.T) {
	reg := testRegistry(t)
	fake := clock.NewFake(time.Now().UTC())
	cfg := testIdentityConfig(reg, `rotate_after = "720h"`)
	var id string
	post := func(action string) func() {
		return func() {
			if resp, body := regDo(reg, http.MethodPost, "/v1/sdk/servers/"+id+"/"+action, nil); resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: HTTP %d %s", action, resp.StatusCode, body)
			}
		}
	}
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(fake),
		Steps: []resource.TestStep{
			{Config: cfg, ConfigStateChecks: []statecheck.StateCheck{capture(testAddr, "id", &id)}},
			{
				PreConfig: func() { post("disable")(); fake.Advance(721 * time.Hour) },
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testAddr, plancheck.ResourceActionNoop),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("status"), knownvalue.StringExact("disabled")),
					statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("ready_for_rotation"), knownvalue.Bool(true)),
				},
			},
			{
				PreConfig: post("enable"),
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testAddr, plancheck.ResourceActionReplace),
				}},
			},
		},
	})
}
