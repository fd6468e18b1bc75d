package registryserver

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// smallStore writes a bbolt file at dir/registry.db with a bucket "big" of n
// records (a branch root from about 200 on) and one value of five pages. persistFreelist stores the
// freelist in a page, as bbolt does without NoFreelistSync. It returns the
// page size and the root page of "big".
func smallStore(t *testing.T, dir string, n int, persistFreelist bool) (pageSize int, bigRoot uint64) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, dbFile), 0o600, &bolt.Options{NoFreelistSync: !persistFreelist})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("big"))
		if err != nil {
			return err
		}
		for i := range n {
			if err := b.Put(fmt.Appendf(nil, "key-%06d", i), []byte(strings.Repeat("v", 100))); err != nil {
				return err
			}
		}
		// One value spanning several pages, so the store has overflow pages.
		return b.Put([]byte("large"), []byte(strings.Repeat("L", 5*os.Getpagesize())))
	})
	if err != nil {
		t.Fatal(err)
	}
	// A second transaction frees the pages the first one replaced, so the
	// freelist has entries.
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("big")).Put([]byte("key-000000"), []byte("w")) }); err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		bigRoot = uint64(tx.Bucket([]byte("big")).Root())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return db.Info().PageSize, bigRoot
}

// editFile changes the bytes of dir/registry.db.
func editFile(t *testing.T, dir string, edit func(raw []byte)) {
	t.Helper()
	path := filepath.Join(dir, dbFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edit(raw)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// editMeta changes a field of both meta pages and fixes their checksums, so
// only the field itself is wrong.
func editMeta(pageSize int, edit func(meta []byte)) func(raw []byte) {
	return func(raw []byte) {
		for _, at := range []int{0, pageSize} {
			meta := raw[at+boltPageHeaderSize : at+boltPageHeaderSize+boltMetaSize]
			edit(meta)
			sum := fnv.New64a()
			sum.Write(meta[:boltMetaSummed])
			binary.NativeEndian.PutUint64(meta[boltMetaSummed:], sum.Sum64())
		}
	}
}

// currentMeta returns the offset of the meta page bbolt uses (highest txid).
func currentMeta(raw []byte, pageSize int) int {
	txid := func(at int) uint64 { return binary.NativeEndian.Uint64(raw[at+boltPageHeaderSize+48:]) }
	if txid(pageSize) > txid(0) {
		return pageSize
	}
	return 0
}

// TestOpenStore_Damage checks the refusals of openStore the binary-level test
// does not reach: fields a valid checksum vouches for, the page graph, and a
// persisted freelist. Each refusal names the damage and leaves the file as
// it was.
func TestOpenStore_Damage(t *testing.T) {
	t.Parallel()
	ne := binary.NativeEndian
	cases := map[string]struct {
		records         int
		persistFreelist bool
		damage          func(t *testing.T, raw []byte, pageSize int, bigRoot uint64)
		wantErr         string // "" for a store that must open
	}{
		"healthy, freelist in a page": {records: 500, persistFreelist: true},
		"healthy, no freelist page":   {records: 500},
		"no bbolt magic": {records: 10, damage: func(t *testing.T, raw []byte, ps int, _ uint64) {
			editMeta(ps, func(m []byte) { ne.PutUint32(m[0:], 0x12345678) })(raw)
		}, wantErr: "meta page 0 lacks the bbolt magic number"},
		"other format version": {records: 10, damage: func(t *testing.T, raw []byte, ps int, _ uint64) {
			editMeta(ps, func(m []byte) { ne.PutUint32(m[4:], 3) })(raw)
		}, wantErr: "meta page 0 has format version 3, want 2"},
		"impossible page size": {records: 10, damage: func(t *testing.T, raw []byte, ps int, _ uint64) {
			editMeta(ps, func(m []byte) { ne.PutUint32(m[8:], 3000) })(raw)
		}, wantErr: "impossible page size 3000"},
		"root page past the high-water mark": {records: 10, damage: func(t *testing.T, raw []byte, ps int, _ uint64) {
			editMeta(ps, func(m []byte) { ne.PutUint64(m[16:], ne.Uint64(m[40:])+5) })(raw)
		}, wantErr: "names root page"},
		"high-water mark past the end": {records: 10, damage: func(t *testing.T, raw []byte, ps int, _ uint64) {
			editMeta(ps, func(m []byte) { ne.PutUint64(m[40:], uint64(len(raw)/ps)+1) })(raw)
		}, wantErr: "the file is truncated"},
		"freelist lists a page past the end": {records: 500, persistFreelist: true, damage: func(t *testing.T, raw []byte, ps int, _ uint64) {
			m := raw[currentMeta(raw, ps)+boltPageHeaderSize:]
			page := raw[int(ne.Uint64(m[32:]))*ps:]
			if ne.Uint16(page[10:]) == 0 {
				t.Fatal("the freelist is empty; nothing to damage")
			}
			ne.PutUint64(page[boltPageHeaderSize:], 1<<40)
		}, wantErr: "lists page 1099511627776"},
		"branch without elements": {records: 500, damage: func(t *testing.T, raw []byte, ps int, root uint64) {
			page := raw[int(root)*ps:]
			if ne.Uint16(page[8:]) != boltBranchPage {
				t.Fatalf("the root of big is not a branch page")
			}
			ne.PutUint16(page[10:], 0)
		}, wantErr: "is a branch page without elements"},
		"page referenced twice": {records: 500, damage: func(t *testing.T, raw []byte, ps int, root uint64) {
			page := raw[int(root)*ps:]
			first := page[boltPageHeaderSize:]
			second := page[boltPageHeaderSize+boltElementSize:]
			ne.PutUint64(second[8:], ne.Uint64(first[8:]))
		}, wantErr: "is referenced twice"},
		"child of the wrong type": {records: 500, damage: func(t *testing.T, raw []byte, ps int, root uint64) {
			child := raw[int(ne.Uint64(raw[int(root)*ps+boltPageHeaderSize+8:]))*ps:]
			ne.PutUint16(child[8:], boltFreelistPage)
		}, wantErr: "want a branch or leaf page"},
		"overflow past the end": {records: 500, damage: func(t *testing.T, raw []byte, ps int, root uint64) {
			ne.PutUint32(raw[int(root)*ps+12:], 1<<30)
		}, wantErr: "overflow pages, past the end"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			pageSize, bigRoot := smallStore(t, dir, tc.records, tc.persistFreelist)
			if tc.damage != nil {
				editFile(t, dir, func(raw []byte) { tc.damage(t, raw, pageSize, bigRoot) })
			}
			before, err := os.ReadFile(filepath.Join(dir, dbFile))
			if err != nil {
				t.Fatal(err)
			}
			st, err := openStore(filepath.Join(dir, dbFile), false)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("openStore: %v", err)
				}
				_ = st.close()
				return
			}
			if err == nil {
				_ = st.close()
				t.Fatalf("openStore succeeded, want an error containing %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "is corrupt: ") || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q, want one line saying the store is corrupt: %s", err, tc.wantErr)
			}
			if after, _ := os.ReadFile(filepath.Join(dir, dbFile)); string(after) != string(before) {
				t.Errorf("openStore changed the refused file")
			}
		})
	}
}

// TestNew_DataDirRules checks the start-up rules that need a running registry
// or a store made another way: a locked store is "locked", not "corrupt", and
// a store without badges gets a CA key minted.
func TestNew_DataDirRules(t *testing.T) {
	t.Parallel()
	t.Run("store of a running registry is locked, not corrupt", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		running, err := New(Config{DataDir: dir, PublicURL: "http://localhost:8080"})
		if err != nil {
			t.Fatal(err)
		}
		defer running.Close()
		_, err = New(Config{DataDir: dir, PublicURL: "http://localhost:8080"})
		if err == nil || !strings.Contains(err.Error(), "locked by another process") {
			t.Errorf("second New: %v, want a 'locked' error", err)
		}
		if _, _, err := InitCA(dir); err == nil || !strings.Contains(err.Error(), "already exists") {
			t.Errorf("InitCA on a running registry's directory: %v, want 'already exists'", err)
		}
	})
	t.Run("store made by keys create, without badges, gets a CA key", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		if _, err := AddAPIKey(dir, "acme"); err != nil {
			t.Fatal(err)
		}
		s, err := New(Config{DataDir: dir, PublicURL: "http://localhost:8080"})
		if err != nil {
			t.Fatalf("New on a store made by keys create: %v", err)
		}
		defer s.Close()
		if _, err := os.Stat(filepath.Join(dir, caKeyFile)); err != nil {
			t.Errorf("no CA key minted: %v", err)
		}
	})
	t.Run("ca init while a registry runs is locked", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		running, err := New(Config{DataDir: dir, PublicURL: "http://localhost:8080"})
		if err != nil {
			t.Fatal(err)
		}
		defer running.Close()
		if err := os.Remove(filepath.Join(dir, caKeyFile)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := InitCA(dir); err == nil || !strings.Contains(err.Error(), "locked by another process") {
			t.Errorf("InitCA: %v, want a 'locked' error", err)
		}
		if _, err := os.Stat(filepath.Join(dir, caKeyFile)); err == nil {
			t.Errorf("InitCA wrote a CA key while the registry ran")
		}
	})
}
