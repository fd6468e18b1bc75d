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
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
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
