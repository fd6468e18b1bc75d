package keys

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"strings"
)

// What each parser asks for, in its messages.
const (
	wantPrivate = "an Ed25519 private key as an unencrypted PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)"
	wantPublic  = "an Ed25519 public key as an SPKI PEM (-----BEGIN PUBLIC KEY-----)"
)

// Block types this package recognises by name. Only these are quoted in
// messages: an unknown type is text from the input and could be anything.
const (
	blockEncryptedPrivateKey = "ENCRYPTED PRIVATE KEY"
	blockRSAPrivateKey       = "RSA PRIVATE KEY"
	blockECPrivateKey        = "EC PRIVATE KEY"
	blockDSAPrivateKey       = "DSA PRIVATE KEY"
	blockOpenSSHPrivateKey   = "OPENSSH PRIVATE KEY"
	blockRSAPublicKey        = "RSA PUBLIC KEY"
	blockCertificate         = "CERTIFICATE"
	blockTrustedCertificate  = "TRUSTED CERTIFICATE"
)

var knownBlockTypes = map[string]bool{
	BlockPrivateKey: true, BlockPublicKey: true, blockEncryptedPrivateKey: true,
	blockRSAPrivateKey: true, blockECPrivateKey: true, blockDSAPrivateKey: true,
	blockOpenSSHPrivateKey: true, blockRSAPublicKey: true, blockCertificate: true,
	blockTrustedCertificate: true, "X509 CERTIFICATE": true, "CERTIFICATE REQUEST": true,
	"NEW CERTIFICATE REQUEST": true, "X509 CRL": true, "PKCS7": true, "CMS": true,
	"EC PARAMETERS": true, "DH PARAMETERS": true, "DSA PARAMETERS": true,
	"PGP PUBLIC KEY BLOCK": true, "PGP PRIVATE KEY BLOCK": true, "PGP MESSAGE": true,
	"PGP SIGNATURE": true, "SSH2 ENCRYPTED PRIVATE KEY": true,
}

// legacyPrivate names the key inside the pre-PKCS#8 private key blocks. None of
// these formats can hold an Ed25519 key.
var legacyPrivate = map[string]string{
	blockRSAPrivateKey: "an RSA key (PKCS#1)",
	blockECPrivateKey:  "an EC key (SEC 1)",
	blockDSAPrivateKey: "a DSA key",
}

const generateHint = "create an Ed25519 key with `openssl genpkey -algorithm ed25519 -out key.pem`, or let the provider generate one"

// ParsePrivatePEM parses an unencrypted PKCS#8 "PRIVATE KEY" PEM holding an
// Ed25519 key. It takes the PEM as written (LF or CRLF line breaks) or in the
// one-line env form with literal `\n` (with or without a final `\n`), with any
// whitespace around it. A PKCS#8 version 2 key is accepted when the public key
// stored in it belongs to the private key.
func ParsePrivatePEM(s string) (ed25519.PrivateKey, error) {
	block, err := decodeSingleBlock(s, wantPrivate)
	if err != nil {
		return nil, err
	}
	if err := checkPrivateBlock(block); err != nil {
		return nil, err
	}
	return parsePKCS8(block.Bytes)
}

// ParsePublicPEM parses an SPKI "PUBLIC KEY" PEM holding an Ed25519 key, in the
// same forms as ParsePrivatePEM. A private key is refused: it does not belong
// where a public key is expected. So is a key that is not a curve point
// (ErrCorruptKey) or a point no real key can be (ErrWeakKey: small or mixed
// order, or not canonically encoded).
func ParsePublicPEM(s string) (ed25519.PublicKey, error) {
	block, err := decodeSingleBlock(s, wantPublic)
	if err != nil {
		return nil, err
	}
	if err := checkPublicBlock(block); err != nil {
		return nil, err
	}
	return parseSPKI(block.Bytes)
}

var (
	beginMarker = []byte("-----BEGIN ")
	endMarker   = []byte("-----END ")
	dashes      = []byte("-----")
)

// decodeSingleBlock decodes exactly one PEM block, rejecting text before it,
// data after it and further blocks. Surrounding whitespace is allowed, and so is
// the env form with literal `\n`. want describes the expected input.
func decodeSingleBlock(s, want string) (*pem.Block, error) {
	// A PEM holds no backslash (base64, armor and header lines have none), so
	// unescaping cannot change a plain PEM.
	if strings.Contains(s, `\`) {
		s = EnvUnescape(s)
		if strings.Contains(s, `\`) {
			return nil, fail(ErrBadEscape, "the PEM has a backslash that is not part of a \\n escape (a \\\\n means the value was escaped twice); give the PEM with real line breaks, or as one line with \\n in place of each line break")
		}
	}
	data := bytes.TrimSpace([]byte(s))
	if len(data) == 0 {
		return nil, fail(ErrEmpty, "the value is empty; give %s", want)
	}
	begin := bytes.Index(data, beginMarker)
	if begin < 0 {
		return nil, notPEM(data, want)
	}
	if begin > 0 {
		return nil, fail(ErrLeadingData, "the PEM has text before its -----BEGIN line%s; remove everything before -----BEGIN", leadingHint(data[:begin]))
	}
	if bytes.Count(data, beginMarker) > 1 {
		return nil, fail(ErrSeveralBlocks, "the value holds more than one PEM block (several -----BEGIN lines); give exactly one: %s", want)
	}
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, diagnose(data)
	}
	if len(rest) > 0 {
		hint := ""
		if rest[0] == '"' || rest[0] == '\'' {
			hint = " (a quote: remove the quotes around the value)"
		}
		return nil, fail(ErrTrailingData, "the PEM has text after its -----END line%s; remove everything after the -----END line", hint)
	}
	if len(block.Bytes) == 0 {
		return nil, fail(ErrTruncatedPEM, "the PEM has nothing between its BEGIN and END lines; copy the whole key")
	}
	return block, nil
}

// notPEM explains a value that has no BEGIN line.
func notPEM(data []byte, want string) error {
	switch {
	case bytes.Contains(data, endMarker):
		return fail(ErrTruncatedPEM, "the PEM has an -----END line but no -----BEGIN line: its start was cut off; copy the whole key")
	case bytes.HasPrefix(data, []byte("ssh-")) || bytes.HasPrefix(data, []byte("ecdsa-sha2-")):
		return fail(ErrNotPEM, "the value is an OpenSSH public key line, not a PEM; give %s", want)
	case bytes.HasPrefix(data, []byte("---- BEGIN SSH2")):
		return fail(ErrNotPEM, "the value is an SSH2 (RFC 4716) key, not a PEM; give %s", want)
	case data[0] == '{':
		return fail(ErrNotPEM, "the value looks like JSON (a JWK?), not a PEM; give %s", want)
	case bytes.HasPrefix(data, []byte("did:")):
		return fail(ErrNotPEM, "the value is a DID, not a PEM; give %s", want)
	case isBareBase64(data):
		return fail(ErrNotPEM, "the value looks like a bare base64 body without its -----BEGIN and -----END lines; add them: %s", want)
	}
	return fail(ErrNotPEM, "the value is not PEM (no -----BEGIN line); give %s", want)
}

// leadingHint guesses what the text before the BEGIN line is.
func leadingHint(lead []byte) string {
	lead = bytes.TrimSpace(lead)
	switch {
	case bytes.HasPrefix(lead, []byte("\uFEFF")):
		return " (a byte-order mark: save the file as UTF-8 without BOM)"
	case bytes.Equal(lead, []byte(`"`)) || bytes.Equal(lead, []byte(`'`)):
		return " (a quote: remove the quotes around the value)"
	case isAssignment(lead):
		return " (it looks like NAME=value: give the value only)"
	}
	return ""
}

// isAssignment reports whether lead is `NAME=`, `NAME="` or `export NAME=`, as
// copied from a .env file or a shell script.
func isAssignment(lead []byte) bool {
	lead = bytes.TrimPrefix(lead, []byte("export "))
	lead = bytes.TrimRight(lead, `"'`)
	name, ok := bytes.CutSuffix(lead, []byte("="))
	if !ok || len(name) == 0 {
		return false
	}
	for i, c := range name {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// diagnose explains a value that starts with the only BEGIN line and that
// pem.Decode refused.
func diagnose(data []byte) error {
	first, rest := cutLine(data)
	typ, ok := armorType(first, beginMarker)
	if !ok {
		if bytes.Contains(first[len(beginMarker):], dashes) {
			return fail(ErrMalformedPEM, "the -----BEGIN line runs on into the key: the line breaks were lost (replaced by spaces?); give the PEM with its line breaks, or as one line with \\n in place of each line break")
		}
		return fail(ErrMalformedPEM, "the -----BEGIN line is malformed (it must be -----BEGIN <TYPE>----- on a line of its own); copy the key again")
	}
	i := bytes.Index(rest, endMarker)
	if i < 0 {
		return fail(ErrTruncatedPEM, "the PEM has no -----END line: it was cut off; copy the whole key, up to and including its -----END line")
	}
	if i > 0 && rest[i-1] != '\n' {
		return fail(ErrMalformedPEM, "the -----END line does not start a line of its own (line breaks lost, or indented lines); give the PEM with each line starting at the margin")
	}
	endLine, _ := cutLine(rest[i:])
	endTyp, ok := armorType(endLine, endMarker)
	switch {
	case !ok && bytes.Contains(endLine[len(endMarker):], dashes):
		return fail(ErrTrailingData, "the PEM has text after its -----END line, on the same line; remove it")
	case !ok:
		return fail(ErrMalformedPEM, "the -----END line is malformed (it must be -----END <TYPE>-----); copy the key again")
	case endTyp != typ:
		return fail(ErrMalformedPEM, "the -----BEGIN and -----END lines name different block types; copy the key again")
	}
	return fail(ErrTruncatedPEM, "the base64 body of the PEM does not decode: characters were cut, lost or changed; copy the whole key again")
}

// cutLine splits data after its first line break; line has no \r or \n.
func cutLine(data []byte) (line, rest []byte) {
	line, rest, _ = bytes.Cut(data, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r")), rest
}

// armorType returns TYPE from a "<marker>TYPE-----" line (trailing blanks
// allowed, as pem.Decode allows them).
func armorType(line, marker []byte) (string, bool) {
	line = bytes.TrimRight(line, " \t")
	if !bytes.HasPrefix(line, marker) || !bytes.HasSuffix(line, dashes) || len(line) < len(marker)+len(dashes) {
		return "", false
	}
	typ := line[len(marker) : len(line)-len(dashes)]
	if bytes.Contains(typ, dashes) {
		return "", false // two armor lines run together
	}
	return string(typ), true
}

func isBareBase64(data []byte) bool {
	n := 0
	for _, c := range data {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/', c == '=':
			n++
		case c == ' ', c == '\t', c == '\r', c == '\n':
		default:
			return false
		}
	}
	return n >= 40
}

// describeType names a block type for a message: quoted when known, else not
// at all (an unknown type is arbitrary input).
func describeType(t string) string {
	if knownBlockTypes[t] {
		return fmt.Sprintf("of type %q", t)
	}
	return "of a type this provider does not know"
}

// isLegacyEncrypted reports an RFC 1421 encrypted block (Proc-Type: 4,ENCRYPTED
// and DEK-Info headers), as OpenSSL's traditional format writes it.
func isLegacyEncrypted(b *pem.Block) bool {
	_, dek := b.Headers["DEK-Info"]
	return dek || strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED")
}

func checkPrivateBlock(b *pem.Block) error {
	encrypted := isLegacyEncrypted(b)
	switch b.Type {
	case BlockPrivateKey:
		if encrypted {
			return fail(ErrEncrypted, "the PEM is encrypted (Proc-Type: 4,ENCRYPTED header); give it unencrypted: openssl pkey -in key.pem -out plain.pem (it asks for the passphrase; keep plain.pem as secret as the key)")
		}
		if len(b.Headers) > 0 {
			return fail(ErrPEMHeaders, "the PEM has header lines (Name: value) after its -----BEGIN line; an unencrypted PKCS#8 key has none: remove them")
		}
		return nil
	case blockEncryptedPrivateKey:
		return fail(ErrEncrypted, "the PEM is an encrypted PKCS#8 key (-----BEGIN ENCRYPTED PRIVATE KEY-----); decrypt it first: openssl pkey -in key.pem -out plain.pem (it asks for the passphrase; keep plain.pem as secret as the key)")
	case blockRSAPrivateKey, blockECPrivateKey, blockDSAPrivateKey:
		if encrypted {
			return failBoth(ErrNotEd25519, ErrEncrypted, "the PEM is an encrypted legacy %q block holding %s; CapiscIO server identities use Ed25519 only, so decrypting it would not help: %s", b.Type, legacyPrivate[b.Type], generateHint)
		}
		return fail(ErrNotEd25519, "the key is not an Ed25519 key: found %s in a legacy %q block; CapiscIO server identities use Ed25519 only: %s", legacyPrivate[b.Type], b.Type, generateHint)
	case blockOpenSSHPrivateKey:
		return fail(ErrWrongBlockType, "the PEM is an OpenSSH private key (-----BEGIN OPENSSH PRIVATE KEY-----); only PKCS#8 is accepted, and openssl cannot convert OpenSSH's format: %s", generateHint)
	case BlockPublicKey, blockRSAPublicKey:
		return fail(ErrWrongBlockType, "the PEM is a public key (-----BEGIN %s-----), but a private key is needed here; give %s", b.Type, wantPrivate)
	case blockCertificate, blockTrustedCertificate:
		return fail(ErrWrongBlockType, "the PEM is a certificate, which holds no private key; give %s", wantPrivate)
	}
	return fail(ErrWrongBlockType, "the PEM block is %s; give %s", describeType(b.Type), wantPrivate)
}

func checkPublicBlock(b *pem.Block) error {
	switch b.Type {
	case BlockPublicKey:
		if len(b.Headers) > 0 {
			return fail(ErrPEMHeaders, "the PEM has header lines (Name: value) after its -----BEGIN line; an SPKI public key has none: remove them")
		}
		return nil
	case blockRSAPublicKey:
		return fail(ErrNotEd25519, "the key is not an Ed25519 key: found an RSA key (PKCS#1); CapiscIO server identities use Ed25519 only")
	case BlockPrivateKey, blockEncryptedPrivateKey, blockRSAPrivateKey, blockECPrivateKey, blockDSAPrivateKey:
		return fail(ErrWrongBlockType, "the PEM is a private key (-----BEGIN %s-----), but only a public key belongs here; give its public key instead (openssl pkey -in key.pem -pubout), and keep the private key out of this value", b.Type)
	case blockOpenSSHPrivateKey:
		return fail(ErrWrongBlockType, "the PEM is an OpenSSH private key, but only a public key belongs here; give %s, and keep the private key out of this value", wantPublic)
	case blockCertificate, blockTrustedCertificate:
		return fail(ErrWrongBlockType, "the PEM is a certificate; give the Ed25519 public key inside it as an SPKI PEM (-----BEGIN PUBLIC KEY-----), which `openssl x509 -in cert.pem -pubkey -noout` prints")
	}
	return fail(ErrWrongBlockType, "the PEM block is %s; give %s", describeType(b.Type), wantPublic)
}

// oneAsymmetricKey is PKCS#8 (RFC 5208) and its version 2 (RFC 5958), which
// may carry the public key. crypto/x509 ignores that public key; parsePKCS8
// checks it.
type oneAsymmetricKey struct {
	Version    int
	Algorithm  pkix.AlgorithmIdentifier
	PrivateKey []byte
	Attributes asn1.RawValue  `asn1:"optional,tag:0"`
	PublicKey  asn1.BitString `asn1:"optional,tag:1"`
}

// subjectPublicKeyInfo is SPKI (RFC 5280 section 4.1).
type subjectPublicKeyInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

// parsePKCS8 decodes an Ed25519 PKCS#8 key (RFC 8410 section 7). It is
// stricter than x509.ParsePKCS8PrivateKey: no bytes after the structure, and a
// stored public key must match. Everything it accepts, x509 accepts too
// (FuzzParsePrivatePEM checks that).
func parsePKCS8(der []byte) (ed25519.PrivateKey, error) {
	var k oneAsymmetricKey
	rest, err := asn1.Unmarshal(der, &k)
	if err != nil {
		var spki subjectPublicKeyInfo
		if rest, err := asn1.Unmarshal(der, &spki); err == nil && len(rest) == 0 {
			return nil, fail(ErrWrongBlockType, "the PEM says PRIVATE KEY but holds a public key (SPKI); give %s", wantPrivate)
		}
		return nil, fail(ErrCorruptKey, "the PEM body is not a PKCS#8 private key (its DER does not decode): the key is damaged; export it again as %s", wantPrivate)
	}
	if len(rest) > 0 {
		return nil, fail(ErrCorruptKey, "the PEM body has %d extra bytes after the PKCS#8 key: the key is damaged; export it again", len(rest))
	}
	if !k.Algorithm.Algorithm.Equal(oidEd25519) {
		return nil, fail(ErrNotEd25519, "the key is not an Ed25519 key: found %s in the PKCS#8 block; CapiscIO server identities use Ed25519 only: %s", algorithmName(k.Algorithm), generateHint)
	}
	if k.Version != 0 && k.Version != 1 {
		return nil, fail(ErrCorruptKey, "the PKCS#8 key has version %d; only versions 1 and 2 (0 and 1 on the wire) exist: the key is damaged", k.Version)
	}
	if len(k.Algorithm.Parameters.FullBytes) != 0 {
		return nil, fail(ErrCorruptKey, "the Ed25519 PKCS#8 key has algorithm parameters, which RFC 8410 forbids: the key is damaged; export it again")
	}
	var seed []byte
	if rest, err := asn1.Unmarshal(k.PrivateKey, &seed); err != nil || len(rest) > 0 {
		return nil, fail(ErrCorruptKey, "the Ed25519 private key inside the PKCS#8 structure is not an OCTET STRING: the key is damaged; export it again")
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fail(ErrKeyLength, "the Ed25519 private key inside the PKCS#8 structure has %d bytes; it must have %d: the key is damaged; export it again", len(seed), ed25519.SeedSize)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	if k.PublicKey.BitLength != 0 || len(k.PublicKey.Bytes) != 0 {
		if k.PublicKey.BitLength != 8*ed25519.PublicKeySize || !bytes.Equal(k.PublicKey.Bytes, priv[ed25519.SeedSize:]) {
			return nil, fail(ErrCorruptKey, "the public key stored in the PKCS#8 key does not belong to its private key: the key is damaged; export it again")
		}
	}
	return priv, nil
}

// parseSPKI decodes an Ed25519 SPKI public key (RFC 8410 section 4).
func parseSPKI(der []byte) (ed25519.PublicKey, error) {
	var k subjectPublicKeyInfo
	rest, err := asn1.Unmarshal(der, &k)
	if err != nil {
		var priv oneAsymmetricKey
		if rest, err := asn1.Unmarshal(der, &priv); err == nil && len(rest) == 0 {
			return nil, fail(ErrWrongBlockType, "the PEM says PUBLIC KEY but holds a private key (PKCS#8), which does not belong here; give its public key instead (openssl pkey -in key.pem -pubout)")
		}
		return nil, fail(ErrCorruptKey, "the PEM body is not an SPKI public key (its DER does not decode): the key is damaged; export it again as %s", wantPublic)
	}
	if len(rest) > 0 {
		return nil, fail(ErrCorruptKey, "the PEM body has %d extra bytes after the SPKI public key: the key is damaged; export it again", len(rest))
	}
	if !k.Algorithm.Algorithm.Equal(oidEd25519) {
		return nil, fail(ErrNotEd25519, "the key is not an Ed25519 key: found %s in the SPKI block; CapiscIO server identities use Ed25519 only", algorithmName(k.Algorithm))
	}
	if len(k.Algorithm.Parameters.FullBytes) != 0 {
		return nil, fail(ErrCorruptKey, "the Ed25519 SPKI public key has algorithm parameters, which RFC 8410 forbids: the key is damaged; export it again")
	}
	if k.PublicKey.BitLength != 8*ed25519.PublicKeySize {
		return nil, fail(ErrKeyLength, "the Ed25519 SPKI public key has %d bits; it must have %d: the key is damaged; export it again", k.PublicKey.BitLength, 8*ed25519.PublicKeySize)
	}
	pub := ed25519.PublicKey(k.PublicKey.Bytes)
	switch f := checkPoint(pub); f {
	case pointOK:
	case pointNotOnCurve:
		return nil, fail(ErrCorruptKey, "the SPKI public key's 32 bytes are not an Ed25519 public key (not a point on the curve): the key is damaged; export it again")
	default:
		return nil, weakKeyError(f, "the SPKI public key")
	}
	return pub, nil
}

// Algorithm identifiers (RFC 8410, RFC 3279, RFC 5480, RFC 4055, FIPS 204/203).
var (
	oidEd25519 = asn1.ObjectIdentifier{1, 3, 101, 112}
	oidEC      = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}

	algorithmNames = []struct {
		oid  asn1.ObjectIdentifier
		name string
	}{
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}, "an RSA key"},
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}, "an RSA-PSS key"},
		{asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 1}, "a DSA key"},
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 3, 1}, "a Diffie-Hellman key"},
		{asn1.ObjectIdentifier{1, 2, 840, 10046, 2, 1}, "a Diffie-Hellman (X9.42) key"},
		{asn1.ObjectIdentifier{1, 3, 101, 110}, "an X25519 key"},
		{asn1.ObjectIdentifier{1, 3, 101, 111}, "an X448 key"},
		{asn1.ObjectIdentifier{1, 3, 101, 113}, "an Ed448 key"},
		{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 17}, "an ML-DSA-44 key"},
		{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 18}, "an ML-DSA-65 key"},
		{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 19}, "an ML-DSA-87 key"},
		{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 4, 1}, "an ML-KEM-512 key"},
		{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 4, 2}, "an ML-KEM-768 key"},
		{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 4, 3}, "an ML-KEM-1024 key"},
	}
	curveNames = []struct {
		oid  asn1.ObjectIdentifier
		name string
	}{
		{asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}, "P-256"},
		{asn1.ObjectIdentifier{1, 3, 132, 0, 34}, "P-384"},
		{asn1.ObjectIdentifier{1, 3, 132, 0, 35}, "P-521"},
		{asn1.ObjectIdentifier{1, 3, 132, 0, 33}, "P-224"},
		{asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 1}, "P-192"},
		{asn1.ObjectIdentifier{1, 3, 132, 0, 10}, "secp256k1"},
	}
)

// algorithmName names the key type of an algorithm identifier for a message.
func algorithmName(alg pkix.AlgorithmIdentifier) string {
	if alg.Algorithm.Equal(oidEC) {
		var curve asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(alg.Parameters.FullBytes, &curve); err == nil {
			for _, c := range curveNames {
				if c.oid.Equal(curve) {
					return "an ECDSA " + c.name + " key"
				}
			}
		}
		return "an ECDSA key"
	}
	for _, a := range algorithmNames {
		if a.oid.Equal(alg.Algorithm) {
			return a.name
		}
	}
	if oid := alg.Algorithm.String(); len(oid) <= 40 {
		return "a key of another algorithm (OID " + oid + ")"
	}
	return "a key of another algorithm"
}
