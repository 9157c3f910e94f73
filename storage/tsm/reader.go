package tsm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/bits-and-blooms/bloom/v3"

	"github.com/chronogo/chronogo/storage"
)

// Reader reads one TSM file. Open loads and verifies the footer, index and bloom filter; blocks are
// read on demand with ReadAt. All methods are safe for concurrent use; Close must wait until no other
// call is running (the engine reference-counts readers).
type Reader struct {
	path      string
	f         readerAtCloser
	info      Info
	ix        *fileIndex
	entries   []Entry // decoded at Open when blocks are large (see eagerBlockPoints), else nil
	bloom     *bloom.BloomFilter
	blocksEnd int64 // = index offset
	indexLen  int64 // of the index section, CRC included
	version   byte
	keysPos   int           // where the series-key table starts in the index payload (v2, v3)
	table     *versionTable // v3: the version table (nil before)
	bufs      sync.Pool
}

func corrupt(path string, off int64, err error) error {
	return &storage.CorruptionError{Path: path, Offset: off, Err: err}
}

// Open opens path and verifies its header, footer, index and bloom filter checksums. Any mismatch or
// undecodable byte is a *storage.CorruptionError naming path and the offset.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open tsm %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("open tsm %s: %w", path, err)
	}
	r, err := openReaderAt(path, f, st.Size())
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return r, nil
}

// readerAtCloser is what a Reader reads from: an *os.File, or bytes in tests and fuzzing.
type readerAtCloser interface {
	io.ReaderAt
	io.Closer
}

// openReaderAt is Open on an already opened file of the given size; path names it in errors.
func openReaderAt(path string, f readerAtCloser, size int64) (*Reader, error) {
	if size < HeaderSize+FooterSize {
		return nil, corrupt(path, 0, fmt.Errorf("file size: got %d bytes; want >= %d", size, HeaderSize+FooterSize))
	}
	var hf [FooterSize]byte
	if err := readFull(f, hf[:HeaderSize], 0); err != nil {
		return nil, fmt.Errorf("open tsm %s: header: %w", path, err)
	}
	if got := binary.BigEndian.Uint32(hf[:4]); got != MagicNumber {
		return nil, corrupt(path, 0, fmt.Errorf("header magic: got %#08x; want %#08x", got, MagicNumber))
	}
	version := hf[4]
	if version < FormatV1 || version > FormatV5 {
		return nil, corrupt(path, 4, fmt.Errorf("header version: got %d; want %d..%d", version, FormatV1, FormatV5))
	}
	footOff := size - FooterSize
	if err := readFull(f, hf[:], footOff); err != nil {
		return nil, fmt.Errorf("open tsm %s: footer: %w", path, err)
	}
	ft, err := parseFooter(hf[:])
	if err != nil {
		return nil, corrupt(path, footOff, err)
	}
	if ft.version != version {
		return nil, corrupt(path, footOff+23, fmt.Errorf("footer version %d; header says %d", ft.version, version))
	}
	// Sections must tile [HeaderSize, footOff) exactly.
	if ft.indexOffset < HeaderSize || ft.indexLen < crcSize || ft.bloomLen < crcSize ||
		ft.indexOffset > uint64(footOff) || ft.indexLen > uint64(footOff)-ft.indexOffset ||
		ft.indexOffset+ft.indexLen+uint64(ft.bloomLen) != uint64(footOff) {
		return nil, corrupt(path, footOff, fmt.Errorf("footer sections: index at %d len %d, bloom len %d; want them to end at %d",
			ft.indexOffset, ft.indexLen, ft.bloomLen, footOff))
	}
	indexOff := int64(ft.indexOffset)
	sec := make([]byte, footOff-indexOff)
	if err := readFull(f, sec, indexOff); err != nil {
		return nil, fmt.Errorf("open tsm %s: index: %w", path, err)
	}
	idx, bl := sec[:ft.indexLen], sec[ft.indexLen:]
	bloomOff := indexOff + int64(ft.indexLen)
	if err := checkSectionCRC(idx); err != nil {
		return nil, corrupt(path, indexOff, fmt.Errorf("index: %w", err))
	}
	if err := checkSectionCRC(bl); err != nil {
		return nil, corrupt(path, bloomOff, fmt.Errorf("bloom: %w", err))
	}
	payload := idx[:len(idx)-crcSize]
	info := Info{Path: path, Size: size}
	ix, pos, err := decodeIndex(payload, indexOff, blockLimit(version), info.addBlock)
	var table *versionTable
	if err == nil && version >= FormatV3 {
		d := decoder{b: payload, pos: pos}
		var t versionTable
		t, err = decodeVersionTable(&d)
		pos, table = d.pos, &t
	}
	if err == nil {
		pos, err = checkSeriesKeys(payload, pos, version, ix.series)
	}
	if err != nil {
		return nil, corrupt(path, indexOff+int64(pos), fmt.Errorf("index: %w", err))
	}
	bf, err := parseBloom(bl[:len(bl)-crcSize])
	if err != nil {
		return nil, corrupt(path, bloomOff, err)
	}
	r := &Reader{path: path, f: f, ix: ix, bloom: bf, blocksEnd: indexOff, version: version,
		indexLen: int64(ft.indexLen), keysPos: pos, table: table}
	info.Keys, info.Series = int64(ix.nkeys), len(ix.series)
	r.info = info
	if info.Points >= eagerBlockPoints*info.Blocks {
		r.entries = r.decodeAll()
	}
	return r, nil
}

func checkSectionCRC(b []byte) error {
	body := b[:len(b)-crcSize]
	if got, want := checksum(body), binary.BigEndian.Uint32(b[len(body):]); got != want {
		return fmt.Errorf("checksum: got %#08x; want %#08x", got, want)
	}
	return nil
}

func readFull(f io.ReaderAt, b []byte, off int64) error {
	n, err := f.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// Path is the file's path.
func (r *Reader) Path() string { return r.path }

// Info summarises the file.
func (r *Reader) Info() Info { return r.info }

// MayContain reports whether the file may hold series s (false means it certainly does not).
func (r *Reader) MayContain(s storage.SeriesID) bool {
	b := seriesBytes(s)
	return r.bloom.Test(b[:])
}

// eagerBlockPoints: a file whose blocks hold this many points on average (a compaction's) keeps
// its entries decoded, at most 0.17 bytes of memory per point, so that reads need not decode them
// again; a file of small blocks (a flush's, while a load runs) keeps only its encoded index.
const eagerBlockPoints = 1000

// Entries returns every key with its blocks, sorted by CompareKeys (shared, do not modify).
func (r *Reader) Entries() []Entry {
	if r.entries != nil {
		return r.entries
	}
	return r.decodeAll()
}

func (r *Reader) decodeAll() []Entry {
	blocks := make([]BlockMeta, 0, r.info.Blocks)
	entries := make([]Entry, 0, r.ix.nkeys)
	for i := range r.ix.series {
		var err error
		if entries, blocks, err = r.ix.appendSeries(i, entries, blocks); err != nil {
			return entries // unreachable: Open decoded the same bytes
		}
	}
	return entries
}

// SeriesEntries returns the entries of series s (sorted by field, type), in a new slice.
func (r *Reader) SeriesEntries(s storage.SeriesID) []Entry {
	es, _ := r.AppendSeriesEntries(nil, nil, s)
	return es
}

// AppendSeriesEntries decodes the entries of series s (sorted by field, type), appending them to
// dst and their block metas to blocks, which callers reuse between series.
func (r *Reader) AppendSeriesEntries(dst []Entry, blocks []BlockMeta, s storage.SeriesID) ([]Entry, []BlockMeta) {
	i, ok := r.ix.findSeries(s)
	if !ok {
		return dst, blocks
	}
	return r.AppendSeriesAt(i, dst, blocks)
}

// SeriesCount is the number of series the file holds columns of.
func (r *Reader) SeriesCount() int { return len(r.ix.series) }

// AppendSeriesAt is AppendSeriesEntries for the i-th series of the file (0 <= i < SeriesCount, in
// SeriesID order): walking i from 0 visits every entry in key order, a series at a time.
func (r *Reader) AppendSeriesAt(i int, dst []Entry, blocks []BlockMeta) ([]Entry, []BlockMeta) {
	if r.entries != nil {
		// decoded at Open: the entries' Blocks are shared
		lo := r.ix.series[i].first
		return append(dst, r.entries[lo:lo+r.ix.series[i].nkeys]...), blocks
	}
	dst, blocks, _ = r.ix.appendSeries(i, dst, blocks) // an error is unreachable: Open decoded the same bytes
	return dst, blocks
}

// Find returns the entry of key k.
func (r *Reader) Find(k Key) (Entry, bool) {
	for _, e := range r.SeriesEntries(k.Series) {
		if CompareKeys(e.Key, k) == 0 {
			return e, true
		}
	}
	return Entry{}, false
}

// readRaw reads the block described by m into a pooled buffer; the caller must putBuf it.
func (r *Reader) readRaw(m *BlockMeta) (*[]byte, error) {
	if m.Offset < HeaderSize || m.Size < minBlockSize || m.Offset > r.blocksEnd || int64(m.Size) > r.blocksEnd-m.Offset {
		return nil, corrupt(r.path, m.Offset, fmt.Errorf("block at %d size %d: outside the block section [%d, %d)",
			m.Offset, m.Size, HeaderSize, r.blocksEnd))
	}
	bp, _ := r.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	if cap(*bp) < int(m.Size) {
		*bp = make([]byte, m.Size)
	}
	*bp = (*bp)[:m.Size]
	if err := readFull(r.f, *bp, m.Offset); err != nil {
		r.putBuf(bp)
		return nil, fmt.Errorf("read tsm %s block at %d: %w", r.path, m.Offset, err)
	}
	return bp, nil
}

func (r *Reader) putBuf(bp *[]byte) {
	if cap(*bp) <= 4<<20 { // do not pin huge bytes-class blocks
		r.bufs.Put(bp)
	}
}

// ReadBlock reads, verifies and decodes the block m of a key of type typ into dst, reusing dst's slices.
// A checksum or decode failure is a *storage.CorruptionError with the block's offset.
func (r *Reader) ReadBlock(m BlockMeta, typ storage.FieldType, dst *Block) error {
	bp, err := r.readRaw(&m)
	if err != nil {
		return err
	}
	defer r.putBuf(bp)
	if err := decodeBlock(m, typ, *bp, dst, r.table, false); err != nil {
		return corrupt(r.path, m.Offset, err)
	}
	return nil
}

// ReadBlockValues is ReadBlock without versions and seqs (see DecodeBlockValues).
func (r *Reader) ReadBlockValues(m BlockMeta, typ storage.FieldType, dst *Block) error {
	bp, err := r.readRaw(&m)
	if err != nil {
		return err
	}
	defer r.putBuf(bp)
	if err := decodeBlock(m, typ, *bp, dst, r.table, true); err != nil {
		return corrupt(r.path, m.Offset, err)
	}
	return nil
}

// ReadTimes appends the timestamps of block m to dst[:0]. Evenly spaced timestamps are computed from m
// without reading the file.
func (r *Reader) ReadTimes(m BlockMeta, dst []int64) ([]int64, error) {
	if m.timesImplied {
		if err := checkMeta(&m); err != nil {
			return dst[:0], corrupt(r.path, m.Offset, err)
		}
		t, err := impliedTimes(dst[:0], &m)
		if err != nil {
			return t, corrupt(r.path, m.Offset, err)
		}
		return t, nil
	}
	bp, err := r.readRaw(&m)
	if err != nil {
		return dst[:0], err
	}
	defer r.putBuf(bp)
	body, err := checkBlockCRC(m, *bp)
	if err != nil {
		return dst[:0], corrupt(r.path, m.Offset, err)
	}
	b := Block{Times: dst[:0]}
	if err := decodeBlockBody(&m, 0, body, &b, true); err != nil {
		return b.Times, corrupt(r.path, m.Offset, err)
	}
	return b.Times, nil
}

// ReadRawBlock returns a copy of block m's bytes (CRC included) after verifying its checksum, for
// Writer.WriteRawBlock.
func (r *Reader) ReadRawBlock(m BlockMeta) ([]byte, error) {
	bp, err := r.readRaw(&m)
	if err != nil {
		return nil, err
	}
	defer r.putBuf(bp)
	if _, err := checkBlockCRC(m, *bp); err != nil {
		return nil, corrupt(r.path, m.Offset, err)
	}
	return append([]byte(nil), *bp...), nil
}

// Verify reads and decodes every block, checking its CRC and that its content (version and seq
// ranges, pre-aggregates) agrees with the index.
func (r *Reader) Verify() error {
	var b Block
	for _, e := range r.Entries() {
		for bi, m := range e.Blocks {
			if err := r.ReadBlock(m, e.Key.Type, &b); err != nil {
				return err
			}
			if err := checkBlockAgainstMeta(&m, &b); err != nil {
				return corrupt(r.path, m.Offset, fmt.Errorf("key %v: %w", e.Key, err))
			}
			if !m.hourSums {
				continue
			}
			err := r.ReadHourSums(e.Blocks[bi:bi+1], e.Key.Type, func(_ *BlockMeta, sums []HourSum) error {
				return checkHourSums(sums, &b)
			})
			if err != nil {
				return corrupt(r.path, m.Offset, fmt.Errorf("key %v: %w", e.Key, err))
			}
		}
	}
	return nil
}

// Close closes the file. No other method may run concurrently with or after Close.
func (r *Reader) Close() error {
	if err := r.f.Close(); err != nil {
		return fmt.Errorf("close tsm %s: %w", r.path, err)
	}
	return nil
}

// checkBlockAgainstMeta compares a decoded block with the ranges and aggregates its meta claims.
func checkBlockAgainstMeta(m *BlockMeta, b *Block) error {
	if lo, hi := minMax(b.Versions); lo != m.MinVersion || hi != m.MaxVersion {
		return fmt.Errorf("version range: got [%d, %d]; want [%d, %d]", lo, hi, m.MinVersion, m.MaxVersion)
	}
	if lo, hi := minMax(b.Seqs); lo != m.MinSeq || hi != m.MaxSeq {
		return fmt.Errorf("seq range: got [%d, %d]; want [%d, %d]", lo, hi, m.MinSeq, m.MaxSeq)
	}
	if a := computeAgg(&b.Values); !aggEqual(&a, &m.Agg, b.Values.Type.Class() == storage.ClassFloat) {
		return fmt.Errorf("aggregates: got %+v; want %+v", a, m.Agg)
	}
	return nil
}

// aggEqual compares aggregates; those of a float block by bits, except that any two NaN sums are
// equal: which NaN payload an addition propagates depends on the CPU.
func aggEqual(a, b *Agg, float bool) bool {
	if a.Count != b.Count || a.SumOverflow != b.SumOverflow || a.Min != b.Min || a.Max != b.Max ||
		a.First != b.First || a.Last != b.Last {
		return false
	}
	return a.Sum == b.Sum || (float && a.FSum() != a.FSum() && b.FSum() != b.FSum())
}
