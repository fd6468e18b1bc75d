package keys

import (
	"bytes"
	"sync"

	"filippo.io/edwards25519"
)

// pointFault is what makes 32 bytes unusable as an Ed25519 public key.
type pointFault int

const (
	pointOK pointFault = iota
	// pointNotOnCurve: the bytes decode to no point (damage, or not a key).
	pointNotOnCurve
	// pointNonCanonical: a point, but not written the one way RFC 8032
	// writes it (y not reduced mod p, or the sign bit set while x = 0). The
	// same key then has several encodings, so several did:keys and
	// thumbprints, and implementations disagree on whether to accept it.
	pointNonCanonical
	// pointSmallOrder: one of the 8 points P with [8]P = identity. Signatures
	// under such a key need no secret: with S = 0 and R a small-order point,
	// crypto/ed25519 and other cofactorless verifiers accept R, S for every
	// message when the key is the identity, and for most messages (trying the
	// 8 choices of R) under the other 7.
	pointSmallOrder
	// pointMixedOrder: a key of prime order plus a small-order component.
	// No key generator produces one; cofactored and cofactorless verifiers
	// disagree on which signatures are valid under it.
	pointMixedOrder
)

// lMinusOne is L-1 (little-endian), where L = 2^252 +
// 27742317777372353535851937790883648493 is the order of the base point. L
// itself is 0 as a Scalar (scalars are reduced mod L), so [L]P is computed as
// [L-1]P + P.
var lMinusOne = func() *edwards25519.Scalar {
	s, err := edwards25519.NewScalar().SetCanonicalBytes([]byte{
		0xec, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
	})
	if err != nil {
		panic(err) // a constant below L: unreachable
	}
	return s
}()

// checkPoint tells whether the 32 bytes of pub are a public key a real
// Ed25519 implementation can have made, and if not, why. A real key is
// A = [s]B for a secret scalar s and the base point B of prime order L, written
// in the canonical encoding. So it lies in the subgroup of order L:
// [L]A = identity and, since a clamped s is never a multiple of L, A is not
// the identity. Anything else is refused. The one costly check, the
// multiplication by L, comes last; each fault is reported by the first check
// that finds it. Every non-canonical encoding that decodes (there are 26)
// happens to be a small- or mixed-order point, so the order checks would
// refuse it too; the canonical check still comes first because it is cheap
// and names the actual fault.
func checkPoint(pub []byte) pointFault {
	if goodPoints.has(pub) {
		return pointOK
	}
	f := checkPointUncached(pub)
	if f == pointOK {
		goodPoints.add(pub)
	}
	return f
}

func checkPointUncached(pub []byte) pointFault {
	p, err := new(edwards25519.Point).SetBytes(pub)
	switch {
	case err != nil:
		return pointNotOnCurve
	// SetBytes accepts non-canonical encodings on purpose (they are valid
	// points); re-encoding gives the canonical form, which must be pub.
	case !bytes.Equal(p.Bytes(), pub):
		return pointNonCanonical
	case isSmallOrder(p):
		return pointSmallOrder
	case !inPrimeOrderSubgroup(p):
		return pointMixedOrder
	}
	return pointOK
}

// goodPoints remembers keys that passed checkPoint. The check is a pure
// function of the 32 bytes and costs a scalar multiplication (about 0.1 ms);
// a provider run meets each key several times (plan, apply, the check of the
// registry's reply, refresh) and the local registry meets a key on create and
// on every registration. Only keys that passed are kept, so nothing an
// attacker sends can make a bad key pass; the set is emptied when it reaches
// maxGoodPoints keys, which bounds its memory (about 1 MiB).
var goodPoints = pointSet{m: map[[32]byte]struct{}{}}

const maxGoodPoints = 1 << 14

type pointSet struct {
	mu sync.Mutex
	m  map[[32]byte]struct{}
}

func (s *pointSet) has(pub []byte) bool {
	if len(pub) != 32 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[[32]byte(pub)]
	return ok
}

func (s *pointSet) add(pub []byte) {
	if len(pub) != 32 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= maxGoodPoints {
		clear(s.m)
	}
	s.m[[32]byte(pub)] = struct{}{}
}

// isSmallOrder reports [8]P = identity: P is one of the 8 points of the
// torsion subgroup, the identity included.
func isSmallOrder(p *edwards25519.Point) bool {
	return new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1
}

// inPrimeOrderSubgroup reports [L]P = identity, that is [L-1]P = -P. A
// public key is public, so the faster variable-time multiplication leaks
// nothing (the base-point term is [0]B).
func inPrimeOrderSubgroup(p *edwards25519.Point) bool {
	lp := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(lMinusOne, p, edwards25519.NewScalar())
	return lp.Equal(new(edwards25519.Point).Negate(p)) == 1
}

// weakKeyError explains f, one of pointNonCanonical, pointSmallOrder and
// pointMixedOrder (pointNotOnCurve is worded by each parser for its input).
// subject names the key ("the SPKI public key", "the did:key", ...). The
// message quotes no key bytes.
func weakKeyError(f pointFault, subject string) error {
	switch f {
	case pointNonCanonical:
		return fail(ErrWeakKey, "%s is not written in the one canonical form (its y coordinate is not reduced mod 2^255-19, or it sets the sign of x = 0): no Ed25519 implementation writes a key that way, and it would give one key several did:keys; %s", subject, generateHint)
	case pointSmallOrder:
		return fail(ErrWeakKey, "%s is a small-order point (such as the all-zero or identity key), not a real key: anyone can forge signatures that verify under it, without any private key; %s", subject, generateHint)
	default:
		return fail(ErrWeakKey, "%s has a small-order component (it is outside the prime-order subgroup every real Ed25519 key lies in), so verifiers disagree on which signatures are valid under it; no Ed25519 implementation generates such a key: %s", subject, generateHint)
	}
}
