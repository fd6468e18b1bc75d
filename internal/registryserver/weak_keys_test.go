package registryserver_test

import (
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// weakKeys are Ed25519 public keys no real key can be, with the words the
// registry's message must hold. The registry signs badges for the key it
// holds, and under a small-order key anyone can forge signatures, so such a
// key must never be registered.
var weakKeys = []struct{ name, hex, reason string }{
	// The 8 points of order dividing 8, canonically encoded.
	{"identity (order 1)", "0100000000000000000000000000000000000000000000000000000000000000", "small-order point"},
	{"order 8, T", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", "small-order point"},
	{"order 4, [2]T", "0000000000000000000000000000000000000000000000000000000000000080", "small-order point"},
	{"order 8, [3]T", "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", "small-order point"},
	{"order 2, [4]T", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "small-order point"},
	{"order 8, [5]T", "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", "small-order point"},
	{"order 4, [6]T (all zeros)", "0000000000000000000000000000000000000000000000000000000000000000", "small-order point"},
	{"order 8, [7]T", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", "small-order point"},
	// Non-canonical encodings: y = p+1 (the identity) and the identity with
	// the sign bit of x = 0 set.
	{"y = p+1", "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "canonical form"},
	{"identity, sign bit set", "0100000000000000000000000000000000000000000000000000000000000080", "canonical form"},
	// A mixed-order point: the RFC 8032 test 1 key plus T.
	{"RFC 8032 key + T", "9158312a9a8d6e3b34c891d6d61444f8b8211c5117ebad15bdb0bd68b07e0245", "small-order component"},
}

// TestWeakKeys_Refused checks that POST /v1/sdk/servers and PUT
// /v1/sdk/servers/{id} answer 400 invalid_public_key, saying why, for each
// weak key sent with its own did:key, and store nothing: no record is
// created and the existing record keeps its key.
func TestWeakKeys_Refused(t *testing.T) {
	t.Parallel()
	reg := start(t)
	good := newKey(t)
	existing := createServer(t, reg, reg.APIKey, good, "real key")

	t.Run("requests", func(t *testing.T) {
		for _, w := range weakKeys {
			raw, err := hex.DecodeString(w.hex)
			if err != nil {
				t.Fatal(err)
			}
			pemText, err := keys.EncodePublicPEM(raw) // checks the length only
			if err != nil {
				t.Fatal(err)
			}
			did := keys.DIDKey(raw)
			t.Run("POST "+w.name, func(t *testing.T) {
				t.Parallel()
				resp, body := reg.Do(t, http.MethodPost, protocol.PathServers, protocol.CreateServerRequest{Name: "weak", DID: did, PublicKey: pemText})
				checkWeakKeyReply(t, resp, body, w.reason)
			})
			t.Run("PUT "+w.name, func(t *testing.T) {
				t.Parallel()
				resp, body := reg.Do(t, http.MethodPut, pathOf(protocol.PathServer, existing.ID), protocol.RegisterKeyRequest{DID: did, PublicKey: pemText})
				checkWeakKeyReply(t, resp, body, w.reason)
			})
		}
	})

	resp, raw := reg.Do(t, http.MethodGet, protocol.PathServers, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	if list := decodeData[[]protocol.Server](t, raw); len(list) != 1 || list[0].ID != existing.ID {
		t.Errorf("after the refused requests the organisation has %d servers, want only %s", len(list), existing.ID)
	}
	resp, raw = reg.Do(t, http.MethodGet, pathOf(protocol.PathServer, existing.ID), nil)
	wantStatus(t, resp, raw, http.StatusOK)
	if got := decodeData[protocol.Server](t, raw); got.PublicKey != good.pem || got.DIDKey != good.did || !got.KeyUpdatedAt.Equal(existing.KeyUpdatedAt) {
		t.Errorf("existing record changed: key %s (updated %v), want %s (updated %v)", got.DIDKey, got.KeyUpdatedAt, good.did, existing.KeyUpdatedAt)
	}
}

func checkWeakKeyReply(t *testing.T, resp *http.Response, body []byte, reason string) {
	t.Helper()
	checkErrorReply(t, resp, body, errorCase{status: http.StatusBadRequest, code: protocol.CodeInvalidPublicKey, message: "publicKey: the SPKI public key"})
	msg := decode[protocol.ErrorBody](t, body).Message
	for _, w := range []string{reason, "openssl genpkey -algorithm ed25519"} {
		if !strings.Contains(msg, w) {
			t.Errorf("message %q does not say %q", msg, w)
		}
	}
}
