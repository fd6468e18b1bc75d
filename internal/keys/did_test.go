package keys_test

import (
	"bytes"
	"crypto/ed25519"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mr-tron/base58"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
)

// multibaseOf is "z" + base58btc(prefix || key), built without the package.
func multibaseOf(prefix, key []byte) string {
	return "z" + base58.Encode(append(bytes.Clone(prefix), key...))
}

func TestDIDKey(t *testing.T) {
	t.Parallel()

	pub := rfcPublicKey()
	got := struct{ DIDKey, Multibase, ByHand string }{keys.DIDKey(pub), keys.Multibase(pub), multibaseOf([]byte{0xed, 0x01}, pub)}
	want := struct{ DIDKey, Multibase, ByHand string }{rfcDIDKey, rfcMultibase, rfcMultibase}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RFC 8032 test 1 mismatch (-want +got):\n%s", diff)
	}

	for name, parse := range map[string]func() (ed25519.PublicKey, error){
		"ParseDIDKey":    func() (ed25519.PublicKey, error) { return keys.ParseDIDKey(rfcDIDKey) },
		"ParseMultibase": func() (ed25519.PublicKey, error) { return keys.ParseMultibase(rfcMultibase) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := parse()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(pub, got); diff != "" {
				t.Errorf("key mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// multibaseRejects are refused by ParseMultibase and, after "did:key:", by
// ParseDIDKey alike.
func multibaseRejects() map[string]rejectCase {
	pub := rfcPublicKey()
	ed := []byte{0xed, 0x01}
	typo := []byte(rfcMultibase)
	typo[10] = '0'
	return map[string]rejectCase{
		"not z (base64url multibase)": {"u7QHXWpgBgrEKt9VL_tPJZAc6DuFy89qmIyWvAhpo9wdRGg", []string{"ErrMultibasePrefix"}, []string{"z (base58btc)", "z6Mk"}},
		"not z (uppercase Z)":         {"Z" + rfcMultibase[1:], []string{"ErrMultibasePrefix"}, []string{"z (base58btc)"}},
		"z alone":                     {"z", []string{"ErrBase58"}, []string{"no base58btc characters"}},
		"zero (not in alphabet)":      {string(typo), []string{"ErrBase58"}, []string{"character 10", "0, O, I and l"}},
		"lowercase l":                 {rfcMultibase[:20] + "l" + rfcMultibase[21:], []string{"ErrBase58"}, []string{"character 20"}},
		"non-ASCII":                   {rfcMultibase[:5] + "é" + rfcMultibase[5:], []string{"ErrBase58"}, []string{"not valid base58btc"}},
		"space inside":                {rfcMultibase[:5] + " " + rfcMultibase[5:], []string{"ErrBase58"}, []string{"character 5"}},
		"X25519 multicodec":           {multibaseOf([]byte{0xec, 0x01}, pub), []string{"ErrNotEd25519"}, []string{"an X25519 public key", "give an Ed25519 key"}},
		"secp256k1 multicodec":        {multibaseOf([]byte{0xe7, 0x01}, append(bytes.Clone(pub), 2)), []string{"ErrNotEd25519"}, []string{"a secp256k1 public key"}},
		"P-256 multicodec":            {multibaseOf([]byte{0x80, 0x24}, append(bytes.Clone(pub), 3)), []string{"ErrNotEd25519"}, []string{"a P-256 public key"}},
		"RSA multicodec":              {multibaseOf([]byte{0x85, 0x24}, pub), []string{"ErrNotEd25519"}, []string{"an RSA public key"}},
		"Ed25519 private multicodec":  {multibaseOf([]byte{0x80, 0x26}, pub), []string{"ErrNotEd25519"}, []string{"an Ed25519 private key", "never be published"}},
		"unknown multicodec":          {multibaseOf([]byte{0x01, 0x02}, pub), []string{"ErrNotEd25519"}, []string{"multicodec 0x1,"}},
		"no multicodec at all":        {"z2", []string{"ErrNotEd25519"}, []string{"not an Ed25519 public key"}},
		"non-minimal Ed25519 varint":  {multibaseOf([]byte{0xed, 0x81, 0x00}, pub), []string{"ErrNotEd25519"}, []string{"non-minimal"}},
		"31 key bytes":                {multibaseOf(ed, pub[:31]), []string{"ErrKeyLength"}, []string{"holds 31 key bytes; an Ed25519 public key has 32"}},
		"33 key bytes":                {multibaseOf(ed, append(bytes.Clone(pub), 0)), []string{"ErrKeyLength"}, []string{"holds 33 key bytes"}},
		"prefix only":                 {multibaseOf(ed, nil), []string{"ErrKeyLength"}, []string{"holds 0 key bytes"}},
		"far too long":                {"z" + strings.Repeat("2", 500), []string{"ErrKeyLength"}, []string{"500 base58btc characters", "has 47"}},
		"32 bytes, not on the curve":  {multibaseOf(ed, notAPoint), []string{"ErrCorruptKey"}, []string{"not a point on the curve"}},
	}
}

func TestParseMultibase_Rejects(t *testing.T) {
	t.Parallel()

	tests := multibaseRejects()
	tests["empty"] = rejectCase{"", []string{"ErrEmpty"}, []string{"empty"}}
	tests["trailing newline"] = rejectCase{rfcMultibase + "\n", []string{"ErrBase58"}, []string{"whitespace"}}
	tests["a whole did:key"] = rejectCase{rfcDIDKey, []string{"ErrMultibasePrefix"}, []string{"z (base58btc)"}}
	runRejects(t, func(s string) error { _, err := keys.ParseMultibase(s); return err }, tests)
}

func TestParseDIDKey_Rejects(t *testing.T) {
	t.Parallel()

	tests := map[string]rejectCase{}
	for name, c := range multibaseRejects() {
		c.in = keys.DIDKeyPrefix + c.in
		tests[name] = c
	}
	for name, c := range map[string]rejectCase{
		"empty":                      {"", []string{"ErrEmpty"}, []string{"empty"}},
		"trailing newline (did.txt)": {rfcDIDKey + "\n", []string{"ErrDIDKeySyntax"}, []string{"whitespace", "trimspace"}},
		"leading space":              {" " + rfcDIDKey, []string{"ErrDIDKeySyntax"}, []string{"whitespace"}},
		"multibase alone":            {rfcMultibase, []string{"ErrNotDIDKey"}, []string{"not a DID"}},
		"did:web":                    {"did:web:registry.capisc.io:servers:abc", []string{"ErrNotDIDKey"}, []string{`"web" method`}},
		"uppercase method":           {"did:KEY:" + rfcMultibase, []string{"ErrNotDIDKey"}, []string{"does not use the key method"}},
		"method name too long":       {"did:" + strings.Repeat("a", 40) + ":x", []string{"ErrNotDIDKey"}, []string{"does not use the key method"}},
		"DID without method part":    {"did:key", []string{"ErrNotDIDKey"}, []string{"not a DID"}},
		"uppercase scheme":           {"DID:key:" + rfcMultibase, []string{"ErrNotDIDKey"}, []string{"not a DID"}},
		"nothing after did:key:":     {"did:key:", []string{"ErrMultibasePrefix"}, []string{"nothing after did:key:"}},
		"extra colon":                {rfcDIDKey + ":extra", []string{"ErrDIDKeySyntax"}, []string{"more than three colon-separated parts"}},
		"colon inside":               {"did:key:z6Mk:" + rfcMultibase[4:], []string{"ErrDIDKeySyntax"}, []string{"more than three"}},
		"versioned did:key":          {"did:key:1.0:" + rfcMultibase, []string{"ErrDIDKeySyntax"}, []string{"more than three"}},
		"fragment (key id)":          {rfcDIDKey + "#" + rfcMultibase, []string{"ErrDIDKeySyntax"}, []string{"#fragment", "DID URL"}},
		"path":                       {rfcDIDKey + "/path", []string{"ErrDIDKeySyntax"}, []string{`path or query ("/")`}},
		"query":                      {rfcDIDKey + "?service=x", []string{"ErrDIDKeySyntax"}, []string{`path or query ("?")`}},
	} {
		tests[name] = c
	}
	runRejects(t, func(s string) error { _, err := keys.ParseDIDKey(s); return err }, tests)
}
