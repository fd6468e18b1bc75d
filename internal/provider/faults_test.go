package provider

// Fault tolerance through the real Terraform CLI, with faults injected around
// the real in-process registry (registrytest.Faults): 429 with Retry-After in
// seconds and as an HTTP-date, 500/502/503, connections reset after the
// registry committed a create, replies slower than request_timeout, and the
// registry going down mid-apply and coming back.
//
// Every scenario applies N identities (count = var.n) with faults on, then,
// with faults off, applies again, and asserts the invariants (convergedCheck):
//
//  1. every identity in state is registered: a record with its id exists, is
//     active, and holds the identity's key (the public key derived from the
//     private key in state equals the record's publicKey; the record's didKey
//     equals the state's did_key; the name is the configured one);
//  2. no record exists that state does not know (no orphans), and no key is
//     registered twice (no duplicates): the registry holds exactly as many
//     records as state holds identities, N, all distinct;
//  3. no identity in state is tainted (an unconfirmed create is resolved);
//  4. the plan after the converging apply is empty (the harness's own
//     post-apply plan check), and destroy leaves no record (CheckDestroy);
//  5. the scenario's faults actually fired (a fault test where nothing fired
//     proves nothing).
//
// Scenarios whose faults retries absorb (each logical request faulted once,
// max_retries >= 1) must converge in the first apply: its Check asserts the
// invariants under faults and the re-run's plan must be empty. Scenarios whose
// faults outlast the retries (a sticky reset-after-commit, the registry down)
// must fail the first apply with "Server Record Creation Unconfirmed" and
// converge in the re-run, which must have work to do.
//
// N defaults to 20 (go test, make test); CAPISCIO_FAULT_N overrides it and
// make test-faults runs N = 200.

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

const (
	faultNEnv      = "CAPISCIO_FAULT_N"
	faultDefaultN  = 20
	faultTimeout   = "1s"            // provider request_timeout in every scenario
	faultSlowReply = 2 * time.Second // longer than faultTimeout
)

var (
	// Every route of a server record the provider calls.
	faultServerRoutes = []string{protocol.PathServers, "/v1/sdk/servers/*", "/v1/sdk/servers/*/badge"}
	// What a create whose outcome the provider cannot know fails the apply with.
	faultUnconfirmedRe = regexp.MustCompile(`Server Record Creation Unconfirmed`)
)

// faultN is the number of identities each scenario applies.
func faultN(t *testing.T) int {
	t.Helper()
	raw := os.Getenv(faultNEnv)
	if raw == "" {
		return faultDefaultN
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 4 {
		t.Fatalf("%s=%q: want a whole number >= 4", faultNEnv, raw)
	}
	return n
}

type faultScenario struct {
	name string
	// maxRetries is the provider's max_retries.
	maxRetries int
	// badges sets issue_badge; most scenarios keep it false for speed.
	badges bool
	// rules builds the faults for n identities.
	rules func(n int) []*registrytest.Rule
	// needsRerun: the faults cannot be absorbed by retries, so the first
	// apply must fail with an unconfirmed create and the re-run must fix it.
	needsRerun bool
	// verify asserts what the scenario's faults must have done; replayed is
	// how many creates the registry answered from its idempotency record
	// during the re-run.
	verify func(t *testing.T, n int, f *registrytest.Faults, rules []*registrytest.Rule, replayedInRerun int64)
	// checkState asserts scenario-specific state after the converging apply.
	checkState func(n int, ids []faultIdentity) error
}

func faultScenarios() []faultScenario {
	onServers := func(every int, per registrytest.PerKey, f registrytest.Fault) []*registrytest.Rule {
		return []*registrytest.Rule{{Paths: faultServerRoutes, Every: every, Per: per, Fault: f}}
	}
	onCreates := func(r *registrytest.Rule) []*registrytest.Rule {
		r.Method, r.Paths = http.MethodPost, []string{protocol.PathServers}
		return []*registrytest.Rule{r}
	}
	firedAtLeast := func(least int64) func(*testing.T, int, *registrytest.Faults, []*registrytest.Rule, int64) {
		return func(t *testing.T, _ int, _ *registrytest.Faults, rules []*registrytest.Rule, _ int64) {
			if got := rules[0].Fired(); got < least {
				t.Errorf("the fault fired %d times, want at least %d", got, least)
			}
		}
	}
	return []faultScenario{
		{
			// Every 3rd request (creates and the refreshes after) is
			// throttled once; the client waits the 1 s asked and retries.
			name: "RateLimit429Seconds", maxRetries: 3,
			rules: func(int) []*registrytest.Rule {
				return onServers(3, registrytest.FirstAttempt, registrytest.RateLimit429Seconds(1))
			},
			verify: func(t *testing.T, n int, f *registrytest.Faults, rules []*registrytest.Rule, r int64) {
				firedAtLeast(int64(n/3))(t, n, f, rules, r)
			},
		},
		{
			// As above with Retry-After as an HTTP-date 1-2 s ahead.
			name: "RateLimit429HTTPDate", maxRetries: 3,
			rules: func(int) []*registrytest.Rule {
				return onServers(4, registrytest.FirstAttempt, registrytest.RateLimit429Date(2*time.Second))
			},
			verify: func(t *testing.T, n int, f *registrytest.Faults, rules []*registrytest.Rule, r int64) {
				firedAtLeast(int64(n/4))(t, n, f, rules, r)
			},
		},
		{
			// Every 2nd request gets 500, 502 or 503 in turn, once each.
			name: "Status5xx", maxRetries: 3,
			rules: func(int) []*registrytest.Rule {
				return onServers(2, registrytest.FirstAttempt, registrytest.Status(500, 502, 503))
			},
			verify: func(t *testing.T, n int, _ *registrytest.Faults, rules []*registrytest.Rule, _ int64) {
				for _, code := range []int{500, 502, 503} {
					if rules[0].FiredAs(fmt.Sprintf("status %d", code)) == 0 {
						t.Errorf("no %d was injected", code)
					}
				}
				if got := rules[0].Fired(); got < int64(n/2) {
					t.Errorf("5xx fired %d times, want at least %d", got, n/2)
				}
			},
		},
		{
			// Every 4th request is answered 2 s late, after the 1 s
			// request_timeout: the registry committed (creates included),
			// the client gave up and retried; a retried create must be
			// answered from the idempotency record, not make a second one.
			name: "SlowReply", maxRetries: 3,
			rules: func(int) []*registrytest.Rule {
				return onServers(4, registrytest.FirstAttempt, registrytest.SlowReply(faultSlowReply))
			},
			verify: func(t *testing.T, n int, f *registrytest.Faults, rules []*registrytest.Rule, r int64) {
				firedAtLeast(int64(n/4))(t, n, f, rules, r)
				// The first request of the run is a create and is slowed.
				if f.Replayed() == 0 {
					t.Errorf("no retried create was answered from the idempotency record")
				}
			},
		},
		{
			// Every 3rd create is committed and its connection reset before
			// the reply: the retry (same Idempotency-Key) gets the record.
			name: "ResetAfterCommit", maxRetries: 3,
			rules: func(int) []*registrytest.Rule {
				return onCreates(&registrytest.Rule{Every: 3, Per: registrytest.FirstAttempt, Fault: registrytest.ResetAfterCommit()})
			},
			verify: func(t *testing.T, n int, f *registrytest.Faults, rules []*registrytest.Rule, _ int64) {
				fired := rules[0].Fired()
				if want := int64((n + 2) / 3); fired != want {
					t.Errorf("reset-after-commit fired %d times, want %d (every 3rd of %d creates)", fired, want, n)
				}
				if f.Replayed() < fired {
					t.Errorf("%d creates were reset after commit but only %d retries were answered from the idempotency record", fired, f.Replayed())
				}
			},
		},
		{
			// Every 4th create (at most max(2, n/10) of them) is committed
			// and reset on every attempt: retries cannot absorb it, so the
			// identity is saved tainted with its pending request, and the
			// re-run resolves it with the same Idempotency-Key (a replay),
			// deletes that record and creates a fresh one.
			name: "ResetAfterCommitBeyondRetries", maxRetries: 2, needsRerun: true,
			rules: func(n int) []*registrytest.Rule {
				return onCreates(&registrytest.Rule{Every: 4, Limit: max(2, n/10), Per: registrytest.Sticky, Fault: registrytest.ResetAfterCommit()})
			},
			verify: func(t *testing.T, n int, _ *registrytest.Faults, rules []*registrytest.Rule, replayed int64) {
				picked := int64(min(max(2, n/10), (n+3)/4))
				// Each picked create was reset on all 1 + max_retries attempts
				// (the transport's own replays of an idempotent request may
				// add more).
				if got := rules[0].Fired(); got < picked*3 {
					t.Errorf("sticky reset fired %d times, want at least %d (%d creates x 3 attempts)", got, picked*3, picked)
				}
				if replayed < picked {
					t.Errorf("the re-run resolved %d unconfirmed creates from the idempotency record, want at least %d", replayed, picked)
				}
			},
		},
		{
			// The registry stops after replying to the K-th create (K = n/2):
			// every connection after it is reset for 5 s, longer than the
			// retry window of max_retries = 2 (at most 1 s + 2 s of backoff),
			// then it comes back mid-apply. Creates sent during the outage
			// are unconfirmed, so the apply fails and the re-run resolves and
			// replaces them; creates after the restart succeed.
			//
			// Honestly named: this is the in-process registry behind a switch
			// that resets connections, not a killed process; its listener and
			// store stay up, so the client sees resets rather than
			// "connection refused", and nothing tests durability here. The
			// real binary's kill -9 durability is tested in
			// cmd/capiscio-registry.
			name: "RegistryDownMidApply", maxRetries: 2, needsRerun: true,
			rules: func(n int) []*registrytest.Rule {
				return onCreates(&registrytest.Rule{Skip: n/2 - 1, Limit: 1, Fault: registrytest.GoDown(5 * time.Second)})
			},
			verify: func(t *testing.T, _ int, f *registrytest.Faults, rules []*registrytest.Rule, _ int64) {
				if rules[0].Fired() != 1 || f.Downs() != 1 {
					t.Errorf("the registry went down %d times (rule fired %d), want once", f.Downs(), rules[0].Fired())
				}
				if f.DownDrops() == 0 {
					t.Errorf("no connection was dropped while the registry was down")
				}
			},
		},
		{
			// As RegistryDownMidApply, but the registry dies after committing
			// the K-th create and before replying to it: that create's record
			// exists, and only its Idempotency-Key can find it again. (Same
			// in-process switch; see above.)
			name: "RegistryKilledAfterCommit", maxRetries: 2, needsRerun: true,
			rules: func(n int) []*registrytest.Rule {
				return onCreates(&registrytest.Rule{Skip: n/2 - 1, Limit: 1, Fault: registrytest.KillAfterCommit(5 * time.Second)})
			},
			verify: func(t *testing.T, _ int, f *registrytest.Faults, rules []*registrytest.Rule, replayed int64) {
				if rules[0].Fired() != 1 || f.Downs() != 1 || f.DownDrops() == 0 {
					t.Errorf("kill fired %d times, down %d times, %d connections dropped; want 1, 1, > 0", rules[0].Fired(), f.Downs(), f.DownDrops())
				}
				if replayed < 1 {
					t.Errorf("the re-run did not resolve the committed create from the idempotency record")
				}
			},
		},
		{
			// Badges on, 503s on the badge route: every 5th server's badge
			// requests (at most 2 servers) fail on every attempt, and every
			// 2nd other badge request fails once. The identity must be saved
			// either way; a badge that could not be had stays null.
			name: "BadgeUnavailable", maxRetries: 2, badges: true,
			rules: func(int) []*registrytest.Rule {
				badge := []string{"/v1/sdk/servers/*/badge"}
				return []*registrytest.Rule{
					{Method: http.MethodPost, Paths: badge, Every: 5, Limit: 2, Per: registrytest.Sticky, Fault: registrytest.Status(503)},
					{Method: http.MethodPost, Paths: badge, Every: 2, Per: registrytest.FirstAttempt, Fault: registrytest.Status(503)},
				}
			},
			verify: func(t *testing.T, n int, _ *registrytest.Faults, rules []*registrytest.Rule, _ int64) {
				if got := rules[0].Fired(); got < 2*3 {
					t.Errorf("sticky badge 503 fired %d times, want at least 6 (2 servers x 3 attempts)", got)
				}
				if got := rules[1].Fired(); got < int64((n-2)/2) {
					t.Errorf("one-off badge 503 fired %d times, want at least %d", got, (n-2)/2)
				}
			},
			checkState: func(n int, ids []faultIdentity) error {
				var null int
				for _, id := range ids {
					switch {
					case id.badgeExpiresAt == "" && id.badgeJTI == "":
						null++
					case id.badgeExpiresAt == "" || id.badgeJTI == "":
						return fmt.Errorf("%s: badge_expires_at and badge_jti disagree", id.addr)
					}
				}
				if null != 2 {
					return fmt.Errorf("%d identities have no badge, want exactly the 2 whose badge requests always failed", null)
				}
				return nil
			},
		},
	}
}

func TestFaults_ConvergeThroughCLI(t *testing.T) {
	t.Parallel()
	n := faultN(t)
	for _, sc := range faultScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			runFaultScenario(t, sc, n)
		})
	}
}

func runFaultScenario(t *testing.T, sc faultScenario, n int) {
	t.Parallel()
	rules := sc.rules(n)
	faults := registrytest.NewFaults(rules...)
	reg := registrytest.Start(t, faults.Option())
	cfg := faultConfig(reg, sc)
	vars := config.Variables{"n": config.IntegerVariable(n)}
	var replayedBefore, replayedInRerun int64

	first := resource.TestStep{
		PreConfig:       faults.Enable,
		Config:          cfg,
		ConfigVariables: vars,
	}
	if sc.needsRerun {
		first.ExpectError = faultUnconfirmedRe
	} else {
		// Retries absorbed every fault: converged already, faults still on.
		first.Check = convergedCheck(reg, n, sc.checkState)
	}
	rerun := resource.TestStep{
		PreConfig: func() {
			faults.Disable() // also the restart after RegistryDownMidApply
			replayedBefore = faults.Replayed()
		},
		Config:          cfg,
		ConfigVariables: vars,
		Check: resource.ComposeTestCheckFunc(
			func(*terraform.State) error { replayedInRerun = faults.Replayed() - replayedBefore; return nil },
			convergedCheck(reg, n, sc.checkState),
		),
	}
	if sc.needsRerun {
		rerun.ConfigPlanChecks.PreApply = []plancheck.PlanCheck{expectSomeChange{}}
	} else {
		rerun.ConfigPlanChecks.PreApply = []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}
	}

	start := time.Now()
	defer func() { t.Logf("N=%d in %s; %s", n, time.Since(start).Round(time.Millisecond), faults.Report()) }()
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps:                    []resource.TestStep{first, rerun},
		CheckDestroy: func(*terraform.State) error {
			recs, err := faultListServers(reg)
			if err != nil {
				return err
			}
			if len(recs) != 0 {
				return fmt.Errorf("%d server records left after destroy", len(recs))
			}
			return nil
		},
	})
	if t.Failed() {
		return
	}
	if faults.Fired() == 0 {
		t.Fatalf("no fault fired: %s", faults.Report())
	}
	sc.verify(t, n, faults, rules, replayedInRerun)
}

func faultConfig(reg *registrytest.Registry, sc faultScenario) string {
	return providerBlock(reg, fmt.Sprintf("request_timeout = %q\n  max_retries     = %d", faultTimeout, sc.maxRetries)) + fmt.Sprintf(`
variable "n" { type = number }

resource "capiscio_server_identity" "test" {
  count       = var.n
  name        = "fault-${count.index}"
  issue_badge = %t
}
`, sc.badges)
}

// faultIdentity is one identity instance of the state.
type faultIdentity struct {
	addr, id, name, didKey, publicKeyPEM, privateKeyPEM, badgeExpiresAt, badgeJTI string
}

// faultStateIdentities returns every capiscio_server_identity instance in
// state; a tainted one is an error (an unconfirmed create left unresolved).
func faultStateIdentities(s *terraform.State) ([]faultIdentity, error) {
	var out []faultIdentity
	for addr, rs := range s.RootModule().Resources {
		if rs.Type != "capiscio_server_identity" || rs.Primary == nil {
			continue
		}
		if rs.Primary.Tainted {
			return nil, fmt.Errorf("%s is tainted after the converging apply", addr)
		}
		a := rs.Primary.Attributes
		out = append(out, faultIdentity{
			addr: addr, id: rs.Primary.ID, name: a["name"], didKey: a["did_key"],
			publicKeyPEM: a["public_key_pem"], privateKeyPEM: a["private_key_pem"],
			badgeExpiresAt: a["badge_expires_at"], badgeJTI: a["badge_jti"],
		})
	}
	return out, nil
}

// convergedCheck asserts the invariants of the package comment against the
// state and the registry's own list of records.
func convergedCheck(reg *registrytest.Registry, n int, extra func(int, []faultIdentity) error) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		ids, err := faultStateIdentities(s)
		if err != nil {
			return err
		}
		if err := assertConverged(reg, n, ids); err != nil {
			return err
		}
		if extra != nil {
			return extra(n, ids)
		}
		return nil
	}
}

// assertConverged: every state identity is registered with its key and
// active; the registry holds exactly these records (no orphans, no
// duplicates); and there are n of them.
func assertConverged(reg *registrytest.Registry, n int, ids []faultIdentity) error {
	if len(ids) != n {
		return fmt.Errorf("state holds %d identities, want %d", len(ids), n)
	}
	recs, err := faultListServers(reg)
	if err != nil {
		return err
	}
	byID := make(map[string]protocol.Server, len(recs))
	byKey := make(map[string]string, len(recs))
	for _, rec := range recs {
		if _, dup := byID[rec.ID]; dup {
			return fmt.Errorf("the registry lists record %s twice", rec.ID)
		}
		byID[rec.ID] = rec
		if other, dup := byKey[rec.DIDKey]; dup {
			return fmt.Errorf("duplicate: records %s and %s hold the same key %s", other, rec.ID, rec.DIDKey)
		}
		byKey[rec.DIDKey] = rec.ID
	}
	var problems []string
	seen := make(map[string]string, len(ids))
	for _, id := range ids {
		if other, dup := seen[id.id]; dup {
			problems = append(problems, fmt.Sprintf("%s and %s have the same id %s", other, id.addr, id.id))
			continue
		}
		seen[id.id] = id.addr
		rec, ok := byID[id.id]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: id %q has no record in the registry", id.addr, id.id))
			continue
		}
		priv, err := keys.ParsePrivatePEM(id.privateKeyPEM)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: private_key_pem: %v", id.addr, err))
			continue
		}
		pub := priv.Public().(ed25519.PublicKey)
		statePub, err := keys.ParsePublicPEM(id.publicKeyPEM)
		if err != nil || !pub.Equal(statePub) || id.didKey != keys.DIDKey(pub) {
			problems = append(problems, fmt.Sprintf("%s: public_key_pem/did_key in state do not match private_key_pem", id.addr))
			continue
		}
		regPub, err := keys.ParsePublicPEM(rec.PublicKey)
		switch {
		case err != nil || !pub.Equal(regPub):
			problems = append(problems, fmt.Sprintf("%s: record %s holds another public key than state's", id.addr, id.id))
		case rec.DIDKey != id.didKey:
			problems = append(problems, fmt.Sprintf("%s: record %s has didKey %s, state %s", id.addr, id.id, rec.DIDKey, id.didKey))
		case rec.Status != protocol.StatusActive:
			problems = append(problems, fmt.Sprintf("%s: record %s is %s", id.addr, id.id, rec.Status))
		case rec.Name != id.name || !strings.HasPrefix(id.name, "fault-"):
			problems = append(problems, fmt.Sprintf("%s: record %s is named %q, state %q", id.addr, id.id, rec.Name, id.name))
		}
	}
	for _, rec := range recs {
		if _, ok := seen[rec.ID]; !ok {
			problems = append(problems, fmt.Sprintf("orphan: record %s (%q, %s) is not in state", rec.ID, rec.Name, rec.DIDKey))
		}
	}
	if len(recs) != len(ids) {
		problems = append(problems, fmt.Sprintf("the registry holds %d records, state %d identities", len(recs), len(ids)))
	}
	if len(problems) > 0 {
		const show = 10
		more := ""
		if len(problems) > show {
			more = fmt.Sprintf("\n(and %d more)", len(problems)-show)
			problems = problems[:show]
		}
		return fmt.Errorf("not converged:\n%s%s", strings.Join(problems, "\n"), more)
	}
	return nil
}

// faultListServers lists every record of the dev organisation through the
// registry's HTTP API (GET /v1/sdk/servers?limit=1000, following nextCursor),
// exempt from the faults so it can look while they are on.
func faultListServers(reg *registrytest.Registry) ([]protocol.Server, error) {
	var all []protocol.Server
	cursor := ""
	for page := 0; ; page++ {
		if page > 100 {
			return nil, fmt.Errorf("listing servers: more than 100 pages")
		}
		q := url.Values{"limit": {"1000"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		req, err := http.NewRequest(http.MethodGet, reg.URL+protocol.PathServers+"?"+q.Encode(), nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set(protocol.HeaderAPIKey, reg.APIKey)
		req.Header.Set(registrytest.BypassHeader, "1")
		resp, err := reg.HTTP.Client().Do(req)
		if err != nil {
			return nil, fmt.Errorf("listing servers: %w", err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("listing servers: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("listing servers: HTTP %d: %s", resp.StatusCode, body)
		}
		var env protocol.Envelope[[]protocol.Server]
		if err := json.Unmarshal(body, &env); err != nil {
			return nil, fmt.Errorf("listing servers: %w", err)
		}
		all = append(all, env.Data...)
		if env.NextCursor == "" {
			return all, nil
		}
		cursor = env.NextCursor
	}
}

// expectSomeChange fails a plan with nothing to do: the re-run after an
// unabsorbed fault must resolve and replace tainted identities, or create the
// ones never made.
type expectSomeChange struct{}

func (expectSomeChange) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Change != nil && !rc.Change.Actions.NoOp() && !rc.Change.Actions.Read() {
			return
		}
	}
	resp.Error = fmt.Errorf("the re-run plans no change: the first apply's faults left nothing to repair")
}
