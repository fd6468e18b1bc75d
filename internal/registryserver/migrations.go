package registryserver

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Bucket and key names of the store. The layout is described in store.go.
var (
	bucketMeta         = []byte("meta")
	bucketAPIKeys      = []byte("api_keys")
	bucketServers      = []byte("servers")
	bucketOrgServers   = []byte("org_servers")
	bucketBadges       = []byte("badges")
	bucketServerBadges = []byte("server_badges")
	bucketRevocations  = []byte("revocations")
	bucketIdempotency  = []byte("idempotency")
	bucketAPIKeyHMACs  = []byte("api_key_hmacs")

	keySchemaVersion = []byte("schema_version")
	keyDevKeyCreated = []byte("dev_key_created")
	keyAPIKeySecret  = []byte("api_key_secret")
)

// apiKeySecretSize is the length of the store's API key HMAC secret.
const apiKeySecretSize = 32

// migration moves the schema from version-1 to version. Each migration runs
// in its own write transaction together with the bump of schema_version, so a
// crash leaves the database either before or after it, never half way.
type migration struct {
	version uint64
	name    string
	up      func(tx *bolt.Tx) error
}

// migrations is the ordered schema history. Append only: never edit or reorder
// an entry that has shipped, add a new one instead.
var migrations = []migration{
	{version: 1, name: "create buckets", up: createBucketsV1},
	{version: 2, name: "keyed API key hashes", up: addAPIKeySecretV2},
}

// schemaVersion is the version a fully migrated database has.
func schemaVersion() uint64 { return migrations[len(migrations)-1].version }

func createBucketsV1(tx *bolt.Tx) error {
	for _, name := range [][]byte{
		bucketAPIKeys, bucketServers, bucketOrgServers, bucketBadges,
		bucketServerBadges, bucketRevocations, bucketIdempotency,
	} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("creating bucket %s: %w", name, err)
		}
	}
	return nil
}

// addAPIKeySecretV2 creates the bucket of keyed API key hashes and the
// store's random HMAC secret. The plain SHA-256 entries of api_keys stay: their
// keys are unknown here, so each one moves to api_key_hmacs on its first
// successful use (store.apiKeyOrg).
func addAPIKeySecretV2(tx *bolt.Tx) error {
	if _, err := tx.CreateBucketIfNotExists(bucketAPIKeyHMACs); err != nil {
		return fmt.Errorf("creating bucket %s: %w", bucketAPIKeyHMACs, err)
	}
	meta := tx.Bucket(bucketMeta)
	if meta.Get(keyAPIKeySecret) != nil {
		return nil
	}
	secret := make([]byte, apiKeySecretSize)
	if _, err := rand.Read(secret); err != nil {
		return fmt.Errorf("generating the API key secret: %w", err)
	}
	return meta.Put(keyAPIKeySecret, secret)
}

// readAPIKeySecret returns the store's API key HMAC secret (schema 2 on).
func readAPIKeySecret(db *bolt.DB) ([]byte, error) {
	var secret []byte
	err := db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketMeta).Get(keyAPIKeySecret)
		if len(raw) != apiKeySecretSize {
			return fmt.Errorf("the registry database has a corrupt api_key_secret (%d bytes, want %d); restore registry.db from a backup", len(raw), apiKeySecretSize)
		}
		secret = bytes.Clone(raw)
		return nil
	})
	return secret, err
}

// runMigrations runs every migration newer than the database's
// schema_version. It refuses a database written by a newer binary.
func runMigrations(db *bolt.DB) error {
	current, err := readSchemaVersion(db)
	if err != nil {
		return err
	}
	if current > schemaVersion() {
		return fmt.Errorf("the registry database has schema version %d, newer than this binary supports (%d); use a newer capiscio-registry", current, schemaVersion())
	}
	for _, m := range migrations {
		if m.version <= current {
			continue
		}
		if err := db.Update(func(tx *bolt.Tx) error { return applyMigration(tx, m) }); err != nil {
			return fmt.Errorf("migrating the registry database to version %d (%s): %w", m.version, m.name, err)
		}
	}
	return nil
}

func applyMigration(tx *bolt.Tx, m migration) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	if err := m.up(tx); err != nil {
		return err
	}
	return meta.Put(keySchemaVersion, binary.BigEndian.AppendUint64(nil, m.version))
}

func readSchemaVersion(db *bolt.DB) (uint64, error) {
	var version uint64
	err := db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return nil
		}
		raw := meta.Get(keySchemaVersion)
		if raw == nil {
			return nil
		}
		if len(raw) != 8 {
			return fmt.Errorf("the registry database has a corrupt schema_version (%d bytes)", len(raw))
		}
		version = binary.BigEndian.Uint64(raw)
		return nil
	})
	return version, err
}
