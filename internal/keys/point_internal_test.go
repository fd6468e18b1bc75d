package keys

import (
	"crypto/ed25519"
	"encoding/binary"
	"testing"
)

// TestGoodPoints: the memo of checked keys returns what the check itself
// returns, never keeps a key that failed, and stays bounded.
func TestGoodPoints(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if f := checkPoint(pub); f != pointOK || !goodPoints.has(pub) {
		t.Fatalf("a generated key: fault %v, remembered %v; want OK and remembered", f, goodPoints.has(pub))
	}
	if f := checkPoint(pub); f != pointOK {
		t.Fatalf("a remembered key: fault %v", f)
	}
	identity := make([]byte, 32)
	identity[0] = 1 // the identity point: small order
	for range 2 {
		if f := checkPoint(identity); f != pointSmallOrder || goodPoints.has(identity) {
			t.Fatalf("the identity point: fault %v, remembered %v; want small order, never remembered", f, goodPoints.has(identity))
		}
	}
	var key [32]byte
	for i := range maxGoodPoints + 10 {
		binary.LittleEndian.PutUint64(key[:], uint64(i))
		goodPoints.add(key[:])
	}
	goodPoints.mu.Lock()
	n := len(goodPoints.m)
	goodPoints.mu.Unlock()
	if n > maxGoodPoints {
		t.Errorf("the memo holds %d keys, more than %d", n, maxGoodPoints)
	}
}

// BenchmarkCheckPoint: the first check of a key against one it has seen.
func BenchmarkCheckPoint(b *testing.B) {
	pub, _, _ := ed25519.GenerateKey(nil)
	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			if checkPointUncached(pub) != pointOK {
				b.Fatal("not OK")
			}
		}
	})
	b.Run("remembered", func(b *testing.B) {
		for b.Loop() {
			if checkPoint(pub) != pointOK {
				b.Fatal("not OK")
			}
		}
	})
}
