package keys_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
)

// Properties shared by every fuzz target: no panic; every error matches a
// sentinel and repeats no stretch of the input (checkError); every success
// re-encodes to a value that parses back to the same key.

// pemSeeds are the fixtures, in their plain and env forms.
func pemSeeds(t testing.TB) []string {
	seeds := []string{
		rfcPrivatePEM, rfcPublicPEM, rfcPrivateEnv, keys.EnvEscape(rfcPublicPEM),
		strings.ReplaceAll(rfcPrivatePEM, "\n", "\r\n"),
		encryptedFixture(t), certificatePEM(), openSSHPEM,
		"", " \n", "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----",
		rfcPrivatePEM + rfcPublicPEM, rfcDIDKey,
	}
	for _, k := range otherKeys() {
		seeds = append(seeds, pemText("PRIVATE KEY", nil, k.pkcs8), pemText("PUBLIC KEY", nil, k.spki))
		if k.legacy != "" {
			seeds = append(seeds, k.legacy, k.encrypted)
		}
	}
	return seeds
}

// x509Block decodes s the way the parsers see it, for a differential check
// against crypto/x509.
func x509Block(t *testing.T, s string) []byte {
	t.Helper()
	block, _ := pem.Decode(bytes.TrimSpace([]byte(keys.EnvUnescape(s))))
	if block == nil {
		t.Fatalf("parser accepted a value pem.Decode refuses")
	}
	return block.Bytes
}

func FuzzParsePrivatePEM(f *testing.F) {
	for _, s := range pemSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		priv, err := keys.ParsePrivatePEM(s)
		if err != nil {
			checkError(t, err, s)
			return
		}
		// crypto/x509 must agree: the package is stricter, never looser.
		k, err := x509.ParsePKCS8PrivateKey(x509Block(t, s))
		if err != nil {
			t.Fatalf("accepted, but x509 refuses: %v", err)
		}
		if x, ok := k.(ed25519.PrivateKey); !ok || !x.Equal(priv) {
			t.Fatalf("x509 reads another key (%T)", k)
		}
		m, err := keys.DescribePrivate(priv)
		if err != nil {
			t.Fatalf("DescribePrivate of a parsed key: %v", err)
		}
		for _, again := range []string{m.PrivatePEM, m.PrivatePEMEnv} {
			got, err := keys.ParsePrivatePEM(again)
			if err != nil || !got.Equal(priv) {
				t.Fatalf("re-encoded key does not parse back: %v", err)
			}
		}
	})
}

func FuzzParsePublicPEM(f *testing.F) {
	for _, s := range pemSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pub, err := keys.ParsePublicPEM(s)
		if err != nil {
			checkError(t, err, s)
			return
		}
		k, err := x509.ParsePKIXPublicKey(x509Block(t, s))
		if err != nil {
			t.Fatalf("accepted, but x509 refuses: %v", err)
		}
		if x, ok := k.(ed25519.PublicKey); !ok || !x.Equal(pub) {
			t.Fatalf("x509 reads another key (%T)", k)
		}
		d, err := keys.DescribePublic(pub)
		if err != nil {
			t.Fatalf("DescribePublic of a parsed key: %v", err)
		}
		for _, again := range []string{d.PEM, keys.EnvEscape(d.PEM)} {
			got, err := keys.ParsePublicPEM(again)
			if err != nil || !got.Equal(pub) {
				t.Fatalf("re-encoded key does not parse back: %v", err)
			}
		}
		if got, err := keys.ParseDIDKey(d.DIDKey); err != nil || !got.Equal(pub) {
			t.Fatalf("did:key of a parsed key does not parse back: %v", err)
		}
	})
}

func FuzzParseDIDKey(f *testing.F) {
	for _, s := range []string{
		rfcDIDKey, rfcMultibase, "did:key:", "did:key:z", "did:web:example.com",
		rfcDIDKey + "#" + rfcMultibase, rfcDIDKey + ":x", "did:key:" + multibaseOf([]byte{0xec, 0x01}, rfcPublicKey()),
		"did:key:" + multibaseOf([]byte{0xed, 0x01}, notAPoint),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pub, err := keys.ParseDIDKey(s)
		if err != nil {
			checkError(t, err, s)
			return
		}
		if got := keys.DIDKey(pub); got != s {
			t.Fatalf("DIDKey(ParseDIDKey(s)) = %q, want s", got)
		}
		if _, err := keys.DescribePublic(pub); err != nil {
			t.Fatalf("DescribePublic of a parsed key: %v", err)
		}
	})
}

func FuzzParseMultibase(f *testing.F) {
	for _, s := range []string{
		rfcMultibase, "z", "z1", "z2", "u" + rfcMultibase[1:], rfcMultibase + "\n",
		multibaseOf([]byte{0x80, 0x24}, rfcPublicKey()), multibaseOf([]byte{0xed, 0x01}, rfcPublicKey()[:31]),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pub, err := keys.ParseMultibase(s)
		if err != nil {
			checkError(t, err, s)
			return
		}
		if got := keys.Multibase(pub); got != s {
			t.Fatalf("Multibase(ParseMultibase(s)) = %q, want s", got)
		}
		if got, err := keys.ParseDIDKey(keys.DIDKeyPrefix + s); err != nil || !got.Equal(pub) {
			t.Fatalf("did:key of the same value does not parse: %v", err)
		}
	})
}

// FuzzEnvRoundTrip checks the env form: always one line, idempotent, reversible
// for values without backslashes, and never changing which key a PEM holds.
func FuzzEnvRoundTrip(f *testing.F) {
	for _, s := range pemSeeds(f) {
		f.Add(s)
	}
	f.Add("a\r\nb\rc\n")
	f.Add(`a\nb\\n`)
	f.Fuzz(func(t *testing.T, s string) {
		e := keys.EnvEscape(s)
		if strings.ContainsAny(e, "\r\n") {
			t.Fatalf("EnvEscape left a line break: %q", e)
		}
		if again := keys.EnvEscape(e); again != e {
			t.Fatalf("EnvEscape is not idempotent: %q then %q", e, again)
		}
		if !strings.Contains(s, `\`) {
			lf := strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
			if got := keys.EnvUnescape(e); got != lf {
				t.Fatalf("EnvUnescape(EnvEscape(s)) = %q, want %q", got, lf)
			}
		}
		if priv, err := keys.ParsePrivatePEM(s); err == nil {
			got, err := keys.ParsePrivatePEM(e)
			if err != nil || !got.Equal(priv) {
				t.Fatalf("the env form of a private key PEM does not parse to the same key: %v", err)
			}
		}
		if pub, err := keys.ParsePublicPEM(s); err == nil {
			got, err := keys.ParsePublicPEM(e)
			if err != nil || !got.Equal(pub) {
				t.Fatalf("the env form of a public key PEM does not parse to the same key: %v", err)
			}
		}
	})
}
