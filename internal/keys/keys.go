// Package keys holds the Ed25519 key logic of the project: generation, PEM
// encoding and parsing, did:key, JWK and RFC 7638 thumbprint (go-jose),
// multibase and the one-line env form the runtime SDK reads from
// CAPISCIO_SERVER_PRIVATE_KEY_PEM.
//
// It is shared by the provider (resource, ephemeral resource, functions) and the
// local registry, and never imports terraform-plugin-framework.
//
// Errors from the parsers, encoders and Describe functions match one or more of
// the Err* sentinels with errors.Is, say what to do, and never quote key
// material, so they are safe to show in diagnostics. The functions that take an
// ed25519.PublicKey and return no error (DIDKey, Multibase, PublicJWK,
// Thumbprint) expect the 32 bytes of a valid key; use
// DescribePublic to check a key of unknown origin.
package keys

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// PEM block types. They stay untyped string constants (rather than a named
// type) because their one use is as pem.Block.Type, a string;
// each kind of key has exactly one accepted format, so there is no list to
// validate against.
const (
	BlockPrivateKey = "PRIVATE KEY" // PKCS#8 (RFC 5958), unencrypted
	BlockPublicKey  = "PUBLIC KEY"  // SPKI (RFC 5280)
)

// Generate returns a new Ed25519 private key whose seed is read from r
// (crypto/rand when nil; a fixed reader gives a fixed key, for tests).
func Generate(r io.Reader) (ed25519.PrivateKey, error) {
	if r == nil {
		r = rand.Reader
	}
	_, priv, err := ed25519.GenerateKey(r)
	if err != nil {
		return nil, fmt.Errorf("generating Ed25519 key: %w", err)
	}
	return priv, nil
}

// EncodePrivatePEM encodes priv as an unencrypted PKCS#8 "PRIVATE KEY" PEM
// (version 1, no public key inside, as OpenSSL and the Python SDK write it).
func EncodePrivatePEM(priv ed25519.PrivateKey) (string, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return "", fail(ErrKeyLength, "the Ed25519 private key has %d bytes; it must have %d (seed and public key)", len(priv), ed25519.PrivateKeySize)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", fmt.Errorf("encoding PKCS#8: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: BlockPrivateKey, Bytes: der})), nil
}

// EncodePublicPEM encodes pub as an SPKI "PUBLIC KEY" PEM.
func EncodePublicPEM(pub ed25519.PublicKey) (string, error) {
	if len(pub) != ed25519.PublicKeySize {
		return "", fail(ErrKeyLength, "the Ed25519 public key has %d bytes; it must have %d", len(pub), ed25519.PublicKeySize)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("encoding SPKI: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: BlockPublicKey, Bytes: der})), nil
}

// envEscaper writes every line break (LF, CRLF or a lone CR) as a literal `\n`.
var envEscaper = strings.NewReplacer("\r\n", `\n`, "\r", `\n`, "\n", `\n`)

// EnvEscape turns a PEM into the one-line form with literal `\n` that
// CAPISCIO_SERVER_PRIVATE_KEY_PEM takes (the runtime SDK's first-run hint). Any
// line break, CRLF and lone CR included, becomes `\n`, so the result is always
// one line. Backslashes already in s are left alone (a PEM has none).
func EnvEscape(s string) string {
	return envEscaper.Replace(s)
}

// EnvUnescape reverses EnvEscape: literal `\n` (and `\r\n`) become newlines, as
// the runtime SDK does before parsing. For a string with no backslash,
// EnvUnescape(EnvEscape(s)) is s with its line breaks written as LF.
func EnvUnescape(s string) string {
	s = strings.ReplaceAll(s, `\r\n`, "\n")
	return strings.ReplaceAll(s, `\n`, "\n")
}

// PublicJWK returns the public JWK of pub (RFC 8037: kty OKP, crv Ed25519,
// x), with kid = Thumbprint(pub).
func PublicJWK(pub ed25519.PublicKey) jose.JSONWebKey {
	return jose.JSONWebKey{Key: pub, KeyID: Thumbprint(pub)}
}

// Thumbprint returns the RFC 7638 JWK thumbprint (SHA-256, base64url) of pub.
func Thumbprint(pub ed25519.PublicKey) string {
	sum, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		// go-jose refuses only a key of another type or length; callers pass
		// the 32 bytes of a key (see the package comment).
		panic(fmt.Sprintf("keys: thumbprint of a %d-byte key: %v", len(pub), err))
	}
	return base64.RawURLEncoding.EncodeToString(sum)
}

// Public holds the public encodings of one Ed25519 key the provider uses.
type Public struct {
	Key    ed25519.PublicKey
	PEM    string // SPKI PEM
	DIDKey string
	KeyID  string // RFC 7638 thumbprint
}

// DescribePublic computes every public encoding of pub. It refuses a key that
// is not 32 bytes (ErrKeyLength), not a point on the curve (ErrCorruptKey), or
// a point no real key can be (ErrWeakKey: small or mixed order, or not
// canonically encoded). Key is a copy of pub.
func DescribePublic(pub ed25519.PublicKey) (Public, error) {
	if len(pub) != ed25519.PublicKeySize {
		return Public{}, fail(ErrKeyLength, "the Ed25519 public key has %d bytes; it must have %d", len(pub), ed25519.PublicKeySize)
	}
	switch f := checkPoint(pub); f {
	case pointOK:
	case pointNotOnCurve:
		return Public{}, fail(ErrCorruptKey, "the 32 bytes are not an Ed25519 public key (not a point on the curve)")
	default:
		return Public{}, weakKeyError(f, "the public key")
	}
	pub = bytes.Clone(pub)
	pemText, err := EncodePublicPEM(pub)
	if err != nil {
		return Public{}, err
	}
	return Public{Key: pub, PEM: pemText, DIDKey: DIDKey(pub), KeyID: Thumbprint(pub)}, nil
}

// Material is a private key with every encoding the provider exports. The
// resource's generate mode and the ephemeral resource both build it with
// NewMaterial or DescribePrivate: one builder, no twin.
type Material struct {
	Public
	Private       ed25519.PrivateKey
	PrivatePEM    string // PKCS#8 PEM
	PrivatePEMEnv string // the same, one line with literal \n
}

// NewMaterial generates a key (from rand; crypto/rand when nil) and describes it.
func NewMaterial(r io.Reader) (Material, error) {
	priv, err := Generate(r)
	if err != nil {
		return Material{}, err
	}
	return DescribePrivate(priv)
}

// DescribePrivate computes every encoding of priv and its public key. It
// refuses a key that is not 64 bytes (ErrKeyLength) or whose second half is not
// the public key of its seed (ErrCorruptKey): ed25519.Sign trusts that half, so
// such a key would sign with a public key nobody can verify against.
func DescribePrivate(priv ed25519.PrivateKey) (Material, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return Material{}, fail(ErrKeyLength, "the Ed25519 private key has %d bytes; it must have %d (seed and public key)", len(priv), ed25519.PrivateKeySize)
	}
	canonical := ed25519.NewKeyFromSeed(priv.Seed())
	if !bytes.Equal(canonical, priv) {
		return Material{}, fail(ErrCorruptKey, "the Ed25519 private key is inconsistent: its public half does not belong to its seed")
	}
	pub, _ := canonical.Public().(ed25519.PublicKey) // always an ed25519.PublicKey
	// A key derived from a seed is [s]B, canonically encoded: it always
	// passes the point check, so its costly part is skipped.
	goodPoints.add(pub)
	public, err := DescribePublic(pub)
	if err != nil {
		return Material{}, err
	}
	privPEM, err := EncodePrivatePEM(canonical)
	if err != nil {
		return Material{}, err
	}
	return Material{Public: public, Private: canonical, PrivatePEM: privPEM, PrivatePEMEnv: EnvEscape(privPEM)}, nil
}
