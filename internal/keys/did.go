package keys

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/mr-tron/base58"
)

// DIDKeyPrefix starts every did:key; Ed25519 did:keys continue with "z6Mk".
const DIDKeyPrefix = "did:key:"

// multicodecEd25519 is the multicodec varint prefix of an Ed25519 public key.
var multicodecEd25519 = []byte{0xed, 0x01}

// multibaseChars is the length of the base58btc text after the "z" of an
// Ed25519 multibase value: 0xed01 || 32 bytes is always 47 base58 digits, so
// the multibase value has 48 characters (counting the z). Longer
// input is refused before it is decoded: base58 decoding is quadratic.
const (
	multibaseChars    = 47
	maxMultibaseChars = 2 * multibaseChars
)

// multicodecNames names the multicodec key codes a did:key may carry
// (multiformats table, "key" tag), so that a wrong key type is reported as such.
var multicodecNames = map[uint64]string{
	0xe7:   "a secp256k1 public key",
	0xea:   "a BLS12-381 G1 public key",
	0xeb:   "a BLS12-381 G2 public key",
	0xec:   "an X25519 public key",
	0x1200: "a P-256 public key",
	0x1201: "a P-384 public key",
	0x1202: "a P-521 public key",
	0x1203: "an Ed448 public key",
	0x1204: "an X448 public key",
	0x1205: "an RSA public key",
	0x1300: "an Ed25519 private key (a private key must never be published)",
	0x1301: "a secp256k1 private key (a private key must never be published)",
	0x1302: "an X25519 private key (a private key must never be published)",
}

// DIDKey returns the did:key of pub: "did:key:z" + base58btc(0xed01 || pub).
// pub must be 32 bytes; DescribePublic checks that.
func DIDKey(pub ed25519.PublicKey) string {
	return DIDKeyPrefix + Multibase(pub)
}

// Multibase returns "z" + base58btc(0xed01 || pub), the publicKeyMultibase of a
// DID document and the method-specific part of the did:key.
func Multibase(pub ed25519.PublicKey) string {
	buf := make([]byte, 0, len(multicodecEd25519)+len(pub))
	buf = append(buf, multicodecEd25519...)
	buf = append(buf, pub...)
	return "z" + base58.Encode(buf)
}

// ParseMultibase decodes an Ed25519 multibase value ("z6Mk..."). The errors
// match ErrEmpty, ErrMultibasePrefix, ErrBase58, ErrNotEd25519, ErrKeyLength,
// ErrCorruptKey (not a curve point) or ErrWeakKey (a point no real key can be).
// On success Multibase(key) == s.
func ParseMultibase(s string) (ed25519.PublicKey, error) {
	if s == "" {
		return nil, fail(ErrEmpty, "the multibase value is empty; give an Ed25519 public key as z6Mk...")
	}
	if strings.TrimSpace(s) != s {
		return nil, fail(ErrBase58, "the multibase value has leading or trailing whitespace; remove it")
	}
	return parseMultibase(s, "the multibase value", "")
}

// ParseDIDKey returns the Ed25519 public key of a did:key, following CORE
// did.Parse: exactly three colon-separated parts, a "z"
// multibase, the 0xed01 multicodec and 32 key bytes. The errors match ErrEmpty,
// ErrNotDIDKey, ErrDIDKeySyntax, ErrMultibasePrefix, ErrBase58, ErrNotEd25519,
// ErrKeyLength, ErrCorruptKey or ErrWeakKey, and quote at most the DID method,
// never the key. On success DIDKey(key) == did.
func ParseDIDKey(did string) (ed25519.PublicKey, error) {
	if did == "" {
		return nil, fail(ErrEmpty, "the DID is empty; give a did:key (did:key:z6Mk...)")
	}
	if strings.TrimSpace(did) != did {
		return nil, fail(ErrDIDKeySyntax, "the did:key has leading or trailing whitespace (a did.txt file often ends with a newline); remove it, for example with trimspace()")
	}
	if !strings.HasPrefix(did, DIDKeyPrefix) {
		method, _, ok := strings.Cut(strings.TrimPrefix(did, "did:"), ":")
		switch {
		case !strings.HasPrefix(did, "did:") || !ok:
			return nil, fail(ErrNotDIDKey, "the value is not a DID; give a did:key (did:key:z6Mk...)")
		case isSafeMethod(method):
			return nil, fail(ErrNotDIDKey, "the DID uses the %q method; a did:key (did:key:z6Mk...) is needed here", method)
		default:
			return nil, fail(ErrNotDIDKey, "the DID does not use the key method; a did:key (did:key:z6Mk...) is needed here")
		}
	}
	rest := did[len(DIDKeyPrefix):]
	if i := strings.IndexAny(rest, ":/?#"); i >= 0 {
		switch rest[i] {
		case ':':
			return nil, fail(ErrDIDKeySyntax, "the did:key has more than three colon-separated parts; give did:key:z6Mk... with nothing after the key")
		case '#':
			return nil, fail(ErrDIDKeySyntax, "the did:key has a #fragment, which makes it a DID URL (a key id); give the DID alone, without # and what follows")
		default:
			return nil, fail(ErrDIDKeySyntax, "the did:key has a path or query (%q), which makes it a DID URL; give the DID alone", rest[i:i+1])
		}
	}
	if rest == "" {
		return nil, fail(ErrMultibasePrefix, "the did:key has nothing after did:key:; give did:key:z6Mk...")
	}
	return parseMultibase(rest, "the did:key", DIDKeyPrefix)
}

// parseMultibase decodes s, a non-empty multibase value without surrounding
// whitespace. what names the whole value in messages, and prefix is what
// precedes s in it.
func parseMultibase(s, what, prefix string) (ed25519.PublicKey, error) {
	if s[0] != 'z' {
		return nil, fail(ErrMultibasePrefix, "%s must start with %sz (base58btc); an Ed25519 key is written %sz6Mk...", what, prefix, prefix)
	}
	body := s[1:]
	switch {
	case body == "":
		return nil, fail(ErrBase58, "%s has no base58btc characters after the z; give the whole key (z6Mk... with %d characters after the z)", what, multibaseChars)
	case len(body) > maxMultibaseChars:
		return nil, fail(ErrKeyLength, "%s has %d base58btc characters after the z; an Ed25519 key has %d", what, len(body), multibaseChars)
	}
	if i := strings.IndexFunc(body, func(r rune) bool { return !isBase58(r) }); i >= 0 {
		return nil, fail(ErrBase58, "%s is not valid base58btc: character %d after the z is not in the alphabet (0, O, I and l are never used); copy the key again", what, i+1)
	}
	raw, err := base58.Decode(body)
	if err != nil {
		// Unreachable after the alphabet check; kept so a library change cannot
		// slip through. The library's message quotes input, so it is dropped.
		return nil, fail(ErrBase58, "%s is not valid base58btc; copy the key again", what)
	}
	if !bytes.HasPrefix(raw, multicodecEd25519) {
		return nil, fail(ErrNotEd25519, "%s is not an Ed25519 public key: it holds %s; give an Ed25519 key (%sz6Mk...), the only type CapiscIO server identities use", what, multicodecName(raw), prefix)
	}
	if n := len(raw) - len(multicodecEd25519); n != ed25519.PublicKeySize {
		return nil, fail(ErrKeyLength, "%s holds %d key bytes; an Ed25519 public key has %d (was it cut or extended?)", what, n, ed25519.PublicKeySize)
	}
	pub := ed25519.PublicKey(raw[len(multicodecEd25519):])
	switch f := checkPoint(pub); f {
	case pointOK:
	case pointNotOnCurve:
		return nil, fail(ErrCorruptKey, "%s holds 32 bytes that are not an Ed25519 public key (not a point on the curve); the key is corrupt, copy it again", what)
	default:
		return nil, weakKeyError(f, what)
	}
	return pub, nil
}

// multicodecName describes the multicodec prefix of raw for an error message.
func multicodecName(raw []byte) string {
	code, n := binary.Uvarint(raw)
	if n <= 0 {
		return "no valid multicodec prefix"
	}
	if name, ok := multicodecNames[code]; ok {
		return name
	}
	if code == 0xed {
		return "a non-minimal multicodec prefix"
	}
	return fmt.Sprintf("the multicodec 0x%x, which is not a key type this provider knows", code)
}

func isBase58(r rune) bool {
	switch {
	case r >= '1' && r <= '9':
		return true
	case r >= 'A' && r <= 'Z':
		return r != 'I' && r != 'O'
	case r >= 'a' && r <= 'z':
		return r != 'l'
	}
	return false
}

// isSafeMethod reports whether a DID method name may be quoted in an error:
// short and made of the characters DID methods use (W3C DID core: [a-z0-9]).
// Short, so that quoting it can never echo a key.
func isSafeMethod(m string) bool {
	if m == "" || len(m) > 15 {
		return false
	}
	for _, r := range m {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}
