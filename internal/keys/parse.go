package keys

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// Errors returned by the PEM parsers. They never quote key material, so they
// are safe to show in diagnostics.
var (
	ErrEmpty         = errors.New("the value is empty")
	ErrNotPEM        = errors.New("the value is not PEM: no -----BEGIN ...----- line was found")
	ErrTruncatedPEM  = errors.New("the PEM is truncated or malformed: a BEGIN line has no matching END line, or the base64 body is invalid")
	ErrLeadingData   = errors.New("the PEM has text before its -----BEGIN----- line")
	ErrTrailingData  = errors.New("the PEM has data after its -----END----- line")
	ErrSeveralBlocks = errors.New("the PEM holds more than one block; give exactly one key")
	ErrEncrypted     = errors.New("the PEM is encrypted; give an unencrypted PKCS#8 key (openssl pkey -in key.pem -out plain.pem)")
	ErrNotEd25519    = errors.New("the key is not an Ed25519 key; CapiscIO server identities use Ed25519 only")
)

// ParsePrivatePEM parses an unencrypted PKCS#8 "PRIVATE KEY" PEM holding an
// Ed25519 key. The one-line env form with literal `\n` is accepted too.
func ParsePrivatePEM(s string) (ed25519.PrivateKey, error) {
	block, err := decodeSingleBlock(s)
	if err != nil {
		return nil, err
	}
	switch block.Type {
	case BlockPrivateKey:
	case "ENCRYPTED PRIVATE KEY":
		return nil, ErrEncrypted
	case "OPENSSH PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "DSA PRIVATE KEY":
		if _, ok := block.Headers["Proc-Type"]; ok {
			return nil, ErrEncrypted
		}
		return nil, fmt.Errorf("the PEM block is %q; give an unencrypted PKCS#8 %q block holding an Ed25519 key (openssl pkey -in key.pem converts one)", block.Type, BlockPrivateKey)
	case BlockPublicKey:
		return nil, fmt.Errorf("the PEM is a public key (%q); a private key (%q) is needed here", block.Type, BlockPrivateKey)
	default:
		return nil, fmt.Errorf("the PEM block is %q; a PKCS#8 %q block is needed", block.Type, BlockPrivateKey)
	}
	if len(block.Headers) > 0 {
		return nil, ErrEncrypted
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the PEM body is not a valid PKCS#8 key: %w", sanitize(err))
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w (found %s)", ErrNotEd25519, keyTypeName(key))
	}
	return priv, nil
}

// ParsePublicPEM parses an SPKI "PUBLIC KEY" PEM holding an Ed25519 key. The
// one-line env form with literal `\n` is accepted too.
func ParsePublicPEM(s string) (ed25519.PublicKey, error) {
	block, err := decodeSingleBlock(s)
	if err != nil {
		return nil, err
	}
	switch block.Type {
	case BlockPublicKey:
	case BlockPrivateKey, "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY":
		return nil, fmt.Errorf("the PEM is a private key (%q); give the public key only, as an SPKI %q block", block.Type, BlockPublicKey)
	default:
		return nil, fmt.Errorf("the PEM block is %q; an SPKI %q block is needed", block.Type, BlockPublicKey)
	}
	if len(block.Headers) > 0 {
		return nil, fmt.Errorf("the PEM block has headers; an SPKI %q block has none", BlockPublicKey)
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the PEM body is not a valid SPKI public key: %w", sanitize(err))
	}
	pub, ok := key.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w (found %s)", ErrNotEd25519, keyTypeName(key))
	}
	return pub, nil
}

// decodeSingleBlock decodes exactly one PEM block, rejecting text before it,
// data after it and further blocks. Surrounding whitespace is allowed.
func decodeSingleBlock(s string) (*pem.Block, error) {
	if strings.Contains(s, `\n`) {
		s = EnvUnescape(s)
	}
	data := bytes.TrimSpace([]byte(s))
	if len(data) == 0 {
		return nil, ErrEmpty
	}
	begin := bytes.Index(data, []byte("-----BEGIN "))
	if begin < 0 {
		return nil, ErrNotPEM
	}
	if begin > 0 {
		return nil, ErrLeadingData
	}
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, ErrTruncatedPEM
	}
	rest = bytes.TrimSpace(rest)
	if len(rest) > 0 {
		if bytes.Contains(rest, []byte("-----BEGIN ")) {
			return nil, ErrSeveralBlocks
		}
		return nil, ErrTrailingData
	}
	return block, nil
}

// sanitize keeps the library's error text (which never holds key bytes) but
// drops wrapping so the message stays short.
func sanitize(err error) error {
	return errors.New(strings.TrimPrefix(err.Error(), "x509: "))
}

func keyTypeName(key any) string {
	switch key.(type) {
	case ed25519.PrivateKey, ed25519.PublicKey:
		return "Ed25519"
	default:
		name := fmt.Sprintf("%T", key)
		switch {
		case strings.Contains(name, "rsa"):
			return "an RSA key"
		case strings.Contains(name, "ecdsa"):
			return "an ECDSA key"
		case strings.Contains(name, "ecdh"):
			return "an X25519/ECDH key"
		default:
			return "a " + name
		}
	}
}
