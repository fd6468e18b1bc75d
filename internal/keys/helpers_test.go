package keys_test

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
)

// RFC 8032 section 7.1 test 1, the published vector. It is a published
// test vector, the only private key committed in clear.
const (
	rfcSeedHex    = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
	rfcPublicHex  = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
	rfcJWKX       = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	rfcDIDKey     = "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw"
	rfcMultibase  = "z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw"
	rfcSPKIBody   = "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
	rfcPKCS8Body  = "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g"
	rfcPrivatePEM = "-----BEGIN PRIVATE KEY-----\n" + rfcPKCS8Body + "\n-----END PRIVATE KEY-----\n"
	rfcPublicPEM  = "-----BEGIN PUBLIC KEY-----\n" + rfcSPKIBody + "\n-----END PUBLIC KEY-----\n"
	rfcPrivateEnv = `-----BEGIN PRIVATE KEY-----\n` + rfcPKCS8Body + `\n-----END PRIVATE KEY-----\n`
	// RFC 8037 appendix A.3 gives this thumbprint for the same key.
	rfcThumbprint = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
	// Computed with Python cryptography + hashlib over the SPKI DER, and again
	// independently in TestRFC8032Vector.
)

func rfcPrivateKey() ed25519.PrivateKey {
	seed, err := hex.DecodeString(rfcSeedHex)
	if err != nil {
		panic(err)
	}
	return ed25519.NewKeyFromSeed(seed)
}

func rfcPublicKey() ed25519.PublicKey {
	return rfcPrivateKey().Public().(ed25519.PublicKey)
}

// sentinels are all the package's sentinel errors, by name.
var sentinels = map[string]error{
	"ErrEmpty":           keys.ErrEmpty,
	"ErrBadEscape":       keys.ErrBadEscape,
	"ErrNotPEM":          keys.ErrNotPEM,
	"ErrTruncatedPEM":    keys.ErrTruncatedPEM,
	"ErrMalformedPEM":    keys.ErrMalformedPEM,
	"ErrLeadingData":     keys.ErrLeadingData,
	"ErrTrailingData":    keys.ErrTrailingData,
	"ErrSeveralBlocks":   keys.ErrSeveralBlocks,
	"ErrEncrypted":       keys.ErrEncrypted,
	"ErrWrongBlockType":  keys.ErrWrongBlockType,
	"ErrPEMHeaders":      keys.ErrPEMHeaders,
	"ErrNotEd25519":      keys.ErrNotEd25519,
	"ErrCorruptKey":      keys.ErrCorruptKey,
	"ErrWeakKey":         keys.ErrWeakKey,
	"ErrKeyLength":       keys.ErrKeyLength,
	"ErrNotDIDKey":       keys.ErrNotDIDKey,
	"ErrDIDKeySyntax":    keys.ErrDIDKeySyntax,
	"ErrMultibasePrefix": keys.ErrMultibasePrefix,
	"ErrBase58":          keys.ErrBase58,
}

// kinds returns the names of the sentinels err matches, sorted; nil for nil.
func kinds(err error) []string {
	if err == nil {
		return nil
	}
	var names []string
	for name, s := range sentinels {
		if errors.Is(err, s) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// leak returns a 16-character stretch of a base64/base58 run of input that
// msg repeats, or "" when there is none: error messages must never echo key
// material.
func leak(msg, input string) string {
	const window = 16
	isKeyChar := func(r rune) bool {
		return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '+' || r == '/' || r == '_' || r == '-'
	}
	for _, run := range strings.FieldsFunc(keys.EnvUnescape(input), func(r rune) bool { return !isKeyChar(r) }) {
		for i := 0; i+window <= len(run); i++ {
			if strings.Contains(msg, run[i:i+window]) {
				return run[i : i+window]
			}
		}
	}
	return ""
}

// checkError reports a nil error, an error matching no sentinel, and an error
// that echoes input.
func checkError(t testing.TB, err error, input string) {
	t.Helper()
	if err == nil {
		return
	}
	if len(kinds(err)) == 0 {
		t.Errorf("error matches no sentinel: %v", err)
	}
	if l := leak(err.Error(), input); l != "" {
		t.Errorf("error %q repeats input %q", err, l)
	}
}

func pemText(typ string, headers map[string]string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Headers: headers, Bytes: der}))
}

func mustDER(der []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return der
}

// pkcs8 and spki build DER by hand, for algorithms crypto/x509 cannot write and
// for deliberately broken keys.
type pkcs8 struct {
	Version    int
	Algorithm  pkix.AlgorithmIdentifier
	PrivateKey []byte
	PublicKey  asn1.BitString `asn1:"optional,tag:1"`
}

type spki struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

var oidEd25519 = asn1.ObjectIdentifier{1, 3, 101, 112}

func edPKCS8(version int, params []byte, inner []byte, pub []byte) []byte {
	k := pkcs8{Version: version, Algorithm: pkix.AlgorithmIdentifier{Algorithm: oidEd25519}, PrivateKey: inner}
	if params != nil {
		k.Algorithm.Parameters = asn1.RawValue{FullBytes: params}
	}
	if pub != nil {
		k.PublicKey = asn1.BitString{Bytes: pub, BitLength: 8 * len(pub)}
	}
	return mustDER(asn1.Marshal(k))
}

func edSeedOctets(seed []byte) []byte { return mustDER(asn1.Marshal(seed)) }

func edSPKI(params []byte, pub []byte, bits int) []byte {
	k := spki{Algorithm: pkix.AlgorithmIdentifier{Algorithm: oidEd25519}, PublicKey: asn1.BitString{Bytes: pub, BitLength: bits}}
	if params != nil {
		k.Algorithm.Parameters = asn1.RawValue{FullBytes: params}
	}
	return mustDER(asn1.Marshal(k))
}

func otherPKCS8(oid asn1.ObjectIdentifier, keyBytes int) []byte {
	return mustDER(asn1.Marshal(pkcs8{
		Algorithm:  pkix.AlgorithmIdentifier{Algorithm: oid},
		PrivateKey: mustDER(asn1.Marshal(make([]byte, keyBytes))),
	}))
}

func otherSPKI(oid asn1.ObjectIdentifier, keyBytes int) []byte {
	return mustDER(asn1.Marshal(spki{
		Algorithm: pkix.AlgorithmIdentifier{Algorithm: oid},
		PublicKey: asn1.BitString{Bytes: make([]byte, keyBytes), BitLength: 8 * keyBytes},
	}))
}

// notAPoint is 32 bytes that do not decode to a point on the Ed25519 curve.
// (y = 2 has no x: (y²-1)/(dy²+1) is not a square mod p.)
var notAPoint = func() ed25519.PublicKey {
	b := make([]byte, 32)
	b[0] = 2
	return b
}()

// otherKey is a key of another type, generated for the test: nothing private
// is committed.
type otherKey struct {
	pkcs8, spki []byte // DER
	legacy      string // PEM in the pre-PKCS#8 format, if the type has one
	encrypted   string // legacy PEM with Proc-Type: 4,ENCRYPTED
	found       string // what the error must say it found
}

var otherKeys = sync.OnceValue(func() map[string]otherKey {
	out := map[string]otherKey{}

	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		panic(err)
	}
	rsaPKCS1 := x509.MarshalPKCS1PrivateKey(rsaKey)
	out["RSA"] = otherKey{
		pkcs8:     mustDER(x509.MarshalPKCS8PrivateKey(rsaKey)),
		spki:      mustDER(x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)),
		legacy:    pemText("RSA PRIVATE KEY", nil, rsaPKCS1),
		encrypted: legacyEncrypted("RSA PRIVATE KEY", rsaPKCS1),
		found:     "found an RSA key",
	}

	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	sec1 := mustDER(x509.MarshalECPrivateKey(ecKey))
	out["ECDSA P-256"] = otherKey{
		pkcs8:     mustDER(x509.MarshalPKCS8PrivateKey(ecKey)),
		spki:      mustDER(x509.MarshalPKIXPublicKey(&ecKey.PublicKey)),
		legacy:    pemText("EC PRIVATE KEY", nil, sec1),
		encrypted: legacyEncrypted("EC PRIVATE KEY", sec1),
		found:     "found an ECDSA P-256 key",
	}

	p384, err := ecdh.P384().GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	out["ECDH P-384"] = otherKey{
		pkcs8: mustDER(x509.MarshalPKCS8PrivateKey(p384)),
		spki:  mustDER(x509.MarshalPKIXPublicKey(p384.PublicKey())),
		found: "found an ECDSA P-384 key",
	}

	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	out["X25519"] = otherKey{
		pkcs8: mustDER(x509.MarshalPKCS8PrivateKey(x25519)),
		spki:  mustDER(x509.MarshalPKIXPublicKey(x25519.PublicKey())),
		found: "found an X25519 key",
	}

	ed448 := asn1.ObjectIdentifier{1, 3, 101, 113}
	out["Ed448"] = otherKey{pkcs8: otherPKCS8(ed448, 57), spki: otherSPKI(ed448, 57), found: "found an Ed448 key"}

	unknown := asn1.ObjectIdentifier{1, 2, 3, 4}
	out["unknown algorithm"] = otherKey{pkcs8: otherPKCS8(unknown, 32), spki: otherSPKI(unknown, 32), found: "found a key of another algorithm (OID 1.2.3.4)"}
	return out
})

// legacyEncrypted writes an RFC 1421 encrypted block, as `openssl rsa -aes256`
// does.
func legacyEncrypted(typ string, der []byte) string {
	//nolint:staticcheck // SA1019: deprecated because the format is weak, which is why parsers must refuse it; it writes exactly the format under test.
	block, err := x509.EncryptPEMBlock(rand.Reader, typ, der, []byte("x"), x509.PEMCipherAES256)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(block))
}

// certificatePEM is a self-signed certificate for the RFC vector key.
var certificatePEM = sync.OnceValue(func() string {
	priv := rfcPrivateKey()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "test"},
		NotBefore:    time.Unix(0, 0),
		NotAfter:     time.Unix(1<<31, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		panic(err)
	}
	return pemText("CERTIFICATE", nil, der)
})

// openSSHPEM has the armor of an OpenSSH private key; only the type matters.
var openSSHPEM = pemText("OPENSSH PRIVATE KEY", nil, append([]byte("openssh-key-v1\x00"), make([]byte, 64)...))
