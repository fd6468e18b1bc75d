package registryserver

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// caKeyFile is the CA private key in DIR, a private Ed25519 JWK (RFC 8037)
// with kid, alg EdDSA and use sig; mode 0600.
const caKeyFile = "ca.jwk"

// JWK members of every key the CA publishes.
const (
	jwkAlg = string(jose.EdDSA)
	jwkUse = "sig"
)

// ca is the badge-signing authority: one Ed25519 key and its kid.
type ca struct {
	priv   ed25519.PrivateKey
	kid    string
	signer jose.Signer // EdDSA, with typ JWT and kid in every header
}

// loadOrCreateCA reads DIR/ca.jwk, or creates it with kid
// capiscio-ca-<unix> when it does not exist and badges() says the store
// records no badge. A store with badges and no CA key is refused: a new key
// would silently invalidate every one of them, so minting it takes InitCA
// (`capiscio-registry ca init`). A file that exists but cannot be read is an
// error too: the registry never silently replaces its CA key.
func loadOrCreateCA(dir string, now time.Time, badges func() (int, error)) (*ca, error) {
	path := filepath.Join(dir, caKeyFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		n, err := badges()
		if err != nil {
			return nil, fmt.Errorf("counting the badges in the store: %w", err)
		}
		if n > 0 {
			return nil, fmt.Errorf("the CA key %s is missing, but %s records %d badges it signed: restore ca.jwk from a backup, or mint a new CA key with \"capiscio-registry ca init --data %s\" (every badge issued so far stops verifying)",
				path, filepath.Join(dir, dbFile), n, dir)
		}
		return createCA(path, now)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the CA key %s: %w", path, err)
	}
	c, err := parseCA(raw)
	if err != nil {
		return nil, fmt.Errorf("the CA key %s is invalid: %w", path, err)
	}
	return c, nil
}

// InitCA mints a new badge CA key in dataDir, for `capiscio-registry ca
// init`. It never replaces an existing ca.jwk. It returns the new key's kid
// and how many badges the store records: signed by an earlier key, none of
// them verifies any more. Without a store it creates an empty one, so the data
// directory never holds a CA key without a store. It holds the store's lock
// while it writes the key, so it fails while a registry runs there.
func InitCA(dataDir string) (kid string, badges int, err error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", 0, fmt.Errorf("creating the data directory: %w", err)
	}
	path := filepath.Join(dataDir, caKeyFile)
	if exists, err := fileExists(path); err != nil || exists {
		if err == nil {
			err = fmt.Errorf("the CA key %s already exists, and ca init never replaces one (every badge it signed would stop verifying); to replace it anyway, move the file away first", path)
		}
		return "", 0, err
	}
	st, err := openDataDir(dataDir)
	if err != nil {
		return "", 0, err
	}
	kid, badges, err = mintCA(st, path)
	if closeErr := st.close(); err == nil {
		err = closeErr
	}
	return kid, badges, err
}

func mintCA(st *store, path string) (kid string, badges int, err error) {
	if badges, err = st.badgeCount(); err != nil {
		return "", 0, fmt.Errorf("counting the badges in the store: %w", err)
	}
	c, err := createCA(path, time.Now())
	if err != nil {
		return "", 0, err
	}
	return c.kid, badges, nil
}

func createCA(path string, now time.Time) (*ca, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating the CA key: %w", err)
	}
	kid := "capiscio-ca-" + strconv.FormatInt(now.Unix(), 10)
	raw, err := json.MarshalIndent(jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: jwkAlg, Use: jwkUse}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the CA key: %w", err)
	}
	if err := WriteFileAtomic(path, append(raw, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("writing the CA key: %w", err)
	}
	return newCA(priv, kid)
}

// parseCA reads the CA key file: a private Ed25519 JWK with a kid, whose
// public half (x) is the one its seed (d) gives.
func parseCA(raw []byte) (*ca, error) {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(raw); err != nil {
		return nil, fmt.Errorf("not a private Ed25519 JWK: %w", err)
	}
	priv, ok := jwk.Key.(ed25519.PrivateKey)
	switch {
	case !ok:
		return nil, fmt.Errorf("it holds a %T, want a private Ed25519 key (kty OKP, crv Ed25519, with d)", jwk.Key)
	case jwk.KeyID == "":
		return nil, errors.New("kid is empty")
	case !ed25519.NewKeyFromSeed(priv.Seed()).Equal(priv):
		return nil, errors.New("x does not match d")
	}
	return newCA(priv, jwk.KeyID)
}

func newCA(priv ed25519.PrivateKey, kid string) (*ca, error) {
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: priv, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return nil, fmt.Errorf("the CA key cannot sign: %w", err)
	}
	return &ca{priv: priv, kid: kid, signer: signer}, nil
}

// public is the CA's public key as served in the key set.
func (c *ca) public() jose.JSONWebKey {
	pub, _ := c.priv.Public().(ed25519.PublicKey) // always an ed25519.PublicKey
	return jose.JSONWebKey{Key: pub, KeyID: c.kid, Algorithm: jwkAlg, Use: jwkUse}
}

// jwks is the key set of /.well-known/jwks.json. The signing key comes first:
// capiscio-core takes keys[0] and ignores kid. A future CA rotation appends
// retired keys after it until their badges have expired.
func (c *ca) jwks() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{c.public()}}
}

// sign returns the compact JWS of the JSON encoding of claims.
func (c *ca) sign(claims any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encoding badge claims: %w", err)
	}
	jws, err := c.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("signing the badge: %w", err)
	}
	return jws.CompactSerialize()
}

// WriteFileAtomic writes data to path so that a crash leaves either the old
// file or the complete new one: it writes a temporary file in the same
// directory, fsyncs it, renames it over path and fsyncs the directory.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if err := writeAndSync(tmp, data, perm); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

func writeAndSync(f *os.File, data []byte, perm os.FileMode) error {
	err := f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
