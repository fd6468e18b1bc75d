package keys_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"

	"filippo.io/edwards25519"
	"github.com/google/go-cmp/cmp"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
)

// Public keys that no Ed25519 implementation generates, and that every entry
// point of the package must refuse. The encodings and their properties were
// computed with plain big-integer Edwards arithmetic (outside this package and
// outside filippo.io/edwards25519); TestWeakKeyFixtures checks them again with
// edwards25519.

// smallOrderPoints are the canonical encodings of the 8 points P with
// [8]P = identity, the list of curve25519-dalek's EIGHT_TORSION and of
// "Taming the many EdDSAs" (Chalkias et al., 2020); libsodium's small-order
// blocklist holds the same y coordinates. Entry k is [k]T for the order-8
// point T of entry 1.
var smallOrderPoints = []struct{ name, hex string }{
	{"identity (order 1)", "0100000000000000000000000000000000000000000000000000000000000000"},
	{"order 8, T", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"},
	{"order 4, [2]T", "0000000000000000000000000000000000000000000000000000000000000080"},
	{"order 8, [3]T", "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"},
	{"order 2, [4]T (y = -1)", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
	{"order 8, [5]T", "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"},
	{"order 4, [6]T (all zeros)", "0000000000000000000000000000000000000000000000000000000000000000"},
	{"order 8, [7]T", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"},
}

// mixedOrderPoints are A + [k]T, A being the RFC 8032 test 1 public key (of
// prime order L) and T the order-8 point above: points of order 8L, 4L and 2L.
var mixedOrderPoints = []struct {
	name string
	k    int
	hex  string
}{
	{"RFC 8032 key + T (order 8L)", 1, "9158312a9a8d6e3b34c891d6d61444f8b8211c5117ebad15bdb0bd68b07e0245"},
	{"RFC 8032 key + [2]T (order 4L)", 2, "ad38a8f0b22ab7ca46ecee7bbef12b5f336c182652fac34392f859dbd9666a7d"},
	{"RFC 8032 key + [4]T (order 2L)", 4, "16a567fe7d4ef5482ab4012c369bf8c5f11e8d0c2559dcda50fde59708f8aee5"},
}

// aboveP returns the encoding of y = p+k (p = 2^255-19, 0 <= k <= 18), with
// the sign bit of x set when signed: the 19 values of y that fit in 255 bits
// but are not reduced mod p.
func aboveP(k int, signed bool) []byte {
	b := bytes.Repeat([]byte{0xff}, 32)
	b[0] = byte(0xed + k)
	if !signed {
		b[31] = 0x7f
	}
	return b
}

// pointsAboveP are the k for which y = p+k (so y = k mod p) is the y of a
// curve point; the others decode to no point at all.
var pointsAboveP = []int{0, 1, 3, 4, 5, 6, 9, 10, 14, 15, 16, 18}

// weakCase is 32 bytes every entry point must refuse, the sentinels the error
// must match, and words the message must hold.
type weakCase struct {
	key       []byte
	wantKinds []string
	wantMsg   []string
}

var (
	fixHint    = "openssl genpkey -algorithm ed25519"
	smallOrder = weakCase{wantKinds: []string{"ErrWeakKey"}, wantMsg: []string{"small-order point", "forge signatures", fixHint}}
	nonCanon   = weakCase{wantKinds: []string{"ErrWeakKey"}, wantMsg: []string{"canonical form", fixHint}}
	mixedOrder = weakCase{wantKinds: []string{"ErrWeakKey"}, wantMsg: []string{"small-order component", "prime-order subgroup", fixHint}}
	noPoint    = weakCase{wantKinds: []string{"ErrCorruptKey"}, wantMsg: []string{"not a point on the curve"}}
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		panic(fmt.Sprintf("bad fixture %q", s))
	}
	return b
}

func (c weakCase) with(key []byte) weakCase {
	c.key = key
	return c
}

// weakCases are all the fixtures, by name.
func weakCases() map[string]weakCase {
	cases := map[string]weakCase{}
	for _, p := range smallOrderPoints {
		cases["small order: "+p.name] = smallOrder.with(mustHex(p.hex))
	}
	for _, p := range mixedOrderPoints {
		cases["mixed order: "+p.name] = mixedOrder.with(mustHex(p.hex))
	}
	for k := range 19 {
		for _, signed := range []bool{false, true} {
			name := fmt.Sprintf("non-canonical: y = p+%d", k)
			switch k {
			case 0:
				name = "non-canonical: y = p (order 4)"
			case 1:
				name = "non-canonical: y = p+1 (the identity)"
			}
			if signed {
				name += ", sign bit set"
			}
			c := noPoint
			if slices.Contains(pointsAboveP, k) {
				c = nonCanon
			}
			cases[name] = c.with(aboveP(k, signed))
		}
	}
	// x = 0 only for y = 1 and y = -1; there the sign bit must be clear.
	identitySigned := mustHex(smallOrderPoints[0].hex)
	identitySigned[31] |= 0x80
	cases["non-canonical: identity with the sign bit set"] = nonCanon.with(identitySigned)
	minusOneSigned := mustHex(smallOrderPoints[4].hex)
	minusOneSigned[31] |= 0x80
	cases["non-canonical: y = -1 (order 2) with the sign bit set"] = nonCanon.with(minusOneSigned)
	return cases
}

// publicKeyEntryPoints feed 32 key bytes to each way a public key enters the
// package, and return the input as the caller gave it (for the leak check).
var publicKeyEntryPoints = map[string]struct {
	subject string // how the message names the key
	run     func(key []byte) (input string, err error)
}{
	"ParsePublicPEM": {"the SPKI public key", func(key []byte) (string, error) {
		in := pemText("PUBLIC KEY", nil, edSPKI(nil, key, 256))
		_, err := keys.ParsePublicPEM(in)
		return in, err
	}},
	"ParsePublicPEM, env form": {"the SPKI public key", func(key []byte) (string, error) {
		in := keys.EnvEscape(pemText("PUBLIC KEY", nil, edSPKI(nil, key, 256)))
		_, err := keys.ParsePublicPEM(in)
		return in, err
	}},
	"ParseDIDKey": {"the did:key", func(key []byte) (string, error) {
		in := keys.DIDKeyPrefix + multibaseOf([]byte{0xed, 0x01}, key)
		_, err := keys.ParseDIDKey(in)
		return in, err
	}},
	"ParseMultibase": {"the multibase value", func(key []byte) (string, error) {
		in := multibaseOf([]byte{0xed, 0x01}, key)
		_, err := keys.ParseMultibase(in)
		return in, err
	}},
	"DescribePublic": {"the public key", func(key []byte) (string, error) {
		_, err := keys.DescribePublic(key)
		return base64.StdEncoding.EncodeToString(key) + " " + base64.RawURLEncoding.EncodeToString(key), err
	}},
}

func TestWeakKeys_Refused(t *testing.T) {
	t.Parallel()
	cases := weakCases()
	if len(cases) != 8+3+38+2 {
		t.Fatalf("%d fixtures, want 51", len(cases))
	}
	for entry, e := range publicKeyEntryPoints {
		t.Run(entry, func(t *testing.T) {
			t.Parallel()
			for name, c := range cases {
				t.Run(name, func(t *testing.T) {
					in, err := e.run(bytes.Clone(c.key))
					if err == nil {
						t.Fatal("accepted")
					}
					if diff := cmp.Diff(c.wantKinds, kinds(err)); diff != "" {
						t.Errorf("error kinds mismatch (-want +got):\n%s\nerror: %v", diff, err)
					}
					for _, w := range c.wantMsg {
						if !strings.Contains(err.Error(), w) {
							t.Errorf("error %q does not say %q", err, w)
						}
					}
					if c.wantKinds[0] == "ErrWeakKey" && !strings.HasPrefix(err.Error(), e.subject+" ") {
						t.Errorf("error %q does not start with %q", err, e.subject)
					}
					checkError(t, err, in)
				})
			}
		})
	}
}

// TestWeakKeyFixtures checks the hard-coded encodings against
// filippo.io/edwards25519: the small-order points are 8 distinct canonical
// points of order dividing 8, the multiples of T in order; the mixed-order
// points are the RFC 8032 key plus the named multiple of T; and exactly the
// listed y = p+k decode to points.
func TestWeakKeyFixtures(t *testing.T) {
	t.Parallel()
	point := func(b []byte) *edwards25519.Point {
		t.Helper()
		p, err := new(edwards25519.Point).SetBytes(b)
		if err != nil {
			t.Fatalf("%x does not decode: %v", b, err)
		}
		return p
	}
	identity := edwards25519.NewIdentityPoint()
	torsion := point(mustHex(smallOrderPoints[1].hex))
	multiple := edwards25519.NewIdentityPoint()
	for _, p := range smallOrderPoints {
		enc := mustHex(p.hex)
		if got := multiple.Bytes(); !bytes.Equal(got, enc) {
			t.Errorf("%s: %x, but the next multiple of T is %x", p.name, enc, got)
		}
		if new(edwards25519.Point).MultByCofactor(point(enc)).Equal(identity) != 1 {
			t.Errorf("%s: [8]P is not the identity", p.name)
		}
		multiple.Add(multiple, torsion)
	}
	if multiple.Equal(identity) != 1 {
		t.Error("[8]T is not the identity")
	}

	a := point(rfcPublicKey())
	for _, p := range mixedOrderPoints {
		tk := point(mustHex(smallOrderPoints[p.k].hex))
		if got := new(edwards25519.Point).Add(a, tk).Bytes(); !bytes.Equal(got, mustHex(p.hex)) {
			t.Errorf("%s: fixture %s, A + [%d]T = %x", p.name, p.hex, p.k, got)
		}
	}

	for k := range 19 {
		_, err := new(edwards25519.Point).SetBytes(aboveP(k, false))
		if onCurve := err == nil; onCurve != slices.Contains(pointsAboveP, k) {
			t.Errorf("y = p+%d: decodes = %v, fixture says %v", k, onCurve, !onCurve)
		}
	}
}

// TestGeneratedKeysAccepted checks that the point checks refuse no real key:
// 10,000 fresh keys (1,000 with -short) pass DescribePublic, and every tenth
// also DescribePrivate and the three parsers, which run the same check (the
// point multiplications make each check cost about 50 µs, several times that
// under -race). A real key is [s]B with s clamped (a multiple of 8 in
// [2^254, 2^255)); s is never a multiple of L (the first multiple of both 8
// and L is 8L > 2^255), so [s]B is never the identity and always of order
// exactly L.
func TestGeneratedKeysAccepted(t *testing.T) {
	t.Parallel()
	n := 10_000
	if testing.Short() {
		n = 1_000
	}
	for i := range n {
		pub, priv, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := keys.DescribePublic(pub); err != nil {
			t.Fatalf("key %d: DescribePublic: %v", i, err)
		}
		if i%10 == 0 {
			checkAllEntryPoints(t, i, priv)
		}
	}
}

func checkAllEntryPoints(t *testing.T, i int, priv ed25519.PrivateKey) {
	t.Helper()
	m, err := keys.DescribePrivate(priv)
	if err != nil {
		t.Fatalf("key %d: DescribePrivate: %v", i, err)
	}
	if _, err := keys.ParsePublicPEM(m.PEM); err != nil {
		t.Fatalf("key %d: ParsePublicPEM: %v", i, err)
	}
	if _, err := keys.ParseDIDKey(m.DIDKey); err != nil {
		t.Fatalf("key %d: ParseDIDKey: %v", i, err)
	}
	if _, err := keys.ParseMultibase(keys.Multibase(m.Key)); err != nil {
		t.Fatalf("key %d: ParseMultibase: %v", i, err)
	}
}

// TestPrivateKeysCarryNoWeakKey shows that a private key cannot bring in a
// weak public key: its public key is always derived from the seed (see
// TestGeneratedKeysAccepted for why that is never weak), and a public key
// stored beside the seed, in a 64-byte key or a PKCS#8 version 2 key, must be
// that derived key.
func TestPrivateKeysCarryNoWeakKey(t *testing.T) {
	t.Parallel()
	seed := rfcPrivateKey().Seed()
	for _, p := range smallOrderPoints {
		weak := mustHex(p.hex)
		t.Run("64-byte key with "+p.name, func(t *testing.T) {
			t.Parallel()
			_, err := keys.DescribePrivate(ed25519.PrivateKey(append(bytes.Clone(seed), weak...)))
			if diff := cmp.Diff([]string{"ErrCorruptKey"}, kinds(err)); diff != "" {
				t.Errorf("error kinds mismatch (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
		t.Run("PKCS#8 v2 with "+p.name, func(t *testing.T) {
			t.Parallel()
			in := pemText("PRIVATE KEY", nil, edPKCS8(1, nil, edSeedOctets(seed), weak))
			for name, parse := range map[string]func(string) error{
				"ParsePrivatePEM": func(s string) error { _, err := keys.ParsePrivatePEM(s); return err },
			} {
				err := parse(in)
				if diff := cmp.Diff([]string{"ErrCorruptKey"}, kinds(err)); diff != "" {
					t.Errorf("%s: error kinds mismatch (-want +got):\n%s\nerror: %v", name, diff, err)
				}
				if err != nil && !strings.Contains(err.Error(), "does not belong to its private key") {
					t.Errorf("%s: error %q does not say the public key is not the private key's", name, err)
				}
				checkError(t, err, in)
			}
		})
	}
}
