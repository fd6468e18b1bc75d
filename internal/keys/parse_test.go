package keys_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509/pkix"
	"encoding/asn1"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
)

// encryptedFixture is testdata/encrypted_ed25519.pem: a throwaway Ed25519 key
// made once for this test (openssl genpkey -algorithm ed25519 | openssl pkcs8
// -topk8 -v2 aes-256-cbc -passout pass:x). It is used nowhere else; its
// passphrase is "x".
func encryptedFixture(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("testdata/encrypted_ed25519.pem")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// pemForms are the spellings of one PEM the parsers accept.
func pemForms(p string) map[string]string {
	env := keys.EnvEscape(p)
	return map[string]string{
		"plain":                        p,
		"plain, no final newline":      strings.TrimSuffix(p, "\n"),
		"CRLF":                         strings.ReplaceAll(p, "\n", "\r\n"),
		"surrounding whitespace":       "\n\t  " + p + "  \n\n",
		"trailing blanks on lines":     strings.ReplaceAll(p, "\n", " \t\n"),
		"env, final \\n":               env,
		"env, no final \\n":            strings.TrimSuffix(env, `\n`),
		"env, escaped CRLF":            strings.ReplaceAll(env, `\n`, `\r\n`),
		"env, surrounding whitespace":  "  " + env + "\n",
		"env and real newlines mixed":  strings.Replace(env, `\n`, "\n", 1),
		"body wrapped at 16 chars":     rewrap(p, 16),
		"body on lines of 76 chars":    rewrap(p, 76),
		"blank line after BEGIN":       strings.Replace(p, "-----\n", "-----\n\n", 1),
		"escaped, whitespace in lines": strings.ReplaceAll(env, `\n`, ` \n`),
	}
}

// rewrap rewraps the base64 body of a one-block PEM at n characters.
func rewrap(p string, n int) string {
	lines := strings.Split(strings.TrimSpace(p), "\n")
	body := strings.Join(lines[1:len(lines)-1], "")
	var b strings.Builder
	b.WriteString(lines[0] + "\n")
	for len(body) > n {
		b.WriteString(body[:n] + "\n")
		body = body[n:]
	}
	b.WriteString(body + "\n" + lines[len(lines)-1] + "\n")
	return b.String()
}

func TestParsePrivatePEM_Accepts(t *testing.T) {
	t.Parallel()

	want := rfcPrivateKey()
	tests := pemForms(rfcPrivatePEM)
	// PKCS#8 version 2 (RFC 5958) with the public key stored in it.
	tests["PKCS#8 v2 with its public key"] = pemText("PRIVATE KEY", nil, edPKCS8(1, nil, edSeedOctets(want.Seed()), want[32:]))
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := keys.ParsePrivatePEM(in)
			if err != nil {
				t.Fatalf("ParsePrivatePEM: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("key mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParsePublicPEM_Accepts(t *testing.T) {
	t.Parallel()

	want := rfcPublicKey()
	for name, in := range pemForms(rfcPublicPEM) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := keys.ParsePublicPEM(in)
			if err != nil {
				t.Fatalf("ParsePublicPEM: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("key mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// rejectCase is one input a parser must refuse: the sentinels its error must
// match (and no other), and words its message must hold.
type rejectCase struct {
	in        string
	wantKinds []string
	wantMsg   []string
}

func runRejects(t *testing.T, parse func(string) error, tests map[string]rejectCase) {
	t.Helper()
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := parse(tt.in)
			if err == nil {
				t.Fatal("no error")
			}
			if diff := cmp.Diff(tt.wantKinds, kinds(err)); diff != "" {
				t.Errorf("error kinds mismatch (-want +got):\n%s\nerror: %v", diff, err)
			}
			for _, w := range tt.wantMsg {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			checkError(t, err, tt.in)
		})
	}
}

// commonRejects are refused by both parsers with the same kind of error; the
// PEM inside is a private key or a public key as named.
func commonRejects(p string) map[string]rejectCase {
	lines := strings.Split(strings.TrimSpace(p), "\n")
	begin, body, end := lines[0], lines[1], lines[2]
	broken := []byte(body)
	broken[10] = '!'
	return map[string]rejectCase{
		"empty":                        {"", []string{"ErrEmpty"}, []string{"empty"}},
		"whitespace only":              {" \n\t\r\n ", []string{"ErrEmpty"}, []string{"empty"}},
		"escaped newlines only":        {`\n\n`, []string{"ErrEmpty"}, []string{"empty"}},
		"plain text":                   {"hello world", []string{"ErrNotPEM"}, []string{"not PEM", "-----BEGIN"}},
		"JSON JWK":                     {`{"kty":"OKP","crv":"Ed25519","x":"` + rfcJWKX + `"}`, []string{"ErrNotPEM"}, []string{"JSON"}},
		"did:key":                      {rfcDIDKey, []string{"ErrNotPEM"}, []string{"a DID, not a PEM"}},
		"OpenSSH public key line":      {"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea user@host", []string{"ErrNotPEM"}, []string{"OpenSSH public key line"}},
		"SSH2 public key":              {"---- BEGIN SSH2 PUBLIC KEY ----\nAAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea\n---- END SSH2 PUBLIC KEY ----\n", []string{"ErrNotPEM"}, []string{"SSH2 (RFC 4716)"}},
		"bare base64 body":             {body, []string{"ErrNotPEM"}, []string{"bare base64 body", "add them"}},
		"END without BEGIN":            {body + "\n" + end, []string{"ErrTruncatedPEM"}, []string{"no -----BEGIN line", "cut off"}},
		"BEGIN without END":            {begin + "\n" + body + "\n", []string{"ErrTruncatedPEM"}, []string{"no -----END line"}},
		"BEGIN line only":              {begin, []string{"ErrTruncatedPEM"}, []string{"no -----END line"}},
		"broken base64":                {begin + "\n" + string(broken) + "\n" + end, []string{"ErrTruncatedPEM"}, []string{"does not decode"}},
		"body cut short":               {begin + "\n" + body[:len(body)-7] + "\n" + end, []string{"ErrTruncatedPEM"}, []string{"does not decode"}},
		"empty body":                   {begin + "\n" + end, []string{"ErrTruncatedPEM"}, []string{"nothing between"}},
		"BEGIN and END differ":         {begin + "\n" + body + "\n-----END CERTIFICATE-----", []string{"ErrMalformedPEM"}, []string{"different block types"}},
		"line breaks lost":             {begin + " " + body + " " + end, []string{"ErrMalformedPEM"}, []string{"line breaks were lost"}},
		"END line indented":            {begin + "\n  " + body + "\n  " + end, []string{"ErrMalformedPEM"}, []string{"does not start a line"}},
		"BEGIN line broken":            {strings.TrimSuffix(begin, "-----") + "\n" + body + "\n" + end, []string{"ErrMalformedPEM"}, []string{"-----BEGIN line is malformed"}},
		"END line broken":              {begin + "\n" + body + "\n" + strings.TrimSuffix(end, "-"), []string{"ErrMalformedPEM"}, []string{"-----END line is malformed"}},
		"text before":                  {"my key:\n" + p, []string{"ErrLeadingData"}, []string{"text before", "remove everything before -----BEGIN"}},
		"byte-order mark":              {"\uFEFF" + p, []string{"ErrLeadingData"}, []string{"byte-order mark"}},
		"double-quoted":                {`"` + keys.EnvEscape(p) + `"`, []string{"ErrLeadingData"}, []string{"quote"}},
		"NAME=value":                   {"CAPISCIO_SERVER_PRIVATE_KEY_PEM=" + keys.EnvEscape(p), []string{"ErrLeadingData"}, []string{"NAME=value"}},
		"export NAME=\"value\"":        {`export CAPISCIO_SERVER_PRIVATE_KEY_PEM="` + keys.EnvEscape(p) + `"`, []string{"ErrLeadingData"}, []string{"NAME=value"}},
		"base64 before":                {body + "\n" + p, []string{"ErrLeadingData"}, []string{"remove everything before -----BEGIN"}},
		"text after":                   {p + "more\n", []string{"ErrTrailingData"}, []string{"text after", "remove everything after"}},
		"quote after":                  {p + `"`, []string{"ErrTrailingData"}, []string{"quote"}},
		"text after END, same line":    {begin + "\n" + body + "\n" + end + "garbage", []string{"ErrTrailingData"}, []string{"on the same line"}},
		"two blocks":                   {p + p, []string{"ErrSeveralBlocks"}, []string{"more than one PEM block"}},
		"broken block then a good one": {begin + "\n" + string(broken) + "\n" + end + "\n" + p, []string{"ErrSeveralBlocks"}, []string{"more than one PEM block"}},
		"EC PARAMETERS before":         {"-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" + p, []string{"ErrSeveralBlocks"}, nil},
		"escaped twice":                {strings.ReplaceAll(keys.EnvEscape(p), `\n`, `\\n`), []string{"ErrBadEscape"}, []string{"escaped twice"}},
		"tab escape":                   {strings.Replace(keys.EnvEscape(p), `\n`, `\t`, 1), []string{"ErrBadEscape"}, []string{"backslash"}},
		"unknown block type":           {pemText("FOO BAR", nil, []byte{1, 2, 3}), []string{"ErrWrongBlockType"}, []string{"of a type this provider does not know"}},
		"X509 CRL":                     {pemText("X509 CRL", nil, []byte{1, 2, 3}), []string{"ErrWrongBlockType"}, []string{`of type "X509 CRL"`}},
	}
}

func TestParsePrivatePEM_Rejects(t *testing.T) {
	t.Parallel()

	priv := rfcPrivateKey()
	seedOctets := edSeedOctets(priv.Seed())
	otherPub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)).Public().(ed25519.PublicKey)
	validDER := edPKCS8(0, nil, seedOctets, nil)

	tests := commonRejects(rfcPrivatePEM)
	for name, c := range map[string]rejectCase{
		"encrypted PKCS#8":            {encryptedFixture(t), []string{"ErrEncrypted"}, []string{"ENCRYPTED PRIVATE KEY", "openssl pkey -in key.pem -out plain.pem"}},
		"encrypted PKCS#8, env form":  {keys.EnvEscape(encryptedFixture(t)), []string{"ErrEncrypted"}, []string{"decrypt it first"}},
		"Proc-Type on a PRIVATE KEY":  {pemText("PRIVATE KEY", map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00112233445566778899AABBCCDDEEFF"}, validDER), []string{"ErrEncrypted"}, []string{"Proc-Type"}},
		"other header lines":          {pemText("PRIVATE KEY", map[string]string{"Comment": "hello"}, validDER), []string{"ErrPEMHeaders"}, []string{"header lines"}},
		"public key":                  {rfcPublicPEM, []string{"ErrWrongBlockType"}, []string{"is a public key", "a private key is needed"}},
		"public key, env form":        {keys.EnvEscape(rfcPublicPEM), []string{"ErrWrongBlockType"}, []string{"is a public key"}},
		"certificate":                 {certificatePEM(), []string{"ErrWrongBlockType"}, []string{"certificate"}},
		"OpenSSH private key":         {openSSHPEM, []string{"ErrWrongBlockType"}, []string{"OpenSSH", "openssl genpkey -algorithm ed25519"}},
		"public key labelled PRIVATE": {pemText("PRIVATE KEY", nil, edSPKI(nil, priv[32:], 256)), []string{"ErrWrongBlockType"}, []string{"holds a public key"}},
		"corrupt DER":                 {pemText("PRIVATE KEY", nil, []byte("this is not DER at all")), []string{"ErrCorruptKey"}, []string{"DER does not decode"}},
		"DER cut short":               {pemText("PRIVATE KEY", nil, validDER[:len(validDER)-4]), []string{"ErrCorruptKey"}, []string{"DER does not decode"}},
		"DER with trailing bytes":     {pemText("PRIVATE KEY", nil, append(bytes.Clone(validDER), 0, 0)), []string{"ErrCorruptKey"}, []string{"2 extra bytes"}},
		"NULL parameters":             {pemText("PRIVATE KEY", nil, edPKCS8(0, []byte{5, 0}, seedOctets, nil)), []string{"ErrCorruptKey"}, []string{"parameters"}},
		"version 3":                   {pemText("PRIVATE KEY", nil, edPKCS8(2, nil, seedOctets, nil)), []string{"ErrCorruptKey"}, []string{"version 2"}},
		"seed not an OCTET STRING":    {pemText("PRIVATE KEY", nil, edPKCS8(0, nil, priv.Seed(), nil)), []string{"ErrCorruptKey"}, []string{"OCTET STRING"}},
		"seed of 31 bytes":            {pemText("PRIVATE KEY", nil, edPKCS8(0, nil, edSeedOctets(priv.Seed()[:31]), nil)), []string{"ErrKeyLength"}, []string{"has 31 bytes; it must have 32"}},
		"EC key on an unnamed curve":  {pemText("PRIVATE KEY", nil, ecUnnamedCurve()), []string{"ErrNotEd25519"}, []string{"found an ECDSA key in the PKCS#8 block"}},
		"v2 with another public key":  {pemText("PRIVATE KEY", nil, edPKCS8(1, nil, seedOctets, otherPub)), []string{"ErrCorruptKey"}, []string{"does not belong to its private key"}},
		"v2 with a short public key":  {pemText("PRIVATE KEY", nil, edPKCS8(1, nil, seedOctets, priv[32:63])), []string{"ErrCorruptKey"}, []string{"does not belong"}},
	} {
		tests[name] = c
	}
	for name, k := range otherKeys() {
		tests[name+" PKCS#8"] = rejectCase{pemText("PRIVATE KEY", nil, k.pkcs8), []string{"ErrNotEd25519"}, []string{k.found, "Ed25519 only"}}
		tests[name+" PKCS#8, env form"] = rejectCase{keys.EnvEscape(pemText("PRIVATE KEY", nil, k.pkcs8)), []string{"ErrNotEd25519"}, []string{k.found}}
		tests[name+" SPKI"] = rejectCase{pemText("PUBLIC KEY", nil, k.spki), []string{"ErrWrongBlockType"}, []string{"is a public key"}}
		if k.legacy != "" {
			tests[name+" legacy"] = rejectCase{k.legacy, []string{"ErrNotEd25519"}, []string{"legacy", "Ed25519 only"}}
			tests[name+" legacy, encrypted"] = rejectCase{k.encrypted, []string{"ErrEncrypted", "ErrNotEd25519"}, []string{"encrypted", "decrypting it would not help"}}
		}
	}
	runRejects(t, func(s string) error { _, err := keys.ParsePrivatePEM(s); return err }, tests)
}

func TestParsePublicPEM_Rejects(t *testing.T) {
	t.Parallel()

	pub := rfcPublicKey()
	tests := commonRejects(rfcPublicPEM)
	for name, c := range map[string]rejectCase{
		"private key":                 {rfcPrivatePEM, []string{"ErrWrongBlockType"}, []string{"is a private key", "openssl pkey -in key.pem -pubout"}},
		"private key, env form":       {rfcPrivateEnv, []string{"ErrWrongBlockType"}, []string{"is a private key"}},
		"encrypted private key":       {encryptedFixture(t), []string{"ErrWrongBlockType"}, []string{"is a private key"}},
		"OpenSSH private key":         {openSSHPEM, []string{"ErrWrongBlockType"}, []string{"OpenSSH private key", "only a public key belongs here"}},
		"certificate":                 {certificatePEM(), []string{"ErrWrongBlockType"}, []string{"certificate", "openssl x509 -in cert.pem -pubkey -noout"}},
		"private key labelled PUBLIC": {pemText("PUBLIC KEY", nil, edPKCS8(0, nil, edSeedOctets(rfcPrivateKey().Seed()), nil)), []string{"ErrWrongBlockType"}, []string{"holds a private key"}},
		"header lines":                {pemText("PUBLIC KEY", map[string]string{"Comment": "hello"}, edSPKI(nil, pub, 256)), []string{"ErrPEMHeaders"}, []string{"header lines"}},
		"RSA PUBLIC KEY (PKCS#1)":     {pemText("RSA PUBLIC KEY", nil, []byte{0x30, 0}), []string{"ErrNotEd25519"}, []string{"found an RSA key"}},
		"corrupt DER":                 {pemText("PUBLIC KEY", nil, []byte("this is not DER at all")), []string{"ErrCorruptKey"}, []string{"DER does not decode"}},
		"DER with trailing bytes":     {pemText("PUBLIC KEY", nil, append(edSPKI(nil, pub, 256), 0)), []string{"ErrCorruptKey"}, []string{"1 extra bytes"}},
		"NULL parameters":             {pemText("PUBLIC KEY", nil, edSPKI([]byte{5, 0}, pub, 256)), []string{"ErrCorruptKey"}, []string{"parameters"}},
		"31-byte key":                 {pemText("PUBLIC KEY", nil, edSPKI(nil, pub[:31], 248)), []string{"ErrKeyLength"}, []string{"has 248 bits; it must have 256"}},
		"33-byte key":                 {pemText("PUBLIC KEY", nil, edSPKI(nil, append(bytes.Clone(pub), 0), 264)), []string{"ErrKeyLength"}, []string{"has 264 bits"}},
		"key not on the curve":        {pemText("PUBLIC KEY", nil, edSPKI(nil, notAPoint, 256)), []string{"ErrCorruptKey"}, []string{"not a point on the curve"}},
	} {
		tests[name] = c
	}
	for name, k := range otherKeys() {
		tests[name+" SPKI"] = rejectCase{pemText("PUBLIC KEY", nil, k.spki), []string{"ErrNotEd25519"}, []string{k.found, "Ed25519 only"}}
		tests[name+" PKCS#8"] = rejectCase{pemText("PRIVATE KEY", nil, k.pkcs8), []string{"ErrWrongBlockType"}, []string{"is a private key"}}
		if k.legacy != "" {
			tests[name+" legacy"] = rejectCase{k.legacy, []string{"ErrWrongBlockType"}, []string{"is a private key"}}
		}
	}
	runRejects(t, func(s string) error { _, err := keys.ParsePublicPEM(s); return err }, tests)
}

// ecUnnamedCurve is PKCS#8 for an EC key whose curve parameters are not a
// named-curve OID.
func ecUnnamedCurve() []byte {
	return mustDER(asn1.Marshal(pkcs8{
		Algorithm:  pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}, Parameters: asn1.NullRawValue},
		PrivateKey: mustDER(asn1.Marshal(make([]byte, 32))),
	}))
}

func TestParsePrivatePEM_RejectsPublicKeys(t *testing.T) {
	t.Parallel()
	runRejects(t, func(s string) error { _, err := keys.ParsePrivatePEM(s); return err }, map[string]rejectCase{
		"public key": {rfcPublicPEM, []string{"ErrWrongBlockType"}, []string{"a private key is needed here"}},
		"empty":      {"", []string{"ErrEmpty"}, []string{"empty"}},
	})
}
