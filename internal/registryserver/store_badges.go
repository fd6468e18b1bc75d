package registryserver

// The store's badges and revocations. store.go describes the store: why bbolt, the
// durability it gives and the layout of its buckets.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// Badges and revocations in the store.

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
