package registryserver

// The store keeps every record of the registry in one bbolt file,
// DIR/registry.db.
//
// Why bbolt and not SQLite: bbolt is pure Go (no cgo, so the registry
// cross-compiles with the provider and needs no C toolchain), it is one file
// with no server, and every committed transaction is fsynced before Commit
// returns (NoSync stays false), so an acknowledged write survives kill -9 and
// power loss. Its single writer would cap throughput at one fsync per request;
// DB.Batch merges concurrent write transactions into one commit (group
// commit), so N requests that arrive together share one fsync.
//
// Layout (all values JSON unless noted):
//
//	meta            schema_version -> uint64 BE; dev_key_created -> "1";
//	                api_key_secret -> 32 random bytes (raw), the HMAC key of api_key_hmacs
//	api_key_hmacs   hex(HMAC-SHA256(api_key_secret, key)) -> apiKeyRecord
//	api_keys        hex(SHA-256(key)) -> apiKeyRecord   written by schema 1 only; each entry
//	                moves to api_key_hmacs on its first successful use
//	servers         id -> serverRecord
//	org_servers     org 0x00 seq(uint64 BE) -> id     creation order per org, for listing
//	badges          jti -> badgeRecord
//	server_badges   id exp(uint64 BE unix s) jti -> "" unexpired badges of a server, for revocation
//	revocations     revokedAt(uint64 BE unix ns) jti -> revocationRecord   time-ordered
//	idempotency     org 0x00 Idempotency-Key -> idempotencyRecord

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// Errors of the store. Handlers map them to HTTP replies in errors.go.
var (
	errNotFound          = errors.New("not found")
	errServerDisabled    = errors.New("server is disabled")
	errIdempotencyReused = errors.New("idempotency key reused with a different body")
	errIdempotencyGone   = errors.New("idempotency key names a deleted server")
	errAPIKeyOtherOrg    = errors.New("API key already belongs to another organisation")
)

// batchDelay is how long a write waits for others to join its group commit.
// It applies only when another write is already in flight (see store.update),
// so a lone client never waits. On a 2-core VM with a ~0.3 ms fsync, 1 ms let
// about 6 badge writes share a commit under load and 2 ms about 14, for ~25%
// less CPU per write; the extra latency is small next to an HTTP round trip.
const batchDelay = 2 * time.Millisecond

// store is the bbolt-backed persistence of the registry. All methods are safe
// for concurrent use.
type store struct {
	db        *bolt.DB
	writers   atomic.Int32 // write transactions in flight or waiting
	keySecret []byte       // HMAC key of stored API key hashes (meta api_key_secret)
}

// serverRecord is a stored server. PublicKey holds the raw 32 key bytes;
// PublicKeyPEM and DIDKey are its encodings, stored so replies need no work.
type serverRecord struct {
	ID           string     `json:"id"`
	Org          string     `json:"org"`
	Seq          uint64     `json:"seq"`
	Name         string     `json:"name"`
	PublicKey    []byte     `json:"publicKey"`
	PublicKeyPEM string     `json:"publicKeyPem"`
	DIDKey       string     `json:"didKey"`
	Status       string     `json:"status"`
	Domain       string     `json:"domain,omitempty"`
	TrustLevel   string     `json:"trustLevel"`
	CreatedAt    time.Time  `json:"createdAt"`
	UpdatedAt    time.Time  `json:"updatedAt"`
	KeyUpdatedAt time.Time  `json:"keyUpdatedAt"`
	DisabledAt   *time.Time `json:"disabledAt,omitempty"`
}

// badgeRecord is a stored badge: enough to answer status queries and to revoke
// it when its server's key changes. The token itself is not stored.
type badgeRecord struct {
	JTI           string     `json:"jti"`
	ServerID      string     `json:"serverId"`
	Org           string     `json:"org"`
	Subject       string     `json:"sub"`
	KeyThumbprint string     `json:"keyThumbprint"`
	IssuedAt      time.Time  `json:"issuedAt"`
	ExpiresAt     time.Time  `json:"expiresAt"`
	Revoked       bool       `json:"revoked,omitempty"`
	Reason        string     `json:"reason,omitempty"`
	RevokedAt     *time.Time `json:"revokedAt,omitempty"`
}

type apiKeyRecord struct {
	Org       string    `json:"org"`
	CreatedAt time.Time `json:"createdAt"`
}

type revocationRecord struct {
	Reason string `json:"reason,omitempty"`
}

type idempotencyRecord struct {
	BodyHash  string    `json:"bodyHash"`
	ServerID  string    `json:"serverId"`
	CreatedAt time.Time `json:"createdAt"`
}

// storeLockTimeout is how long opening waits for another process's lock.
const storeLockTimeout = time.Second

// errStoreLocked is lockFile's error when another process holds the store.
var errStoreLocked = errors.New("the store is locked by another process")

// storeAdvice ends every message about a lost or damaged store.
const storeAdvice = "restore it from a backup, or start with a new, empty data directory (--data)"

// openStore opens the database at path, checked but not migrated: call
// migrate before using it, and nothing has been written until then (a new
// file excepted). create allows a new store, when path did not exist; an
// existing file must be a bbolt store that passes verifyStoreFile and bbolt's
// consistency check, and an empty one is refused. It fails after one second
// if another process holds the database.
func openStore(path string, create bool) (*store, error) {
	f, err := openLocked(path, create)
	if err != nil {
		return nil, err
	}
	db, err := openBolt(path, f)
	if err != nil {
		return nil, err
	}
	db.MaxBatchDelay = batchDelay
	return &store{db: db}, nil
}

// openLocked opens path, takes the lock bbolt would take, and checks the
// file under it, so that a running registry's writes are never mistaken for
// damage.
func openLocked(path string, create bool) (*os.File, error) {
	flag := os.O_RDWR
	if create {
		flag |= os.O_CREATE
	}
	f, err := os.OpenFile(path, flag, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the registry database %s: %w", path, err)
	}
	if err := lockFile(f); err != nil {
		_ = f.Close()
		if errors.Is(err, errStoreLocked) {
			return nil, lockedStoreError(path)
		}
		return nil, fmt.Errorf("locking the registry database %s: %w", path, err)
	}
	info, err := f.Stat()
	switch {
	case err != nil:
		err = fmt.Errorf("reading the registry database %s: %w", path, err)
	case info.Size() == 0 && create:
		return f, nil // a new store: bbolt writes its first pages
	case info.Size() == 0:
		err = fmt.Errorf("%s is empty (0 bytes): the store was lost or truncated; %s", path, storeAdvice)
	default:
		if err = verifyStoreFile(f, info.Size()); err != nil {
			err = corruptStoreError(path, err)
		}
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// openBolt opens the checked, locked file f with bbolt and runs bbolt's
// consistency check. verifyStoreFile leaves bbolt nothing to fault on; as a
// net under it, a panic or memory fault (SIGBUS, SIGSEGV) on this goroutine
// becomes an error instead of a crash.
func openBolt(path string, f *os.File) (db *bolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			if db != nil {
				_ = db.Close()
			}
			_ = f.Close()
			db, err = nil, corruptStoreError(path, fmt.Errorf("bbolt failed reading it (%s)", clip(fmt.Sprint(p), 200)))
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout:         storeLockTimeout,
		NoSync:          false,
		NoFreelistSync:  true, // the freelist is rebuilt on open; commits stay durable
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: 64 << 20,
		OpenFile:        func(string, int, os.FileMode) (*os.File, error) { return f, nil },
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, lockedStoreError(path)
	}
	if err != nil {
		return nil, fmt.Errorf("opening the registry database %s: %w", path, err)
	}
	if err := checkConsistency(db); err != nil {
		_ = db.Close()
		return nil, corruptStoreError(path, err)
	}
	return db, nil
}

// checkConsistency runs bbolt's own check (page accounting, key order,
// freelist) in a read transaction. Nothing else uses db yet.
func checkConsistency(db *bolt.DB) error {
	return db.View(func(tx *bolt.Tx) error {
		var first error
		problems := 0
		for err := range tx.Check() {
			if first == nil {
				first = err
			}
			problems++
		}
		if problems > 1 {
			return fmt.Errorf("%s (and %d more problems)", clip(first.Error(), 200), problems-1)
		}
		if first != nil {
			return errors.New(clip(first.Error(), 200))
		}
		return nil
	})
}

func lockedStoreError(path string) error {
	return fmt.Errorf("the registry database %s is locked by another process (is capiscio-registry already running on this data directory?)", path)
}

func corruptStoreError(path string, err error) error {
	return fmt.Errorf("%s is corrupt: %v; %s", path, err, storeAdvice)
}

// migrate brings the schema up to date and loads the API key secret. It is
// the first write to an existing store.
func (s *store) migrate() error {
	if err := runMigrations(s.db); err != nil {
		return err
	}
	secret, err := readAPIKeySecret(s.db)
	if err != nil {
		return err
	}
	s.keySecret = secret
	return nil
}

// badgeCount returns how many badges the store records (none before it is
// migrated for the first time).
func (s *store) badgeCount() (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketBadges); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n, err
}

func (s *store) close() error { return s.db.Close() }

// update runs fn in a durable write transaction. When no other write is in
// flight it commits at once (db.Update, no batching delay); otherwise it joins
// the current group commit (db.Batch). fn may run more than once, so it must
// only assign its outputs, never append to them.
func (s *store) update(fn func(*bolt.Tx) error) error {
	defer s.writers.Add(-1)
	if s.writers.Add(1) == 1 {
		return s.db.Update(fn)
	}
	return s.db.Batch(fn)
}

// ---- API keys ----

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

// ---- servers ----

// createRequest is one create call: the record to insert and, when the client
// sent an Idempotency-Key, the key and a hash of the request body.
type createRequest struct {
	rec      serverRecord
	idemKey  string
	bodyHash string
}

// createServer inserts c.rec, or, when c.idemKey was used before by the same
// org with the same body, returns the server created then (replayed = true).
func (s *store) createServer(c createRequest) (rec serverRecord, replayed bool, err error) {
	err = s.update(func(tx *bolt.Tx) error {
		rec, replayed = c.rec, false
		if c.idemKey != "" {
			prior, found, err := replayCreate(tx, c)
			if err != nil || found {
				rec, replayed = prior, found
				return err
			}
		}
		return insertServer(tx, &rec, c)
	})
	return rec, replayed, err
}

func replayCreate(tx *bolt.Tx, c createRequest) (serverRecord, bool, error) {
	var idem idempotencyRecord
	found, err := getJSON(tx.Bucket(bucketIdempotency), orgKey(c.rec.Org, c.idemKey), &idem)
	if err != nil || !found {
		return serverRecord{}, false, err
	}
	if idem.BodyHash != c.bodyHash {
		return serverRecord{}, false, errIdempotencyReused
	}
	rec, err := getServer(tx, idem.ServerID)
	if errors.Is(err, errNotFound) {
		err = errIdempotencyGone
	}
	return rec, err == nil, err
}

func insertServer(tx *bolt.Tx, rec *serverRecord, c createRequest) error {
	index := tx.Bucket(bucketOrgServers)
	seq, err := index.NextSequence()
	if err != nil {
		return err
	}
	rec.Seq = seq
	if err := putJSON(tx.Bucket(bucketServers), []byte(rec.ID), rec); err != nil {
		return err
	}
	if err := index.Put(orgSeqKey(rec.Org, seq), []byte(rec.ID)); err != nil {
		return err
	}
	if c.idemKey == "" {
		return nil
	}
	idem := idempotencyRecord{BodyHash: c.bodyHash, ServerID: rec.ID, CreatedAt: rec.CreatedAt}
	return putJSON(tx.Bucket(bucketIdempotency), orgKey(rec.Org, c.idemKey), idem)
}

// server returns the server with this id, whatever its organisation (for the
// public routes).
func (s *store) server(id string) (serverRecord, error) {
	var rec serverRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		rec, err = getServer(tx, id)
		return err
	})
	return rec, err
}

// orgServer returns the server with this id if it belongs to org; a server of
// another organisation is errNotFound: the registry never says whose a record is.
func (s *store) orgServer(org, id string) (serverRecord, error) {
	var rec serverRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		rec, err = getOrgServer(tx, org, id)
		return err
	})
	return rec, err
}

// listServers returns up to limit servers of org created after the one with
// sequence number after, in creation order, and the sequence number to resume
// from (0 when there are no more). after must be below the largest uint64
// (decodeSeqCursor refuses it), or after+1 would wrap to the first page.
func (s *store) listServers(org string, after uint64, limit int) ([]serverRecord, uint64, error) {
	var out []serverRecord
	var next uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		out, next = nil, 0
		prefix := orgKey(org, "")
		servers := tx.Bucket(bucketServers)
		c := tx.Bucket(bucketOrgServers).Cursor()
		for k, id := c.Seek(orgSeqKey(org, after+1)); k != nil && bytes.HasPrefix(k, prefix); k, id = c.Next() {
			if len(out) == limit {
				next = out[len(out)-1].Seq
				return nil
			}
			var rec serverRecord
			if _, err := getJSON(servers, id, &rec); err != nil {
				return err
			}
			out = append(out, rec)
		}
		return nil
	})
	return out, next, err
}

// keyChange is one PUT /v1/sdk/servers/{id}: register key, optionally rename.
type keyChange struct {
	org, id string
	key     publicKey
	name    string
	now     time.Time
}

// publicKey is a registered key with its stored encodings.
type publicKey struct {
	raw    ed25519.PublicKey
	pem    string
	didKey string
}

// registerKey applies a PUT. The same key is an idempotent success that only
// renames (when a different name is given) and revokes nothing; a new key
// replaces the old one and revokes every unexpired badge issued for it.
func (s *store) registerKey(c keyChange) (serverRecord, error) {
	// Fast path without a write transaction: the runtime SDK re-registers the
	// same key on every start, so most PUTs change nothing.
	rec, err := s.orgServer(c.org, c.id)
	if err != nil || !c.changes(rec) {
		return rec, err
	}
	err = s.update(func(tx *bolt.Tx) error {
		var err error
		rec, err = applyKeyChange(tx, c)
		return err
	})
	return rec, err
}

// changes reports whether c would modify rec.
func (c keyChange) changes(rec serverRecord) bool {
	return !bytes.Equal(rec.PublicKey, c.key.raw) || (c.name != "" && c.name != rec.Name)
}

func applyKeyChange(tx *bolt.Tx, c keyChange) (serverRecord, error) {
	rec, err := getOrgServer(tx, c.org, c.id)
	if err != nil || !c.changes(rec) {
		return rec, err
	}
	if c.name != "" {
		rec.Name = c.name
	}
	rec.UpdatedAt = c.now
	if !bytes.Equal(rec.PublicKey, c.key.raw) {
		oldThumbprint := keys.Thumbprint(rec.PublicKey)
		rec.PublicKey, rec.PublicKeyPEM, rec.DIDKey = bytes.Clone(c.key.raw), c.key.pem, c.key.didKey
		rec.KeyUpdatedAt = c.now
		ofOldKey := func(b badgeRecord) bool { return b.KeyThumbprint == oldThumbprint }
		if err := revokeServerBadges(tx, rec.ID, c.now, protocol.ReasonKeyRotated, ofOldKey); err != nil {
			return rec, err
		}
	}
	return rec, putJSON(tx.Bucket(bucketServers), []byte(rec.ID), rec)
}

// deleteServer removes a server of org and revokes its outstanding badges with
// reason server_deleted. The badge records stay, so their status still answers.
func (s *store) deleteServer(org, id string, now time.Time) (serverRecord, error) {
	var rec serverRecord
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		if rec, err = getOrgServer(tx, org, id); err != nil {
			return err
		}
		all := func(badgeRecord) bool { return true }
		if err := revokeServerBadges(tx, id, now, protocol.ReasonServerDeleted, all); err != nil {
			return err
		}
		if err := deletePrefix(tx.Bucket(bucketServerBadges), []byte(id)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketOrgServers).Delete(orgSeqKey(org, rec.Seq)); err != nil {
			return err
		}
		return tx.Bucket(bucketServers).Delete([]byte(id))
	})
	return rec, err
}

// setStatus enables or disables a server of org.
func (s *store) setStatus(org, id, status string, now time.Time) (serverRecord, error) {
	var rec serverRecord
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		if rec, err = getOrgServer(tx, org, id); err != nil || rec.Status == status {
			return err
		}
		rec.Status, rec.UpdatedAt, rec.DisabledAt = status, now, nil
		if status == protocol.StatusDisabled {
			rec.DisabledAt = &now
		}
		return putJSON(tx.Bucket(bucketServers), []byte(id), rec)
	})
	return rec, err
}

// ---- badges ----

// badgeIssue is one badge request for a server of org. The server record is
// read in the same write transaction that records the badge, so a concurrent
// key rotation either sees the badge (and revokes it) or happens before it
// (and the badge carries the new key).
type badgeIssue struct {
	org, id string
	jti     string
	subject string
	domain  string // from the request; empty keeps the stored domain
	now     time.Time
	ttl     time.Duration
}

// issueBadge records a badge and returns it with the server record it was
// issued for. A request domain is remembered as the server's domain, so
// renewals that send {} keep it.
func (s *store) issueBadge(b badgeIssue) (serverRecord, badgeRecord, error) {
	var rec serverRecord
	var badge badgeRecord
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		if rec, err = getOrgServer(tx, b.org, b.id); err != nil {
			return err
		}
		if rec.Status != protocol.StatusActive {
			return errServerDisabled
		}
		if err := rememberDomain(tx, &rec, b); err != nil {
			return err
		}
		badge = newBadgeRecord(rec, b)
		return putBadge(tx, badge)
	})
	return rec, badge, err
}

func rememberDomain(tx *bolt.Tx, rec *serverRecord, b badgeIssue) error {
	if b.domain == "" || b.domain == rec.Domain {
		return nil
	}
	rec.Domain, rec.UpdatedAt = b.domain, b.now
	return putJSON(tx.Bucket(bucketServers), []byte(rec.ID), rec)
}

func newBadgeRecord(rec serverRecord, b badgeIssue) badgeRecord {
	iat := b.now.Unix()
	exp := iat + int64(b.ttl/time.Second)
	return badgeRecord{
		JTI:           b.jti,
		ServerID:      rec.ID,
		Org:           rec.Org,
		Subject:       b.subject,
		KeyThumbprint: keys.Thumbprint(rec.PublicKey),
		IssuedAt:      time.Unix(iat, 0).UTC(),
		ExpiresAt:     time.Unix(exp, 0).UTC(),
	}
}

func putBadge(tx *bolt.Tx, b badgeRecord) error {
	if err := putJSON(tx.Bucket(bucketBadges), []byte(b.JTI), b); err != nil {
		return err
	}
	return tx.Bucket(bucketServerBadges).Put(serverBadgeKey(b.ServerID, b.ExpiresAt.Unix(), b.JTI), nil)
}

// badge returns the badge with this jti, whatever its organisation.
func (s *store) badge(jti string) (badgeRecord, error) {
	var b badgeRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		found, err := getJSON(tx.Bucket(bucketBadges), []byte(jti), &b)
		if err == nil && !found {
			err = errNotFound
		}
		return err
	})
	return b, err
}

// revokeBadge revokes a badge of org. Revoking a revoked badge returns it
// unchanged (the first revocation's time and reason stand).
func (s *store) revokeBadge(org, jti, reason string, now time.Time) (badgeRecord, error) {
	var b badgeRecord
	err := s.update(func(tx *bolt.Tx) error {
		b = badgeRecord{} // fn may run twice; decode into a clean record
		found, err := getJSON(tx.Bucket(bucketBadges), []byte(jti), &b)
		switch {
		case err != nil:
			return err
		case !found || b.Org != org:
			return errNotFound
		case b.Revoked:
			return nil
		}
		return revokeInTx(tx, &b, reason, now)
	})
	return b, err
}

// revokeServerBadges revokes every unexpired, unrevoked badge of a server that
// match accepts.
func revokeServerBadges(tx *bolt.Tx, serverID string, now time.Time, reason string, match func(badgeRecord) bool) error {
	badges := tx.Bucket(bucketBadges)
	prefix := []byte(serverID)
	c := tx.Bucket(bucketServerBadges).Cursor()
	for k, _ := c.Seek(serverBadgeKey(serverID, now.Unix(), "")); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		jti := k[len(prefix)+8:]
		var b badgeRecord
		found, err := getJSON(badges, jti, &b)
		if err != nil {
			return err
		}
		if !found || b.Revoked || !match(b) {
			continue
		}
		if err := revokeInTx(tx, &b, reason, now); err != nil {
			return err
		}
	}
	return nil
}

func revokeInTx(tx *bolt.Tx, b *badgeRecord, reason string, now time.Time) error {
	b.Revoked, b.Reason, b.RevokedAt = true, reason, &now
	if err := putJSON(tx.Bucket(bucketBadges), []byte(b.JTI), b); err != nil {
		return err
	}
	return putJSON(tx.Bucket(bucketRevocations), revocationKey(now, b.JTI), revocationRecord{Reason: reason})
}

// listRevocations returns up to limit revocations in time order, starting
// after the key after (a cursor) or, without one, at since. next is the cursor
// of the following page, nil when there are no more.
func (s *store) listRevocations(after []byte, since time.Time, limit int) ([]protocol.Revocation, []byte, error) {
	var out []protocol.Revocation
	var next []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		out, next = []protocol.Revocation{}, nil
		c := tx.Bucket(bucketRevocations).Cursor()
		for k, v := seekRevocations(c, after, since); k != nil; k, v = c.Next() {
			if len(out) == limit {
				next = revocationKey(out[len(out)-1].RevokedAt, out[len(out)-1].JTI)
				return nil
			}
			entry, err := decodeRevocation(k, v)
			if err != nil {
				return err
			}
			out = append(out, entry)
		}
		return nil
	})
	return out, next, err
}

// seekRevocations positions c on the first revocation after the cursor key
// after, or at or after since when there is no cursor.
func seekRevocations(c *bolt.Cursor, after []byte, since time.Time) ([]byte, []byte) {
	switch {
	case after != nil:
		k, v := c.Seek(after)
		if bytes.Equal(k, after) {
			return c.Next()
		}
		return k, v
	case since.IsZero():
		return c.First()
	default:
		return c.Seek(revocationKey(since, ""))
	}
}

func decodeRevocation(k, v []byte) (protocol.Revocation, error) {
	if len(k) < 8 {
		return protocol.Revocation{}, fmt.Errorf("corrupt revocation key (%d bytes)", len(k))
	}
	var rec revocationRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return protocol.Revocation{}, fmt.Errorf("corrupt revocation record: %w", err)
	}
	at := time.Unix(0, int64(binary.BigEndian.Uint64(k[:8]))).UTC()
	return protocol.Revocation{JTI: string(k[8:]), RevokedAt: at, Reason: rec.Reason}, nil
}

// ---- helpers ----

func getServer(tx *bolt.Tx, id string) (serverRecord, error) {
	var rec serverRecord
	found, err := getJSON(tx.Bucket(bucketServers), []byte(id), &rec)
	if err == nil && !found {
		err = errNotFound
	}
	return rec, err
}

func getOrgServer(tx *bolt.Tx, org, id string) (serverRecord, error) {
	rec, err := getServer(tx, id)
	if err == nil && rec.Org != org {
		return serverRecord{}, errNotFound
	}
	return rec, err
}

func getJSON(b *bolt.Bucket, key []byte, v any) (bool, error) {
	raw := b.Get(key)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("corrupt record %q: %w", key, err)
	}
	return true, nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}

func deletePrefix(b *bolt.Bucket, prefix []byte) error {
	var doomed [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		doomed = append(doomed, bytes.Clone(k))
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// orgKey is org 0x00 suffix. Org names never contain 0x00 (validOrg).
func orgKey(org, suffix string) []byte {
	k := make([]byte, 0, len(org)+1+len(suffix))
	k = append(k, org...)
	k = append(k, 0)
	return append(k, suffix...)
}

func orgSeqKey(org string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(orgKey(org, ""), seq)
}

func serverBadgeKey(serverID string, exp int64, jti string) []byte {
	k := make([]byte, 0, len(serverID)+8+len(jti))
	k = append(k, serverID...)
	k = binary.BigEndian.AppendUint64(k, uint64(max(exp, 0)))
	return append(k, jti...)
}

func revocationKey(at time.Time, jti string) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(jti)), uint64(max(at.UnixNano(), 0)))
	return append(k, jti...)
}
