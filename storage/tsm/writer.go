package tsm

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/vfs"
)

// WriterOptions configure a Writer.
type WriterOptions struct {
	// BloomFP is the false positive rate of the SeriesID bloom filter; 0 means DefaultBloomFP.
	BloomFP float64
	// SeriesKey returns the encoded storage.SeriesKey of a series written to the file, for its
	// series-key table (FORMAT.md): it makes the file self-describing, so a lost series index can
	// be rebuilt from the files. A series it does not know (a deleted one) gets no entry; nil
	// writes an empty table.
	SeriesKey func(storage.SeriesID) ([]byte, bool)
}

// Writer writes one TSM file: keys in ascending CompareKeys order, each key's points in time order.
// It writes to path+".tmp" and renames to path in Finish. A Writer is not safe for concurrent use.
type Writer struct {
	path, tmp string
	opts      WriterOptions
	f         vfs.File
	bw        *bufio.Writer
	offset    int64
	err       error // sticky: an I/O error ends the writer
	closed    bool

	enc      blockEncoder
	table    tableBuilder
	blockBuf []byte

	copyBuf            []byte // CopyBlock's rebuilt block
	copyVers, copySeqs []uint64
	idx                indexEncoder

	hasKey   bool
	cur      Key
	curMetas []BlockMeta
	lastTime int64 // of the current key's last point, pending or written

	pending pendingPoints

	series []storage.SeriesID
	info   Info
}

// pendingPoints buffers the current key's last partial block until it fills or the key ends.
type pendingPoints struct {
	times    []int64
	vals     storage.Values
	versions []uint64
	seqs     []uint64
	rawBytes int // bytes-class value bytes held
}

func (p *pendingPoints) len() int { return len(p.times) }

func (p *pendingPoints) reset() {
	p.times, p.versions, p.seqs = p.times[:0], p.versions[:0], p.seqs[:0]
	clear(p.vals.Bytes)
	p.vals.Reset()
	p.rawBytes = 0
}

// NewWriter creates path+".tmp" (truncating a stale one) and writes the file header.
func NewWriter(path string, opts WriterOptions) (*Writer, error) {
	if opts.BloomFP == 0 {
		opts.BloomFP = DefaultBloomFP
	}
	if !(opts.BloomFP > 0 && opts.BloomFP < 1) {
		return nil, fmt.Errorf("create tsm %s: bloom false positive rate %v; want in (0, 1)", path, opts.BloomFP)
	}
	tmp := path + ".tmp"
	f, err := vfs.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create tsm %s: %w", path, err)
	}
	w := &Writer{path: path, tmp: tmp, opts: opts, f: f, bw: bufio.NewWriterSize(f, 256<<10)}
	w.enc.table = &w.table
	w.write(appendHeader(nil))
	if w.err != nil {
		_ = w.Abort()
		return nil, w.err
	}
	return w, nil
}

func appendHeader(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, MagicNumber)
	return append(dst, FormatVersion)
}

func (w *Writer) write(b []byte) {
	if w.err != nil {
		return
	}
	n, err := w.bw.Write(b)
	w.offset += int64(n)
	if err != nil {
		w.err = fmt.Errorf("write tsm %s: %w", w.tmp, err)
	}
}

func (w *Writer) usable() error {
	if w.closed {
		return fmt.Errorf("tsm writer %s: already finished or aborted", w.path)
	}
	return w.err
}

// checkKey validates k's order against the current key and makes it current. For a continued key it
// checks that the new points start after the last one.
func (w *Writer) checkKey(k Key, firstTime int64) error {
	if !k.Type.Valid() {
		return fmt.Errorf("tsm writer %s: key %v: invalid field type %#x", w.path, k, uint8(k.Type))
	}
	if len(k.Field) > storage.MaxFieldNameLen {
		return fmt.Errorf("tsm writer %s: field name: got %d bytes; want <= %d", w.path, len(k.Field), storage.MaxFieldNameLen)
	}
	if w.hasKey {
		switch c := CompareKeys(k, w.cur); {
		case c < 0:
			return fmt.Errorf("tsm writer %s: key %v after %v: keys out of order", w.path, k, w.cur)
		case c == 0:
			if firstTime <= w.lastTime {
				return fmt.Errorf("tsm writer %s: key %v: time %d not after %d", w.path, k, firstTime, w.lastTime)
			}
			return nil
		}
		w.finishKey()
		if w.err != nil {
			return w.err
		}
	}
	if !w.hasKey || k.Series != w.cur.Series {
		w.series = append(w.series, k.Series)
	}
	w.hasKey = true
	w.cur = k
	return nil
}

// WriteColumn appends points of key k: times strictly increasing, and after any points the key already
// has in this file. Keys must come in ascending CompareKeys order; writing the same key again continues
// it. Points are split into blocks of at most BlockPoints (bytes-class blocks also close after
// MaxBlockValueBytes). The slices are not retained.
func (w *Writer) WriteColumn(k Key, times []int64, vals *storage.Values, versions, seqs []uint64) error {
	if err := w.usable(); err != nil {
		return err
	}
	n := len(times)
	if vals == nil {
		return fmt.Errorf("tsm writer %s: key %v: nil values", w.path, k)
	}
	if vals.Type != k.Type {
		return fmt.Errorf("tsm writer %s: key %v: values of type %#x", w.path, k, uint8(vals.Type))
	}
	if vals.Len() != n || len(versions) != n || len(seqs) != n {
		return fmt.Errorf("tsm writer %s: key %v: got %d values, %d versions, %d seqs; want %d each",
			w.path, k, vals.Len(), len(versions), len(seqs), n)
	}
	if n == 0 {
		return nil
	}
	for i := 1; i < n; i++ {
		if times[i] <= times[i-1] {
			return fmt.Errorf("tsm writer %s: key %v: time %d at %d not after %d", w.path, k, times[i], i, times[i-1])
		}
	}
	if err := w.checkKey(k, times[0]); err != nil {
		return err
	}
	w.lastTime = times[n-1]
	for i := 0; i < n && w.err == nil; {
		end, full := w.blockEnd(vals, i, n)
		switch {
		case w.pending.len() == 0 && full:
			w.writeBlock(times[i:end], subValues(vals, i, end), versions[i:end], seqs[i:end])
		default:
			w.appendPending(times[i:end], vals, i, end, versions[i:end], seqs[i:end])
			if full {
				w.flushPending()
			}
		}
		i = end
	}
	return w.err
}

// blockEnd returns how far from i the pending block can take points and whether it is then full.
func (w *Writer) blockEnd(vals *storage.Values, i, n int) (end int, full bool) {
	have := w.pending.len()
	if vals.Type.Class() != storage.ClassBytes {
		end = i + min(BlockPoints-have, n-i)
		return end, have+end-i == BlockPoints
	}
	acc := w.pending.rawBytes
	end = i
	for end < n && have+end-i < BlockPoints && acc < MaxBlockValueBytes {
		acc += len(vals.Bytes[end])
		end++
	}
	return end, have+end-i == BlockPoints || acc >= MaxBlockValueBytes
}

func subValues(v *storage.Values, i, j int) *storage.Values {
	s := storage.Values{Type: v.Type}
	switch v.Type.Class() {
	case storage.ClassFloat:
		s.Floats = v.Floats[i:j]
	case storage.ClassInt:
		s.Ints = v.Ints[i:j]
	case storage.ClassBool:
		s.Bools = v.Bools[i:j]
	case storage.ClassBytes:
		s.Bytes = v.Bytes[i:j]
	}
	return &s
}

func (w *Writer) appendPending(times []int64, vals *storage.Values, i, j int, versions, seqs []uint64) {
	p := &w.pending
	p.times = append(p.times, times...)
	p.versions = append(p.versions, versions...)
	p.seqs = append(p.seqs, seqs...)
	p.vals.Type = vals.Type
	switch vals.Type.Class() {
	case storage.ClassFloat:
		p.vals.Floats = append(p.vals.Floats, vals.Floats[i:j]...)
	case storage.ClassInt:
		p.vals.Ints = append(p.vals.Ints, vals.Ints[i:j]...)
	case storage.ClassBool:
		p.vals.Bools = append(p.vals.Bools, vals.Bools[i:j]...)
	case storage.ClassBytes:
		total := 0
		for _, b := range vals.Bytes[i:j] {
			total += len(b)
		}
		buf := make([]byte, 0, total) // one copy per call, never per value
		for _, b := range vals.Bytes[i:j] {
			buf = append(buf, b...)
			p.vals.Bytes = append(p.vals.Bytes, buf[len(buf)-len(b):len(buf):len(buf)])
		}
		p.rawBytes += total
	}
}

func (w *Writer) flushPending() {
	p := &w.pending
	if p.len() == 0 {
		return
	}
	w.writeBlock(p.times, &p.vals, p.versions, p.seqs)
	p.reset()
}

func (w *Writer) writeBlock(times []int64, vals *storage.Values, versions, seqs []uint64) {
	if w.err != nil {
		return
	}
	var m BlockMeta
	var err error
	w.blockBuf, m, err = w.enc.appendBlock(w.blockBuf[:0], times, vals, versions, seqs)
	if err != nil {
		w.err = fmt.Errorf("tsm writer %s: key %v: %w", w.path, w.cur, err)
		return
	}
	m.Offset = w.offset
	w.write(w.blockBuf)
	w.addMeta(m)
}

func (w *Writer) addMeta(m BlockMeta) {
	w.curMetas = append(w.curMetas, m)
	w.info.addBlock(&m)
}

// finishKey writes the current key's pending points and adds its index entry.
func (w *Writer) finishKey() {
	w.flushPending()
	if w.err != nil || len(w.curMetas) == 0 {
		return
	}
	w.idx.addEntry(w.cur, w.curMetas)
	w.curMetas = w.curMetas[:0]
	w.info.Keys++
}

// WriteRawBlock copies an encoded block (raw, as returned by Reader.ReadRawBlock) of key k with its
// meta from another file, unchanged. It checks the block's CRC and the key and time order first. A
// block that stores version ids refers to its own file's table: copy it with CopyBlock.
func (w *Writer) WriteRawBlock(k Key, meta BlockMeta, raw []byte) error {
	if err := w.usable(); err != nil {
		return err
	}
	if len(raw) > 0 && raw[0]&blockVersionsByID != 0 {
		return fmt.Errorf("tsm writer %s: raw block of %v: it stores version ids of its file's table; use CopyBlock", w.path, k)
	}
	return w.writeRaw(k, meta, raw)
}

// writeRaw is WriteRawBlock for a block that refers to no other file's table.
func (w *Writer) writeRaw(k Key, meta BlockMeta, raw []byte) error {
	if err := checkMeta(&meta); err != nil {
		return fmt.Errorf("tsm writer %s: raw block of %v: %w", w.path, k, err)
	}
	if _, err := checkBlockCRC(meta, raw); err != nil {
		return fmt.Errorf("tsm writer %s: raw block of %v: %w", w.path, k, err)
	}
	if got := blockClass(raw[0]); got != k.Type.Class() {
		return fmt.Errorf("tsm writer %s: raw block of %v: value class got %d; want %d", w.path, k, got, k.Type.Class())
	}
	if err := checkAgg(&meta.Agg, k.Type.Class()); err != nil {
		return fmt.Errorf("tsm writer %s: raw block of %v: %w", w.path, k, err)
	}
	if err := w.checkKey(k, meta.MinTime); err != nil {
		return err
	}
	w.flushPending()
	w.lastTime = meta.MaxTime
	meta.timesImplied = raw[0]&blockTimesImplied != 0
	meta.hourSums = raw[0]&blockHourSums != 0
	meta.Offset = w.offset
	w.write(raw)
	w.addMeta(meta)
	return w.err
}

// Finish writes the index, the bloom filter and the footer, fsyncs, renames the file to its final path
// and fsyncs the directory.
func (w *Writer) Finish() (Info, error) {
	if err := w.usable(); err != nil {
		return Info{}, err
	}
	if w.hasKey {
		w.finishKey()
	}
	indexOff := w.offset
	buf := w.idx.appendIndex(w.blockBuf[:0])
	buf = appendVersionTable(buf, &w.table.versionTable)
	buf, err := appendSeriesKeys(buf, w.series, w.opts.SeriesKey)
	if err != nil && w.err == nil {
		w.err = fmt.Errorf("tsm writer %s: %w", w.path, err)
	}
	buf = binary.BigEndian.AppendUint32(buf, checksum(buf))
	indexLen := len(buf)
	w.write(buf)

	bl, err := buildBloom(w.series, w.opts.BloomFP)
	if err != nil && w.err == nil {
		w.err = fmt.Errorf("tsm writer %s: bloom: %w", w.path, err)
	}
	bl = binary.BigEndian.AppendUint32(bl, checksum(bl))
	w.write(bl)
	w.write(appendFooter(nil, footer{indexOffset: uint64(indexOff), indexLen: uint64(indexLen), bloomLen: uint32(len(bl))}))
	if w.err == nil {
		if err := w.bw.Flush(); err != nil {
			w.err = fmt.Errorf("write tsm %s: %w", w.tmp, err)
		}
	}
	if w.err == nil {
		if err := w.f.Sync(); err != nil {
			w.err = fmt.Errorf("sync tsm %s: %w", w.tmp, err)
		}
	}
	if w.err != nil {
		err := w.err
		_ = w.Abort()
		return Info{}, err
	}
	w.closed = true
	if err := w.f.Close(); err != nil {
		_ = os.Remove(w.tmp)
		return Info{}, fmt.Errorf("close tsm %s: %w", w.tmp, err)
	}
	if err := os.Rename(w.tmp, w.path); err != nil {
		_ = os.Remove(w.tmp)
		return Info{}, fmt.Errorf("rename tsm %s: %w", w.tmp, err)
	}
	if err := syncDir(filepath.Dir(w.path)); err != nil {
		return Info{}, err
	}
	info := w.info
	info.Path, info.Size, info.Series = w.path, w.offset, len(w.series)
	return info, nil
}

// Abort closes and removes the temporary file; nothing is left at the final path. It is a no-op after
// Finish or a previous Abort.
func (w *Writer) Abort() error {
	if w.closed {
		return nil
	}
	w.closed = true
	cerr := w.f.Close()
	if err := os.Remove(w.tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("abort tsm %s: %w", w.tmp, err)
	}
	_ = cerr // the file is gone; a close error does not matter any more
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// footer is the fixed-size tail of a file (FORMAT.md, "Footer").
type footer struct {
	indexOffset uint64 // of the index section
	indexLen    uint64 // index payload + CRC32
	bloomLen    uint32 // bloom payload + CRC32
	version     byte
}

func appendFooter(dst []byte, f footer) []byte {
	start := len(dst)
	dst = binary.BigEndian.AppendUint64(dst, f.indexOffset)
	dst = binary.BigEndian.AppendUint64(dst, f.indexLen)
	dst = binary.BigEndian.AppendUint32(dst, f.bloomLen)
	dst = append(dst, 0, 0, 0, FormatVersion)
	dst = binary.BigEndian.AppendUint32(dst, checksum(dst[start:]))
	return binary.BigEndian.AppendUint32(dst, MagicNumber)
}

func parseFooter(b []byte) (footer, error) {
	var f footer
	if len(b) != FooterSize {
		return f, fmt.Errorf("footer: got %d bytes; want %d", len(b), FooterSize)
	}
	if got := binary.BigEndian.Uint32(b[28:]); got != MagicNumber {
		return f, fmt.Errorf("footer magic: got %#08x; want %#08x", got, MagicNumber)
	}
	if got, want := checksum(b[:24]), binary.BigEndian.Uint32(b[24:]); got != want {
		return f, fmt.Errorf("footer checksum: got %#08x; want %#08x", got, want)
	}
	f.indexOffset = binary.BigEndian.Uint64(b[0:])
	f.indexLen = binary.BigEndian.Uint64(b[8:])
	f.bloomLen = binary.BigEndian.Uint32(b[16:])
	f.version = b[23]
	if b[20]|b[21]|b[22] != 0 {
		return f, fmt.Errorf("footer reserved bytes: got %x; want 0", b[20:23])
	}
	if f.version < FormatV1 || f.version > FormatV5 {
		return f, fmt.Errorf("footer version: got %d; want %d..%d", f.version, FormatV1, FormatV5)
	}
	return f, nil
}
