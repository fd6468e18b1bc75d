package provider

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

// weakPublicKeys are Ed25519 public keys no real key can be, and what the
// error must say about each. Under the small-order ones anyone can forge
// signatures, so registering one would let anyone prove possession of the
// identity.
var weakPublicKeys = []struct{ name, hex, reason string }{
	// The 8 points of order dividing 8, canonically encoded.
	{"identity (order 1)", "0100000000000000000000000000000000000000000000000000000000000000", "is a small-order point"},
	{"order 8, T", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", "is a small-order point"},
	{"order 4, [2]T", "0000000000000000000000000000000000000000000000000000000000000080", "is a small-order point"},
	{"order 8, [3]T", "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", "is a small-order point"},
	{"order 2, [4]T", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "is a small-order point"},
	{"order 8, [5]T", "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", "is a small-order point"},
	{"order 4, [6]T (all zeros)", "0000000000000000000000000000000000000000000000000000000000000000", "is a small-order point"},
	{"order 8, [7]T", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", "is a small-order point"},
	// Non-canonical encodings: y = p (a point of order 4) and the identity
	// with the sign bit of x = 0 set.
	{"y = p", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "is not written in the one canonical form"},
	{"identity, sign bit set", "0100000000000000000000000000000000000000000000000000000000000080", "is not written in the one canonical form"},
	// A mixed-order point: the RFC 8032 test 1 key plus T.
	{"RFC 8032 key + T", "9158312a9a8d6e3b34c891d6d61444f8b8211c5117ebad15bdb0bd68b07e0245", "has a small-order component"},
}

// weakPEM is the SPKI PEM of the 32 bytes of hexKey (EncodePublicPEM checks
// the length only).
func weakPEM(t *testing.T, hexKey string) (pemText string, raw []byte) {
	t.Helper()
	raw, err := hex.DecodeString(hexKey)
	if err != nil {
		t.Fatal(err)
	}
	pemText, err = keys.EncodePublicPEM(raw)
	if err != nil {
		t.Fatal(err)
	}
	return pemText, raw
}

// wrappedRe matches text with its words separated by any whitespace
// (Terraform wraps long diagnostics).
func wrappedRe(text string) string {
	words := strings.Fields(text)
	for i, w := range words {
		words[i] = regexp.QuoteMeta(w)
	}
	return strings.Join(words, `\s+`)
}

// writeCounter counts the requests that could change the registry.
func writeCounter(n *atomic.Int64) registrytest.Option {
	return registrytest.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				n.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	})
}

// TestWeakExternalKey_PlanTime checks that external_public_key_pem holding a
// weak key fails at plan time, on that attribute, with the reason, and that
// the registry gets no write.
func TestWeakExternalKey_PlanTime(t *testing.T) {
	t.Parallel()
	var writes atomic.Int64
	reg := testRegistry(t, writeCounter(&writes))
	t.Run("keys", func(t *testing.T) {
		for _, w := range weakPublicKeys {
			pemText, _ := weakPEM(t, w.hex)
			t.Run(w.name, func(t *testing.T) {
				t.Parallel()
				resource.UnitTest(t, resource.TestCase{
					ProtoV6ProviderFactories: testProviderFactories(nil),
					Steps: []resource.TestStep{{
						Config:   testIdentityConfig(reg, fmt.Sprintf("external_public_key_pem = %q", pemText)),
						PlanOnly: true,
						ExpectError: regexp.MustCompile(`Invalid Public Key[\s\S]*` +
							wrappedRe("external_public_key_pem: the SPKI public key "+w.reason) + `[\s\S]*` +
							wrappedRe("openssl genpkey -algorithm ed25519")),
					}},
				})
			})
		}
	})
	if n := writes.Load(); n != 0 {
		t.Errorf("the registry got %d writes; a weak key must stop at plan time", n)
	}
}

// TestWeakKeyInPrivateKeyWO checks that private_key_wo cannot carry a weak
// public key. Its public key is always derived from the seed, and a real
// seed never gives a weak key (the clamped scalar is never a multiple of the
// group order); the one place a PKCS#8 key can hold a public key of its own,
// the version 2 publicKey field, must match the derived key, so a weak one is
// refused at plan time as not belonging to the private key.
func TestWeakKeyInPrivateKeyWO(t *testing.T) {
	t.Parallel()
	priv, err := keys.ParsePrivatePEM(rfcPrivatePEM)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range weakPublicKeys[:2] {
		_, raw := weakPEM(t, w.hex)
		t.Run(w.name, func(t *testing.T) {
			t.Parallel()
			v2 := pkcs8V2PEM(t, priv.Seed(), raw)
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testProviderFactories(nil),
				Steps: []resource.TestStep{{
					Config:      testIdentityConfig(testRegistry(t), fmt.Sprintf("private_key_wo = %q\nprivate_key_wo_version = 1", v2)),
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(`Invalid Private Key[\s\S]*` + wrappedRe("private_key_wo: the public key stored in the PKCS#8 key does not belong to its private key")),
				}},
			})
		})
	}
}

// pkcs8V2PEM writes a PKCS#8 version 2 (RFC 5958) Ed25519 key holding seed
// and, in its publicKey field, pub.
func pkcs8V2PEM(t *testing.T, seed, pub []byte) string {
	t.Helper()
	inner, err := asn1.Marshal(seed)
	if err != nil {
		t.Fatal(err)
	}
	der, err := asn1.Marshal(struct {
		Version    int
		Algorithm  pkix.AlgorithmIdentifier
		PrivateKey []byte
		PublicKey  asn1.BitString `asn1:"optional,tag:1"`
	}{
		Version:    1,
		Algorithm:  pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 3, 101, 112}},
		PrivateKey: inner,
		PublicKey:  asn1.BitString{Bytes: pub, BitLength: 8 * len(pub)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// TestWeakKeyDIDKeyFunction checks that provider::capiscio::did_key refuses a
// weak key rather than naming it.
func TestWeakKeyDIDKeyFunction(t *testing.T) {
	for _, w := range []int{0, 8} {
		pemText, _ := weakPEM(t, weakPublicKeys[w].hex)
		t.Run(weakPublicKeys[w].name, func(t *testing.T) {
			functionTest(t, resource.TestStep{
				Config:      callOutput("did_key", fmt.Sprintf("%q", pemText)),
				ExpectError: argErrorRe("public_key_pem", "the SPKI public key "+weakPublicKeys[w].reason),
			})
		})
	}
}
