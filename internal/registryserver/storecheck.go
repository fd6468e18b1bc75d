package registryserver

// Checking registry.db before bbolt maps it.
//
// bbolt reads its file through a memory map and trusts what it finds: a file
// shorter than its meta page says ends in SIGBUS when a page past the end is
// touched, and a damaged page header or element table ends in a panic or a
// segmentation fault, often in a goroutine bbolt starts itself (the freelist
// scan at open), where no recover() can reach it. So the store is checked
// with plain reads first, against bbolt's own format (go.etcd.io/bbolt v1.5.0,
// file format version 2, native byte order):
//
//	page header (16 bytes)  id uint64, flags uint16, count uint16, overflow uint32
//	meta (pages 0 and 1)    magic uint32, version uint32, pageSize uint32, flags uint32,
//	                        root bucket {root pgid, sequence} (16), freelist pgid,
//	                        high-water mark pgid, txid, FNV-64a checksum of the 56 bytes before it
//	branch element (16)     pos uint32, ksize uint32, child pgid   (pos counts from the element)
//	leaf element (16)       flags uint32, pos uint32, ksize uint32, vsize uint32
//	bucket value            {root pgid, sequence}, then, when root is 0, an inline leaf page
//
// verifyStoreFile checks both meta pages, the file size against the
// high-water mark, and walks every page reachable from the current meta:
// each must name itself, be a branch or leaf page, lie below the high-water
// mark, be referenced once, hold its elements inside its own bytes, and keep
// its keys in the order and range its parent promises (the invariants bbolt's
// own check enforces; bbolt's open-time freelist scan panics on a breach of
// them, in a goroutine of its own). Once that holds, bbolt can map the file
// and run its own consistency check (Tx.Check) without faulting. Neither check
// can see a flipped byte inside a stored value (bbolt has no page checksums);
// such a record fails to decode when read, and the request gets a 500 with a
// log line.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"math"
)

// bbolt's on-disk format.
const (
	boltMagic          = 0xED0CDAED
	boltVersion        = 2
	boltPageHeaderSize = 16
	boltMetaSize       = 64 // meta fields after the page header
	boltMetaSummed     = 56 // bytes of the meta its checksum covers
	boltElementSize    = 16 // branch and leaf elements alike
	boltBucketHeader   = 16 // root pgid + sequence
	boltNoFreelist     = math.MaxUint64

	boltBranchPage   = 0x01
	boltLeafPage     = 0x02
	boltMetaPage     = 0x04
	boltFreelistPage = 0x10
	boltBucketLeaf   = 0x01

	minBoltPageSize = 1 << 9
	maxBoltPageSize = 1 << 24
)

// ne is the byte order bbolt writes: the machine's own.
var ne = binary.NativeEndian

// boltMeta is one decoded meta page.
type boltMeta struct {
	pageSize uint64
	root     uint64 // root page of the top-level bucket
	freelist uint64
	hwm      uint64 // high-water mark: pages 0..hwm-1 exist
	txid     uint64
}

// verifyStoreFile checks the bbolt file f of size bytes as described at the
// top of this file. Its error says what is damaged, in a phrase that follows
// "registry.db is corrupt: ".
func verifyStoreFile(f io.ReaderAt, size int64) error {
	meta0, err := readMeta(f, 0, 0)
	if err != nil {
		return err
	}
	meta1, err := readMeta(f, 1, meta0.pageSize)
	if err != nil {
		return err
	}
	current := meta0
	if meta1.txid > meta0.txid {
		current = meta1
	}
	for _, m := range []boltMeta{meta0, meta1} {
		if m.hwm > uint64(size)/m.pageSize {
			return fmt.Errorf("the file is truncated: it has %d bytes, but its meta page says it holds %d pages of %d bytes (%d bytes)", size, m.hwm, m.pageSize, m.hwm*m.pageSize)
		}
	}
	w := &pageWalker{f: f, pageSize: current.pageSize, hwm: current.hwm, seen: make([]uint64, current.hwm/64+1)}
	if err := w.walkTree(current.root, nil, nil); err != nil {
		return err
	}
	if current.freelist != boltNoFreelist {
		return w.checkFreelist(current.freelist)
	}
	return nil
}

// readMeta reads and validates meta page id (0 or 1). pageSize is where page
// 1 starts; page 0 gives it.
func readMeta(f io.ReaderAt, id, pageSize uint64) (boltMeta, error) {
	buf := make([]byte, boltPageHeaderSize+boltMetaSize)
	if _, err := f.ReadAt(buf, int64(id*pageSize)); err != nil {
		return boltMeta{}, fmt.Errorf("meta page %d cannot be read (%v); the file is truncated", id, err)
	}
	m := buf[boltPageHeaderSize:]
	sum := fnv.New64a()
	sum.Write(m[:boltMetaSummed])
	switch {
	case ne.Uint32(m[0:]) != boltMagic:
		return boltMeta{}, fmt.Errorf("meta page %d lacks the bbolt magic number", id)
	case ne.Uint32(m[4:]) != boltVersion:
		return boltMeta{}, fmt.Errorf("meta page %d has format version %d, want %d", id, ne.Uint32(m[4:]), boltVersion)
	case ne.Uint64(m[56:]) != sum.Sum64():
		return boltMeta{}, fmt.Errorf("meta page %d fails its checksum", id)
	case ne.Uint64(buf[0:]) != id || ne.Uint16(buf[8:]) != boltMetaPage:
		return boltMeta{}, fmt.Errorf("meta page %d has a damaged page header", id)
	}
	meta := boltMeta{
		pageSize: uint64(ne.Uint32(m[8:])),
		root:     ne.Uint64(m[16:]),
		freelist: ne.Uint64(m[32:]),
		hwm:      ne.Uint64(m[40:]),
		txid:     ne.Uint64(m[48:]),
	}
	return meta, meta.validate(id, pageSize)
}

// validate checks the fields of meta page id that its checksum cannot vouch
// for being sane.
func (m boltMeta) validate(id, pageSize uint64) error {
	switch {
	case m.hwm < 3:
		return fmt.Errorf("meta page %d has an impossible high-water mark %d", id, m.hwm)
	case m.pageSize < minBoltPageSize || m.pageSize > maxBoltPageSize || m.pageSize&(m.pageSize-1) != 0:
		return fmt.Errorf("meta page %d has an impossible page size %d", id, m.pageSize)
	case id == 1 && m.pageSize != pageSize:
		return fmt.Errorf("meta page 1 has page size %d, meta page 0 %d", m.pageSize, pageSize)
	case m.root < 2 || m.root >= m.hwm:
		return fmt.Errorf("meta page %d names root page %d outside pages 2-%d", id, m.root, m.hwm-1)
	case m.freelist != boltNoFreelist && (m.freelist < 2 || m.freelist >= m.hwm):
		return fmt.Errorf("meta page %d names freelist page %d outside pages 2-%d", id, m.freelist, m.hwm-1)
	}
	return nil
}

// pageWalker reads pages with plain reads and remembers which it has seen.
type pageWalker struct {
	f        io.ReaderAt
	pageSize uint64
	hwm      uint64
	seen     []uint64 // bit set of page ids
}

// readPage returns page id with its overflow pages, after checking that its
// header names it, that it lies below the high-water mark and that no other
// reference reached it before.
func (w *pageWalker) readPage(id uint64) (page []byte, flags uint16, count int, err error) {
	if id < 2 || id >= w.hwm {
		return nil, 0, 0, fmt.Errorf("a reference to page %d points outside pages 2-%d", id, w.hwm-1)
	}
	page = make([]byte, w.pageSize)
	if _, err := w.f.ReadAt(page, int64(id*w.pageSize)); err != nil {
		return nil, 0, 0, fmt.Errorf("page %d cannot be read: %v", id, err)
	}
	if got := ne.Uint64(page); got != id {
		return nil, 0, 0, fmt.Errorf("page %d names itself page %d", id, got)
	}
	span := uint64(ne.Uint32(page[12:])) + 1
	if span > w.hwm-id {
		return nil, 0, 0, fmt.Errorf("page %d claims %d overflow pages, past the end of the store", id, span-1)
	}
	for p := id; p < id+span; p++ {
		if w.seen[p/64]&(1<<(p%64)) != 0 {
			return nil, 0, 0, fmt.Errorf("page %d is referenced twice", p)
		}
		w.seen[p/64] |= 1 << (p % 64)
	}
	if span > 1 {
		whole := make([]byte, span*w.pageSize)
		copy(whole, page)
		if _, err := w.f.ReadAt(whole[w.pageSize:], int64((id+1)*w.pageSize)); err != nil {
			return nil, 0, 0, fmt.Errorf("page %d cannot be read: %v", id, err)
		}
		page = whole
	}
	return page, ne.Uint16(page[8:]), int(ne.Uint16(page[10:])), nil
}

// walkTree checks the B+tree rooted at page id, whose keys must lie in
// [lo, hi) (nil: unbounded), and every sub-bucket below it.
func (w *pageWalker) walkTree(id uint64, lo, hi []byte) error {
	page, flags, count, err := w.readPage(id)
	if err != nil {
		return err
	}
	where := fmt.Sprintf("page %d", id)
	switch flags {
	case boltBranchPage:
		return w.walkBranch(page, count, where, lo, hi)
	case boltLeafPage:
		roots, err := leafBuckets(page, count, where)
		if err == nil {
			err = keysInOrder(leafKeys(page, count), where, lo, hi)
		}
		for _, root := range roots {
			if err != nil {
				break
			}
			err = w.walkTree(root, nil, nil) // a sub-bucket's keys are its own
		}
		return err
	default:
		return fmt.Errorf("%s has type %#x, want a branch or leaf page", where, flags)
	}
}

// walkBranch checks a branch page and the subtrees below it: child i holds
// the keys from its element's key up to (not including) the next element's.
func (w *pageWalker) walkBranch(page []byte, count int, where string, lo, hi []byte) error {
	children, keys, err := branchChildren(page, count, where)
	if err != nil {
		return err
	}
	if err := keysInOrder(keys, where, lo, hi); err != nil {
		return err
	}
	for i, child := range children {
		next := hi
		if i+1 < len(keys) {
			next = keys[i+1]
		}
		if err := w.walkTree(child, keys[i], next); err != nil {
			return err
		}
	}
	return nil
}

// keysInOrder checks that keys increase strictly and lie in [lo, hi).
func keysInOrder(keys [][]byte, where string, lo, hi []byte) error {
	for i, k := range keys {
		switch {
		case i > 0 && bytes.Compare(keys[i-1], k) >= 0:
			return fmt.Errorf("%s key %d does not sort after key %d", where, i, i-1)
		case lo != nil && bytes.Compare(k, lo) < 0:
			return fmt.Errorf("%s key %d sorts before the range its parent page gives it", where, i)
		case hi != nil && bytes.Compare(k, hi) >= 0:
			return fmt.Errorf("%s key %d sorts after the range its parent page gives it", where, i)
		}
	}
	return nil
}

// elementTable checks that count elements fit in page after its header.
func elementTable(page []byte, count int, where string) error {
	if boltPageHeaderSize+count*boltElementSize > len(page) {
		return fmt.Errorf("%s claims %d elements, more than it can hold", where, count)
	}
	return nil
}

// branchChildren returns the child pages of a branch page and their keys,
// after checking its elements.
func branchChildren(page []byte, count int, where string) (children []uint64, keys [][]byte, err error) {
	if count == 0 {
		return nil, nil, fmt.Errorf("%s is a branch page without elements", where)
	}
	if err := elementTable(page, count, where); err != nil {
		return nil, nil, err
	}
	for i := range count {
		at := boltPageHeaderSize + i*boltElementSize
		elem := page[at:]
		pos, ksize := ne.Uint32(elem[0:]), ne.Uint32(elem[4:])
		if err := inPage(page, at, pos, ksize, 0); err != nil {
			return nil, nil, fmt.Errorf("%s element %d: %w", where, i, err)
		}
		start := uint64(at) + uint64(pos)
		keys = append(keys, page[start:start+uint64(ksize)])
		children = append(children, ne.Uint64(elem[8:]))
	}
	return children, keys, nil
}

// leafKeys returns the keys of a leaf page whose elements leafBuckets has
// checked.
func leafKeys(page []byte, count int) [][]byte {
	keys := make([][]byte, count)
	for i := range count {
		at := boltPageHeaderSize + i*boltElementSize
		pos, ksize := uint64(ne.Uint32(page[at+4:])), uint64(ne.Uint32(page[at+8:]))
		keys[i] = page[uint64(at)+pos : uint64(at)+pos+ksize]
	}
	return keys
}

// leafBuckets checks the elements of a leaf page (or of an inline bucket's
// page) and returns the root pages of the sub-buckets it holds. Inline
// sub-buckets are checked here, as they live inside the value.
func leafBuckets(page []byte, count int, where string) ([]uint64, error) {
	if err := elementTable(page, count, where); err != nil {
		return nil, err
	}
	var roots []uint64
	for i := range count {
		at := boltPageHeaderSize + i*boltElementSize
		elem := page[at:]
		flags, pos, ksize, vsize := ne.Uint32(elem[0:]), ne.Uint32(elem[4:]), ne.Uint32(elem[8:]), ne.Uint32(elem[12:])
		if err := inPage(page, at, pos, ksize, vsize); err != nil {
			return nil, fmt.Errorf("%s element %d: %w", where, i, err)
		}
		if flags&^boltBucketLeaf != 0 {
			return nil, fmt.Errorf("%s element %d has unknown flags %#x", where, i, flags)
		}
		if flags&boltBucketLeaf == 0 {
			continue
		}
		start := uint64(at) + uint64(pos) + uint64(ksize)
		value := page[start : start+uint64(vsize)]
		root, err := bucketRoot(value, fmt.Sprintf("%s element %d", where, i))
		if err != nil {
			return nil, err
		}
		if root != 0 {
			roots = append(roots, root)
		}
	}
	return roots, nil
}

// bucketRoot returns the root page of the bucket stored in value, or 0 after
// checking its inline page when the bucket is inline.
func bucketRoot(value []byte, where string) (uint64, error) {
	if len(value) < boltBucketHeader {
		return 0, fmt.Errorf("%s is a bucket of %d bytes, too short", where, len(value))
	}
	if root := ne.Uint64(value); root != 0 {
		return root, nil
	}
	inline := value[boltBucketHeader:]
	if len(inline) < boltPageHeaderSize || ne.Uint16(inline[8:]) != boltLeafPage {
		return 0, fmt.Errorf("%s is an inline bucket without a leaf page", where)
	}
	// An inline bucket never holds sub-buckets (bbolt only inlines buckets
	// without them), so its page must yield none.
	nested, err := leafBuckets(inline, int(ne.Uint16(inline[10:])), where+" (inline bucket)")
	if err == nil && len(nested) > 0 {
		err = fmt.Errorf("%s is an inline bucket holding sub-buckets", where)
	}
	return 0, err
}

// inPage checks that the key (and value) of the element at offset at, which
// start pos bytes after the element, lie inside page.
func inPage(page []byte, at int, pos, ksize, vsize uint32) error {
	end := uint64(at) + uint64(pos) + uint64(ksize) + uint64(vsize)
	if end > uint64(len(page)) {
		return fmt.Errorf("its key and value end at byte %d, past the page's %d bytes", end, len(page))
	}
	return nil
}

// checkFreelist checks a persisted freelist page: its header, its length and
// that every page it lists lies inside the store.
func (w *pageWalker) checkFreelist(id uint64) error {
	page, flags, count, err := w.readPage(id)
	if err != nil {
		return err
	}
	if flags != boltFreelistPage {
		return fmt.Errorf("freelist page %d has type %#x", id, flags)
	}
	first, n := uint64(boltPageHeaderSize), uint64(count)
	if count == 0xFFFF { // the real count is in the first slot
		if len(page) < boltPageHeaderSize+8 {
			return fmt.Errorf("freelist page %d is truncated", id)
		}
		first, n = first+8, ne.Uint64(page[boltPageHeaderSize:])
	}
	if n > (uint64(len(page))-first)/8 {
		return fmt.Errorf("freelist page %d claims %d free pages, more than it can hold", id, n)
	}
	for i := range n {
		if free := ne.Uint64(page[first+8*i:]); free < 2 || free >= w.hwm {
			return fmt.Errorf("freelist page %d lists page %d, outside pages 2-%d", id, free, w.hwm-1)
		}
	}
	return nil
}
