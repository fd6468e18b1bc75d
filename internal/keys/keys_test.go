package keys_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
)

// materialView is every exported encoding of a key, as strings.
type materialView struct {
	PublicHex, JWKX, DIDKey, Multibase, KeyID string
	PublicPEM, PrivatePEM, PrivatePEMEnv, JWK string
}

func viewOf(t *testing.T, m keys.Material) materialView {
	t.Helper()
	jwk, err := keys.PublicJWK(m.Key).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var members struct{ X string }
	if err := json.Unmarshal(jwk, &members); err != nil {
		t.Fatal(err)
	}
	return materialView{
		PublicHex:     hex.EncodeToString(m.Key),
		JWKX:          members.X,
		DIDKey:        m.DIDKey,
		Multibase:     keys.Multibase(m.Key),
		KeyID:         m.KeyID,
		PublicPEM:     m.PEM,
		PrivatePEM:    m.PrivatePEM,
		PrivatePEMEnv: m.PrivatePEMEnv,
		JWK:           string(jwk),
	}
}

// TestRFC8032Vector checks every encoding of RFC 8032 test 1 against the
// values the RFCs give, and the thumbprint against the value computed here
// without the package.
func TestRFC8032Vector(t *testing.T) {
	t.Parallel()

	// RFC 7638: the required members in lexicographic order, no whitespace.
	canonical, err := json.Marshal(struct {
		Crv string `json:"crv"`
		Kty string `json:"kty"`
		X   string `json:"x"`
	}{"Ed25519", "OKP", rfcJWKX})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(canonical)
	thumbprint := base64.RawURLEncoding.EncodeToString(sum[:])
	if thumbprint != rfcThumbprint {
		t.Fatalf("independent thumbprint %s, RFC 8037 A.3 says %s", thumbprint, rfcThumbprint)
	}

	spkiDER, err := base64.StdEncoding.DecodeString(rfcSPKIBody)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x509.ParsePKIXPublicKey(spkiDER); err != nil {
		t.Fatalf("vector SPKI does not parse with crypto/x509: %v", err)
	}

	want := materialView{
		PublicHex:     rfcPublicHex,
		JWKX:          rfcJWKX,
		DIDKey:        rfcDIDKey,
		Multibase:     rfcMultibase,
		KeyID:         thumbprint,
		PublicPEM:     rfcPublicPEM,
		PrivatePEM:    rfcPrivatePEM,
		PrivatePEMEnv: rfcPrivateEnv,
		JWK:           `{"kty":"OKP","kid":"` + thumbprint + `","crv":"Ed25519","x":"` + rfcJWKX + `"}`,
	}

	m, err := keys.DescribePrivate(rfcPrivateKey())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, viewOf(t, m)); diff != "" {
		t.Errorf("DescribePrivate(RFC 8032 test 1) mismatch (-want +got):\n%s", diff)
	}

	// The same values from the parsers' side.
	seed, _ := hex.DecodeString(rfcSeedHex)
	m2, err := keys.NewMaterial(bytes.NewReader(seed))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, viewOf(t, m2)); diff != "" {
		t.Errorf("NewMaterial(seed) mismatch (-want +got):\n%s", diff)
	}
	priv, err := keys.ParsePrivatePEM(rfcPrivateEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !priv.Equal(m.Private) {
		t.Errorf("ParsePrivatePEM(env form) is not the vector's key")
	}
}

func TestGenerate(t *testing.T) {
	t.Parallel()

	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	got, err := keys.Generate(bytes.NewReader(seed))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ed25519.NewKeyFromSeed(seed), got); diff != "" {
		t.Errorf("Generate(fixed reader) mismatch (-want +got):\n%s", diff)
	}

	a, err := keys.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := keys.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Equal(b) {
		t.Error("two keys from crypto/rand are equal")
	}

	if _, err := keys.Generate(iotest.ErrReader(iotest.ErrTimeout)); err == nil {
		t.Error("Generate with a failing reader: no error")
	}
	if _, err := keys.NewMaterial(bytes.NewReader(seed[:10])); err == nil {
		t.Error("NewMaterial with a short reader: no error")
	}
}

// TestRoundTrip generates keys, encodes them every way and parses them back.
func TestRoundTrip(t *testing.T) {
	t.Parallel()

	rng := rand.NewChaCha8([32]byte{1})
	for i := range 50 {
		m, err := keys.NewMaterial(rng)
		if err != nil {
			t.Fatal(err)
		}
		pub := m.Key

		for name, s := range map[string]string{
			"plain": m.PrivatePEM,
			"env":   m.PrivatePEMEnv,
			"crlf":  strings.ReplaceAll(m.PrivatePEM, "\n", "\r\n"),
		} {
			got, err := keys.ParsePrivatePEM(s)
			if err != nil {
				t.Fatalf("key %d, %s: %v", i, name, err)
			}
			if !got.Equal(m.Private) {
				t.Fatalf("key %d, %s: private key changed in the round trip", i, name)
			}
		}
		for name, parse := range map[string]func() (ed25519.PublicKey, error){
			"ParsePublicPEM":       func() (ed25519.PublicKey, error) { return keys.ParsePublicPEM(m.PEM) },
			"ParsePublicPEM(env)":  func() (ed25519.PublicKey, error) { return keys.ParsePublicPEM(keys.EnvEscape(m.PEM)) },
			"ParseDIDKey":          func() (ed25519.PublicKey, error) { return keys.ParseDIDKey(m.DIDKey) },
			"ParseMultibase":       func() (ed25519.PublicKey, error) { return keys.ParseMultibase(keys.Multibase(m.Key)) },
			"JWK":                  func() (ed25519.PublicKey, error) { return jwkKey(keys.PublicJWK(m.Key)) },
			"x509.ParsePKIXPublic": func() (ed25519.PublicKey, error) { return parsePKIX(m.PEM) },
		} {
			got, err := parse()
			if err != nil {
				t.Fatalf("key %d, %s: %v", i, name, err)
			}
			if !pub.Equal(got) {
				t.Fatalf("key %d, %s: public key changed in the round trip", i, name)
			}
		}
		if !strings.HasPrefix(m.DIDKey, "did:key:z6Mk") || len(keys.Multibase(m.Key)) != 48 {
			t.Errorf("key %d: did:key %s is not z6Mk... with 47 base58 characters after the z", i, m.DIDKey)
		}
		if strings.ContainsAny(m.PrivatePEMEnv, "\r\n") || !strings.HasSuffix(m.PrivatePEMEnv, `-----END PRIVATE KEY-----\n`) {
			t.Errorf("key %d: env form is not one line ending in a \\n escape", i)
		}
		if keys.PublicJWK(m.Key).KeyID != m.KeyID {
			t.Errorf("key %d: the JWK's kid is not the key id", i)
		}
	}
}

// jwkKey encodes a JWK and reads it back as an independent reader would.
func jwkKey(k jose.JSONWebKey) (ed25519.PublicKey, error) {
	raw, err := k.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var back jose.JSONWebKey
	if err := back.UnmarshalJSON(raw); err != nil {
		return nil, err
	}
	pub, ok := back.Key.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("the JWK reads back as a %T", back.Key)
	}
	return pub, nil
}

func parsePKIX(s string) (ed25519.PublicKey, error) {
	block, _ := pem.Decode([]byte(s))
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	return k.(ed25519.PublicKey), nil
}

func TestEnvEscape(t *testing.T) {
	t.Parallel()

	tests := map[string]struct {
		in, escaped, unescaped string
	}{
		"empty":                 {"", "", ""},
		"no line break":         {"abc", "abc", "abc"},
		"LF":                    {"a\nb\n", `a\nb\n`, "a\nb\n"},
		"CRLF":                  {"a\r\nb\r\n", `a\nb\n`, "a\nb\n"},
		"lone CR":               {"a\rb", `a\nb`, "a\nb"},
		"blank lines":           {"a\n\n\nb", `a\n\n\nb`, "a\n\n\nb"},
		"already escaped":       {`a\nb`, `a\nb`, "a\nb"},
		"escaped CRLF":          {`a\r\nb`, `a\r\nb`, "a\nb"},
		"PEM":                   {rfcPrivatePEM, rfcPrivateEnv, rfcPrivatePEM},
		"PEM, no final newline": {strings.TrimSuffix(rfcPrivatePEM, "\n"), strings.TrimSuffix(rfcPrivateEnv, `\n`), strings.TrimSuffix(rfcPrivatePEM, "\n")},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			escaped := keys.EnvEscape(tt.in)
			got := struct{ Escaped, Unescaped, Twice string }{escaped, keys.EnvUnescape(escaped), keys.EnvEscape(escaped)}
			want := struct{ Escaped, Unescaped, Twice string }{tt.escaped, tt.unescaped, tt.escaped}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDescribeAndEncodeErrors(t *testing.T) {
	t.Parallel()

	inconsistent := bytes.Clone(rfcPrivateKey())
	inconsistent[40] ^= 1

	tests := map[string]struct {
		describe  func() error
		wantKinds []string
		wantMsg   string
	}{
		"public key of 31 bytes": {
			describe:  func() error { _, err := keys.DescribePublic(make([]byte, 31)); return err },
			wantKinds: []string{"ErrKeyLength"},
			wantMsg:   "has 31 bytes; it must have 32",
		},
		"nil public key": {
			describe:  func() error { _, err := keys.DescribePublic(nil); return err },
			wantKinds: []string{"ErrKeyLength"},
			wantMsg:   "has 0 bytes",
		},
		"public key not on the curve": {
			describe:  func() error { _, err := keys.DescribePublic(notAPoint); return err },
			wantKinds: []string{"ErrCorruptKey"},
			wantMsg:   "not a point on the curve",
		},
		"private key of 32 bytes (a seed)": {
			describe:  func() error { _, err := keys.DescribePrivate(make([]byte, 32)); return err },
			wantKinds: []string{"ErrKeyLength"},
			wantMsg:   "has 32 bytes; it must have 64",
		},
		"EncodePrivatePEM of nil": {
			describe:  func() error { _, err := keys.EncodePrivatePEM(nil); return err },
			wantKinds: []string{"ErrKeyLength"},
			wantMsg:   "has 0 bytes; it must have 64",
		},
		"EncodePublicPEM of 33 bytes": {
			describe:  func() error { _, err := keys.EncodePublicPEM(make([]byte, 33)); return err },
			wantKinds: []string{"ErrKeyLength"},
			wantMsg:   "has 33 bytes; it must have 32",
		},
		"private key whose public half is not its own": {
			describe:  func() error { _, err := keys.DescribePrivate(inconsistent); return err },
			wantKinds: []string{"ErrCorruptKey"},
			wantMsg:   "public half does not belong to its seed",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := tt.describe()
			if diff := cmp.Diff(tt.wantKinds, kinds(err)); diff != "" {
				t.Errorf("error kinds mismatch (-want +got):\n%s\nerror: %v", diff, err)
			}
			if err != nil && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}

// TestOpenSSL checks our PEMs against OpenSSL both ways: OpenSSL reads our
// PKCS#8 and derives our SPKI; we read OpenSSL's key and derive its SPKI.
func TestOpenSSL(t *testing.T) {
	t.Parallel()
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not on PATH")
	}
	run := func(t *testing.T, args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(t.Context(), openssl, args...).Output()
		if err != nil {
			var stderr string
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return string(out)
	}

	t.Run("OpenSSL reads ours", func(t *testing.T) {
		t.Parallel()
		m, err := keys.NewMaterial(nil)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		priv := filepath.Join(dir, "k.pem")
		pub := filepath.Join(dir, "pub.pem")
		if err := os.WriteFile(priv, []byte(m.PrivatePEM), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(pub, []byte(m.PEM), 0o600); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(m.PEM, run(t, "pkey", "-in", priv, "-pubout")); diff != "" {
			t.Errorf("openssl pkey -pubout of our PKCS#8 differs from our SPKI (-ours +openssl):\n%s", diff)
		}
		if diff := cmp.Diff(m.PEM, run(t, "pkey", "-pubin", "-in", pub)); diff != "" {
			t.Errorf("openssl pkey -pubin of our SPKI differs (-ours +openssl):\n%s", diff)
		}
		if diff := cmp.Diff(m.PrivatePEM, run(t, "pkey", "-in", priv)); diff != "" {
			t.Errorf("openssl pkey re-encoding of our PKCS#8 differs (-ours +openssl):\n%s", diff)
		}
	})

	t.Run("we read OpenSSL's", func(t *testing.T) {
		t.Parallel()
		priv := filepath.Join(t.TempDir(), "k.pem")
		run(t, "genpkey", "-algorithm", "ed25519", "-out", priv)
		privPEM, err := os.ReadFile(priv)
		if err != nil {
			t.Fatal(err)
		}
		pubPEM := run(t, "pkey", "-in", priv, "-pubout")
		key, err := keys.ParsePrivatePEM(string(privPEM))
		if err != nil {
			t.Fatal(err)
		}
		got, err := keys.DescribePrivate(key)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(pubPEM, got.PEM); diff != "" {
			t.Errorf("our SPKI of OpenSSL's key differs from OpenSSL's (-openssl +ours):\n%s", diff)
		}
		if _, err := keys.ParsePublicPEM(pubPEM); err != nil {
			t.Errorf("ParsePublicPEM(OpenSSL SPKI): %v", err)
		}
	})
}

func BenchmarkNewMaterial(b *testing.B) {
	for b.Loop() {
		if _, err := keys.NewMaterial(nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDescribePrivate(b *testing.B) {
	priv := rfcPrivateKey()
	for b.Loop() {
		if _, err := keys.DescribePrivate(priv); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDescribePublic(b *testing.B) {
	pub := rfcPublicKey()
	for b.Loop() {
		if _, err := keys.DescribePublic(pub); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParsePrivatePEM(b *testing.B) {
	for name, s := range map[string]string{"plain": rfcPrivatePEM, "env": rfcPrivateEnv} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := keys.ParsePrivatePEM(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParsePublicPEM(b *testing.B) {
	for b.Loop() {
		if _, err := keys.ParsePublicPEM(rfcPublicPEM); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseDIDKey(b *testing.B) {
	for b.Loop() {
		if _, err := keys.ParseDIDKey(rfcDIDKey); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseMultibase(b *testing.B) {
	for b.Loop() {
		if _, err := keys.ParseMultibase(rfcMultibase); err != nil {
			b.Fatal(err)
		}
	}
}
