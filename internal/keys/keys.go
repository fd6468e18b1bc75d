// Package keys holds the Ed25519 key logic of the project: generation, PEM
// encoding and parsing, did:key, JWK and RFC 7638 thumbprint, multibase,
// OpenSSH-style fingerprint and the one-line env form the runtime SDK reads from
// CAPISCIO_SERVER_PRIVATE_KEY_PEM.
//
// It is shared by the provider (resource, ephemeral resource, functions) and the
// local registry, and never imports terraform-plugin-framework.
package keys

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"strings"

	"github.com/mr-tron/base58"
)

// PEM block types.
const (
	BlockPrivateKey = "PRIVATE KEY" // PKCS#8
	BlockPublicKey  = "PUBLIC KEY"  // SPKI
)

// DIDKeyPrefix starts every did:key; Ed25519 did:keys continue with "z6Mk".
const DIDKeyPrefix = "did:key:"

// multicodecEd25519 is the multicodec varint prefix for an Ed25519 public key.
var multicodecEd25519 = []byte{0xed, 0x01}

// Generate returns a new Ed25519 private key read from rand (crypto/rand.Reader
// when nil).
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

// EncodePrivatePEM encodes priv as an unencrypted PKCS#8 "PRIVATE KEY" PEM.
func EncodePrivatePEM(priv ed25519.PrivateKey) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", fmt.Errorf("encoding PKCS#8: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: BlockPrivateKey, Bytes: der})), nil
}

// EncodePublicPEM encodes pub as an SPKI "PUBLIC KEY" PEM.
func EncodePublicPEM(pub ed25519.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("encoding SPKI: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: BlockPublicKey, Bytes: der})), nil
}

// EnvEscape turns a PEM into the one-line form with literal `\n` that
// CAPISCIO_SERVER_PRIVATE_KEY_PEM takes (the runtime SDK's first-run hint).
func EnvEscape(s string) string {
	return strings.ReplaceAll(s, "\n", `\n`)
}

// EnvUnescape reverses EnvEscape: literal `\n` (and `\r\n`) become newlines, as
// the runtime SDK does before parsing.
func EnvUnescape(s string) string {
	s = strings.ReplaceAll(s, `\r\n`, "\n")
	return strings.ReplaceAll(s, `\n`, "\n")
}

// DIDKey returns the did:key of pub: "did:key:z" + base58btc(0xed01 || pub).
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

// ParseMultibase decodes an Ed25519 multibase value ("z6Mk...").
func ParseMultibase(s string) (ed25519.PublicKey, error) {
	if !strings.HasPrefix(s, "z") {
		return nil, fmt.Errorf("multibase value must start with %q (base58btc)", "z")
	}
	raw, err := base58.Decode(s[1:])
	if err != nil || len(s) == 1 {
		return nil, fmt.Errorf("multibase value is not valid base58btc")
	}
	if len(raw) < 2 || raw[0] != multicodecEd25519[0] || raw[1] != multicodecEd25519[1] {
		return nil, fmt.Errorf("multibase value is not an Ed25519 key (multicodec prefix 0xed01 missing)")
	}
	if len(raw)-2 != ed25519.PublicKeySize {
		return nil, fmt.Errorf("multibase value holds %d key bytes, an Ed25519 key has %d", len(raw)-2, ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw[2:]), nil
}

// ParseDIDKey returns the Ed25519 public key of a did:key.
func ParseDIDKey(did string) (ed25519.PublicKey, error) {
	if !strings.HasPrefix(did, DIDKeyPrefix) {
		return nil, fmt.Errorf("%q is not a did:key (it must start with %q)", truncate(did), DIDKeyPrefix)
	}
	rest := strings.TrimPrefix(did, DIDKeyPrefix)
	if strings.Contains(rest, ":") {
		return nil, fmt.Errorf("did:key must have exactly three colon-separated parts")
	}
	pub, err := ParseMultibase(rest)
	if err != nil {
		return nil, fmt.Errorf("did:key: %w", err)
	}
	return pub, nil
}

// JWK is a public Ed25519 JSON Web Key (RFC 8037) with kid set to its RFC 7638
// thumbprint.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid,omitempty"`
}

// PublicJWK returns the public JWK of pub, with kid = Thumbprint(pub).
func PublicJWK(pub ed25519.PublicKey) JWK {
	return JWK{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub), Kid: Thumbprint(pub)}
}

// Thumbprint returns the RFC 7638 JWK thumbprint (SHA-256, base64url) of pub.
// The members are the required ones in lexicographic order: crv, kty, x.
func Thumbprint(pub ed25519.PublicKey) string {
	canonical := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// FingerprintSHA256 returns "SHA256:" + unpadded base64 of SHA-256 over the SPKI
// DER of pub, in the OpenSSH style.
func FingerprintSHA256(pub ed25519.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		// MarshalPKIXPublicKey never fails for an ed25519.PublicKey.
		panic(err)
	}
	sum := sha256.Sum256(der)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// Public holds every public encoding of one Ed25519 key.
type Public struct {
	Key         ed25519.PublicKey
	PEM         string // SPKI PEM
	DIDKey      string
	KeyID       string // RFC 7638 thumbprint
	JWK         JWK
	JWKJSON     string
	Multibase   string
	Fingerprint string // SHA256:... of the SPKI DER
}

// DescribePublic computes every public encoding of pub.
func DescribePublic(pub ed25519.PublicKey) (Public, error) {
	pemText, err := EncodePublicPEM(pub)
	if err != nil {
		return Public{}, err
	}
	jwk := PublicJWK(pub)
	jwkJSON, err := json.Marshal(jwk)
	if err != nil {
		return Public{}, fmt.Errorf("encoding JWK: %w", err)
	}
	return Public{
		Key:         pub,
		PEM:         pemText,
		DIDKey:      DIDKey(pub),
		KeyID:       jwk.Kid,
		JWK:         jwk,
		JWKJSON:     string(jwkJSON),
		Multibase:   Multibase(pub),
		Fingerprint: FingerprintSHA256(pub),
	}, nil
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

// DescribePrivate computes every encoding of priv and its public key.
func DescribePrivate(priv ed25519.PrivateKey) (Material, error) {
	pub, ok := priv.Public().(ed25519.PublicKey)
	if !ok {
		return Material{}, fmt.Errorf("private key has no Ed25519 public key")
	}
	public, err := DescribePublic(pub)
	if err != nil {
		return Material{}, err
	}
	privPEM, err := EncodePrivatePEM(priv)
	if err != nil {
		return Material{}, err
	}
	return Material{Public: public, Private: priv, PrivatePEM: privPEM, PrivatePEMEnv: EnvEscape(privPEM)}, nil
}

func truncate(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
