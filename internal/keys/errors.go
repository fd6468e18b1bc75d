package keys

import (
	"errors"
	"fmt"
)

// Sentinel errors, for errors.Is. Every error the parsers and the Describe
// functions return matches at least one of them; the error itself carries a
// precise message (what is wrong, what to do) that never quotes key material.
// The sentinels' own texts are short summaries.
var (
	// ErrEmpty: the value is empty or only whitespace.
	ErrEmpty = errors.New("the value is empty")
	// ErrBadEscape: a backslash that is not part of a `\n` escape, such as the
	// `\\n` of a value escaped twice.
	ErrBadEscape = errors.New("the value has a backslash escape other than \\n")
	// ErrNotPEM: there is no -----BEGIN line at all.
	ErrNotPEM = errors.New("the value is not PEM: no -----BEGIN ...----- line was found")
	// ErrTruncatedPEM: a BEGIN line without an END line, a missing BEGIN line,
	// an empty body or a base64 body that does not decode.
	ErrTruncatedPEM = errors.New("the PEM is truncated or its base64 body is damaged")
	// ErrMalformedPEM: a broken BEGIN or END line, BEGIN and END of different
	// types, lost line breaks or indented lines.
	ErrMalformedPEM = errors.New("the PEM's BEGIN or END line is malformed")
	// ErrLeadingData: text before the -----BEGIN line.
	ErrLeadingData = errors.New("the PEM has text before its -----BEGIN----- line")
	// ErrTrailingData: text after the -----END line.
	ErrTrailingData = errors.New("the PEM has data after its -----END----- line")
	// ErrSeveralBlocks: more than one BEGIN line.
	ErrSeveralBlocks = errors.New("the PEM holds more than one block; give exactly one key")
	// ErrEncrypted: an ENCRYPTED PRIVATE KEY block or a legacy Proc-Type:
	// 4,ENCRYPTED header.
	ErrEncrypted = errors.New("the PEM is encrypted; give an unencrypted PKCS#8 key (openssl pkey -in key.pem -out plain.pem)")
	// ErrWrongBlockType: a public key where a private key is needed or the
	// other way round, a certificate, an OpenSSH key, an unknown block type.
	ErrWrongBlockType = errors.New("the PEM block is not of the type needed here")
	// ErrPEMHeaders: header lines (Name: value) in a block that has none.
	ErrPEMHeaders = errors.New("the PEM block has header lines")
	// ErrNotEd25519: a key of another type (RSA, ECDSA, X25519, ...), in a PEM
	// or in a did:key multicodec.
	ErrNotEd25519 = errors.New("the key is not an Ed25519 key; CapiscIO server identities use Ed25519 only")
	// ErrCorruptKey: the key's bytes do not decode (bad DER, trailing bytes,
	// forbidden parameters, a public key that is not a curve point, a private
	// key whose halves disagree).
	ErrCorruptKey = errors.New("the key data is corrupt")
	// ErrWeakKey: a public key that decodes to a curve point no Ed25519
	// implementation can generate: a small-order point (the identity, the
	// all-zero key, ...), under which anyone can forge signatures; a
	// mixed-order point; or a non-canonical encoding.
	ErrWeakKey = errors.New("the key is a weak Ed25519 public key (small-order, mixed-order or non-canonical point); generate a real key")
	// ErrKeyLength: a key of the wrong size.
	ErrKeyLength = errors.New("the key has the wrong length")
	// ErrNotDIDKey: not a DID, or a DID of another method.
	ErrNotDIDKey = errors.New("the value is not a did:key")
	// ErrDIDKeySyntax: surrounding whitespace, an extra colon, a path, query or
	// fragment.
	ErrDIDKeySyntax = errors.New("the did:key is malformed")
	// ErrMultibasePrefix: the multibase value does not start with "z".
	ErrMultibasePrefix = errors.New("the multibase value does not start with z (base58btc)")
	// ErrBase58: a character outside the base58btc alphabet, or nothing to decode.
	ErrBase58 = errors.New("the value is not valid base58btc")
)

// keyError is a failure with a complete message for the user and the
// sentinels it belongs to.
type keyError struct {
	msg   string
	kinds []error
}

func (e *keyError) Error() string   { return e.msg }
func (e *keyError) Unwrap() []error { return e.kinds }

// fail returns an error of the given kind with a formatted message. Arguments
// must never carry key material.
func fail(kind error, format string, args ...any) error {
	return &keyError{msg: fmt.Sprintf(format, args...), kinds: []error{kind}}
}

// failBoth is fail for an error of two kinds at once.
func failBoth(kind1, kind2 error, format string, args ...any) error {
	return &keyError{msg: fmt.Sprintf(format, args...), kinds: []error{kind1, kind2}}
}
