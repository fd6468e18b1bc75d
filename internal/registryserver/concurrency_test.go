package registryserver_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

// apiClient is a goroutine-safe client that returns errors instead of
// failing the test, for use off the test goroutine (workers, RunParallel).
type apiClient struct {
	base, key string
	http      *http.Client
}

func newAPIClient(reg *registrytest.Registry, key string) *apiClient {
	transport := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024}
	return &apiClient{base: reg.URL, key: key, http: &http.Client{Transport: transport}}
}

// call sends a request and checks its status; it returns the body.
func (c *apiClient) call(method, path string, body any, want int) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set(protocol.HeaderAPIKey, c.key)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	return raw, nil
}

// callData is call plus decoding of the envelope's data.
func callData[T any](c *apiClient, method, path string, body any, want int) (T, error) {
	var env protocol.Envelope[T]
	raw, err := c.call(method, path, body, want)
	if err == nil {
		err = json.Unmarshal(raw, &env)
	}
	return env.Data, err
}

// issuedBadge is a badge with the key that was registered when it was issued.
type issuedBadge struct {
	serverID string
	badge    protocol.Badge
	key      testKey
}

// badgeKeyX returns the x of the badge's key claim (decoded, not verified;
// TestIssueBadge covers the signature).
func badgeKeyX(token string) (string, string, error) {
	parts := bytes.Split([]byte(token), []byte("."))
	if len(parts) != 3 {
		return "", "", fmt.Errorf("not a compact JWS")
	}
	payload, err := base64.RawURLEncoding.DecodeString(string(parts[1]))
	if err != nil {
		return "", "", err
	}
	var claims struct {
		Sub string `json:"sub"`
		Key struct {
			X string `json:"x"`
		} `json:"key"`
	}
	err = json.Unmarshal(payload, &claims)
	return claims.Key.X, claims.Sub, err
}

// TestConcurrent_RegisterRotateIssue runs 50 workers at once, each creating
// its own server and then alternately issuing a badge and rotating the key.
// Afterwards no record may be lost or crossed: every server has the last key
// its worker set, every badge carries the key registered when it was issued
// and names its own server, and exactly the badges of rotated-away keys are
// revoked (reason key_rotated).
func TestConcurrent_RegisterRotateIssue(t *testing.T) {
	t.Parallel()
	const workers, rounds = 50, 4
	reg := start(t)
	client := newAPIClient(reg, reg.APIKey)

	keysOf := make([][]testKey, workers)
	for w := range keysOf {
		for range rounds + 1 {
			keysOf[w] = append(keysOf[w], newKey(t))
		}
	}
	servers := make([]protocol.Server, workers)
	badges := make([][]issuedBadge, workers)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			srv, issued, err := runWorker(client, keysOf[w], w)
			servers[w], badges[w] = srv, issued
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	for w := range workers {
		checkWorker(t, reg, servers[w], keysOf[w][rounds], badges[w])
	}
	resp, raw := reg.Do(t, http.MethodGet, protocol.PathServers+"?limit=1000", nil)
	wantStatus(t, resp, raw, http.StatusOK)
	if n := len(decodeData[[]protocol.Server](t, raw)); n != workers {
		t.Errorf("listed %d servers, want %d", n, workers)
	}
}

// runWorker creates a server with keys[0], then for each further key issues
// a badge and rotates to that key, and finally issues one more badge.
func runWorker(c *apiClient, keys []testKey, w int) (protocol.Server, []issuedBadge, error) {
	srv, err := callData[protocol.Server](c, http.MethodPost, protocol.PathServers, keys[0].createBody(fmt.Sprintf("worker %d", w)), http.StatusCreated)
	if err != nil {
		return srv, nil, err
	}
	var issued []issuedBadge
	for i, key := range keys {
		if i > 0 {
			if _, err := callData[protocol.Server](c, http.MethodPut, pathOf(protocol.PathServer, srv.ID), key.registerBody(), http.StatusOK); err != nil {
				return srv, issued, err
			}
		}
		b, err := callData[protocol.Badge](c, http.MethodPost, pathOf(protocol.PathServerBadge, srv.ID), map[string]string{}, http.StatusCreated)
		if err != nil {
			return srv, issued, err
		}
		issued = append(issued, issuedBadge{serverID: srv.ID, badge: b, key: key})
	}
	return srv, issued, nil
}

func checkWorker(t *testing.T, reg *registrytest.Registry, srv protocol.Server, final testKey, issued []issuedBadge) {
	t.Helper()
	resp, raw := reg.Do(t, http.MethodGet, pathOf(protocol.PathServer, srv.ID), nil)
	wantStatus(t, resp, raw, http.StatusOK)
	if got := decodeData[protocol.Server](t, raw); got.PublicKey != final.pem || got.DIDKey != final.did {
		t.Errorf("server %s has key %s, want its worker's last key %s", srv.ID, got.DIDKey, final.did)
	}
	for _, ib := range issued {
		checkIssuedBadge(t, reg, srv, final, ib)
	}
}

func checkIssuedBadge(t *testing.T, reg *registrytest.Registry, srv protocol.Server, final testKey, ib issuedBadge) {
	t.Helper()
	x, sub, err := badgeKeyX(ib.badge.Badge)
	if err != nil {
		t.Fatal(err)
	}
	if want := base64.RawURLEncoding.EncodeToString(ib.key.pub); x != want {
		t.Errorf("badge %s carries key %s, want the key registered at issuance %s", ib.badge.JTI, x, want)
	}
	if sub != srv.DID {
		t.Errorf("badge %s names %s, want its server %s", ib.badge.JTI, sub, srv.DID)
	}
	st := badgeStatus(t, reg, ib.badge.JTI)
	rotatedAway := ib.key.did != final.did
	if st.Revoked != rotatedAway || (rotatedAway && st.Reason != protocol.ReasonKeyRotated) {
		t.Errorf("badge %s: revoked=%v reason=%q, want revoked=%v (key rotated away: %v)", ib.badge.JTI, st.Revoked, st.Reason, rotatedAway, rotatedAway)
	}
}

// TestConcurrent_RotationRacesIssuance issues badges for one server while
// its key rotates underneath: whatever the interleaving, a badge is revoked
// exactly when the key it carries is no longer the server's key.
func TestConcurrent_RotationRacesIssuance(t *testing.T) {
	t.Parallel()
	const rotations, issuers = 20, 8
	reg := start(t)
	client := newAPIClient(reg, reg.APIKey)
	rotationKeys := make([]testKey, rotations+1)
	for i := range rotationKeys {
		rotationKeys[i] = newKey(t)
	}
	srv := createServer(t, reg, reg.APIKey, rotationKeys[0], "raced")

	done := make(chan struct{})
	var mu sync.Mutex
	var tokens []protocol.Badge
	errs := make(chan error, issuers+1)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for _, key := range rotationKeys[1:] {
			if _, err := callData[protocol.Server](client, http.MethodPut, pathOf(protocol.PathServer, srv.ID), key.registerBody(), http.StatusOK); err != nil {
				errs <- err
				return
			}
		}
	})
	for range issuers {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				b, err := callData[protocol.Badge](client, http.MethodPost, pathOf(protocol.PathServerBadge, srv.ID), nil, http.StatusCreated)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				tokens = append(tokens, b)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	finalX := base64.RawURLEncoding.EncodeToString(rotationKeys[rotations].pub)
	for _, b := range tokens {
		x, _, err := badgeKeyX(b.Badge)
		if err != nil {
			t.Fatal(err)
		}
		st := badgeStatus(t, reg, b.JTI)
		if stale := x != finalX; st.Revoked != stale {
			t.Errorf("badge %s with key %s: revoked=%v, want %v", b.JTI, x, st.Revoked, stale)
		}
	}
	t.Logf("%d badges issued across %d rotations", len(tokens), rotations)
}
