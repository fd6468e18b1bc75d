package registryserver

// The store's API keys. store.go describes the store: why bbolt, the
// durability it gives and the layout of its buckets.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// API keys in the store: HMAC hashes only, never a key.

// apiKeyHashes are the two stored forms of one API key.
type apiKeyHashes struct {
	keyed  string // hex HMAC-SHA256 under the store's secret: what is stored
	legacy string // hex SHA-256: what schema 1 stored, in api_keys
}

// hashAPIKey returns the stored forms of key. Keying the hash with a secret
// of this store makes its hashes useless elsewhere: the same key has
// unrelated hashes in two stores, and no table precomputed for plain SHA-256
// applies. The secret lives in registry.db itself (one file to back up, none
// to lose), so a full copy of the store can still test guesses; what stops
// that is the keys' own strength (256 random bits when minted, at least
// about 128 when supplied, see ValidDevAPIKey).
func (s *store) hashAPIKey(key string) apiKeyHashes {
	mac := hmac.New(sha256.New, s.keySecret)
	mac.Write([]byte(key))
	legacy := sha256.Sum256([]byte(key))
	return apiKeyHashes{keyed: hex.EncodeToString(mac.Sum(nil)), legacy: hex.EncodeToString(legacy[:])}
}

// addAPIKey stores the key with hashes h for org. Adding the same key for the
// same org again is a no-op; for another org it fails with errAPIKeyOtherOrg.
func (s *store) addAPIKey(h apiKeyHashes, org string, now time.Time) error {
	return s.update(func(tx *bolt.Tx) error { return putAPIKey(tx, h, org, now) })
}

// putAPIKey stores the keyed hash of a key, replacing its schema 1 entry if
// there is one (and keeping that entry's creation time).
func putAPIKey(tx *bolt.Tx, h apiKeyHashes, org string, now time.Time) error {
	legacy, found, err := takeLegacyAPIKey(tx, h)
	if err != nil {
		return err
	}
	if found {
		if legacy.Org != org {
			return errAPIKeyOtherOrg
		}
		now = legacy.CreatedAt
	}
	b := tx.Bucket(bucketAPIKeyHMACs)
	var existing apiKeyRecord
	found, err = getJSON(b, []byte(h.keyed), &existing)
	if err != nil || found {
		if err == nil && existing.Org != org {
			err = errAPIKeyOtherOrg
		}
		return err
	}
	return putJSON(b, []byte(h.keyed), apiKeyRecord{Org: org, CreatedAt: now})
}

// takeLegacyAPIKey removes the schema 1 (plain SHA-256) entry of a key and
// returns it, if there is one.
func takeLegacyAPIKey(tx *bolt.Tx, h apiKeyHashes) (apiKeyRecord, bool, error) {
	b := tx.Bucket(bucketAPIKeys)
	var rec apiKeyRecord
	found, err := getJSON(b, []byte(h.legacy), &rec)
	if err != nil || !found {
		return rec, found, err
	}
	return rec, true, b.Delete([]byte(h.legacy))
}

// apiKeyOrg returns the organisation of the key with hashes h. A key stored
// by schema 1 is moved to its keyed form on its first successful use; an
// unknown key costs two reads and no write.
func (s *store) apiKeyOrg(h apiKeyHashes) (string, bool, error) {
	rec, found, err := s.readAPIKey(bucketAPIKeyHMACs, h.keyed)
	if err != nil || found {
		return rec.Org, found, err
	}
	if _, found, err = s.readAPIKey(bucketAPIKeys, h.legacy); err != nil || !found {
		return "", false, err
	}
	err = s.update(func(tx *bolt.Tx) error {
		legacy, found, err := takeLegacyAPIKey(tx, h)
		if err != nil || !found {
			return err // not found: a concurrent request moved it first
		}
		return putJSON(tx.Bucket(bucketAPIKeyHMACs), []byte(h.keyed), legacy)
	})
	if err != nil {
		return "", false, fmt.Errorf("moving an API key to its keyed hash: %w", err)
	}
	rec, found, err = s.readAPIKey(bucketAPIKeyHMACs, h.keyed)
	return rec.Org, found, err
}

func (s *store) readAPIKey(bucket []byte, hash string) (apiKeyRecord, bool, error) {
	var rec apiKeyRecord
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		found, err = getJSON(tx.Bucket(bucket), []byte(hash), &rec)
		return err
	})
	return rec, found, err
}

// createDevKeyOnce stores the key with hashes h for org "dev" unless a
// development key was created before in this database. It reports whether it
// stored the key.
func (s *store) createDevKeyOnce(h apiKeyHashes, now time.Time) (bool, error) {
	created := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta.Get(keyDevKeyCreated) != nil {
			return nil
		}
		if err := putAPIKey(tx, h, devOrg, now); err != nil {
			return err
		}
		created = true
		return meta.Put(keyDevKeyCreated, []byte("1"))
	})
	return created, err
}

// markDevKeyCreated records that a development key exists, so a later start
// without --dev-api-key does not mint another one.
func (s *store) markDevKeyCreated() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyDevKeyCreated, []byte("1"))
	})
}
