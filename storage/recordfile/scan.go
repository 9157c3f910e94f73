package recordfile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/chronogo/chronogo/storage"
)

// ErrTornTail is matched (errors.Is) by the *TornTailError that Scan returns when the file ends in an
// incomplete or corrupt record that nothing valid follows: the typical result of a crash mid-write.
var ErrTornTail = errors.New("torn tail")

// TornTailError says that path holds valid records up to Offset and Size-Offset bytes of torn tail.
// The caller decides whether to truncate (OpenAppend with Offset) and logs Path and Offset.
type TornTailError struct {
	Path   string
	Offset int64 // end of the last good record (or 0 if even the header is torn)
	Size   int64 // file size
	Err    error // why the record at Offset is bad
}

func (e *TornTailError) Error() string {
	return fmt.Sprintf("torn tail in %s at offset %d (file size %d): %v", e.Path, e.Offset, e.Size, e.Err)
}

// Is makes errors.Is(err, ErrTornTail) true.
func (e *TornTailError) Is(target error) bool { return target == ErrTornTail }

func (e *TornTailError) Unwrap() error { return e.Err }

const readBufferSize = 64 << 10

// Resync limits (variables so tests can shrink them).
var (
	// maxResyncTail bounds the bytes read after a bad record to look for valid records. A longer
	// tail is reported as corruption: a crash does not tear that much.
	maxResyncTail int64 = 2*(FrameSize+MaxRecordSize) + HeaderSize
	// resyncBudget is how many bytes findValidRecord may checksum for a tail of n bytes.
	resyncBudget = func(n int) int { return 16*n + 64<<20 }
)

func corruption(path string, off int64, err error) error {
	return &storage.CorruptionError{Path: path, Offset: off, Err: err}
}

// Scan reads the record file at path, checks its header against magic and calls fn for each valid
// record in order with the record's offset and payload. The payload is only valid during the call.
//
// Results:
//   - clean end: validEnd is the file size and err is nil;
//   - torn tail (the last record is incomplete or fails its CRC and no valid record follows it, or
//     the file is shorter than its header): validEnd is the end of the last good record and err is
//     a *TornTailError (errors.Is(err, ErrTornTail));
//   - corruption (a bad record followed by a valid one, a bad header, or a bad tail too long to
//     check): err is a *storage.CorruptionError naming path and the bad record's offset;
//   - an error returned by fn stops the scan and is returned as is, with validEnd at that record.
func Scan(path string, magic [4]byte, fn func(offset int64, payload []byte) error) (validEnd int64, err error) {
	return scanFile(path, magic, fn, nil)
}

// scanFile opens path and scans it (skip: see ScanSkipping).
func scanFile(path string, magic [4]byte, fn func(offset int64, payload []byte) error, skip SkipFunc) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("scan record file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("scan record file %s: %w", path, err)
	}
	return scan(f, st.Size(), path, magic, fn, skip)
}

// ScanReaderAt is Scan over the first size bytes of r; path only names the data in errors.
func ScanReaderAt(r io.ReaderAt, size int64, path string, magic [4]byte, fn func(offset int64, payload []byte) error) (int64, error) {
	return scan(r, size, path, magic, fn, nil)
}

// SkipFunc is told of a damaged record at offset off that ScanSkipping stepped over, resuming at
// next; an error it returns stops the scan.
type SkipFunc func(off, next int64, reason error) error

// ScanSkipping is Scan that steps over damaged records followed by valid ones (the frame format
// allows it: a record whose length survived ends where the next begins; otherwise the next valid
// record is searched within resyncWindow bytes) and reports each to skip. A torn tail is still a
// *TornTailError, and damage it cannot step over is still a *storage.CorruptionError.
func ScanSkipping(path string, magic [4]byte, fn func(offset int64, payload []byte) error, skip SkipFunc) (int64, error) {
	return scanFile(path, magic, fn, skip)
}

// resyncWindow bounds the bytes ScanSkipping searches for the next valid record after a damaged
// one whose length cannot be trusted (damage on disk is sectors, not megabytes).
var resyncWindow int64 = 1 << 20

func scan(r io.ReaderAt, size int64, path string, magic [4]byte, fn func(offset int64, payload []byte) error, skip SkipFunc) (int64, error) {
	s := scanner{r: r, size: size, path: path}
	br := bufio.NewReaderSize(io.NewSectionReader(r, 0, size), readBufferSize)

	// Header.
	var hdr [HeaderSize]byte
	n, err := io.ReadFull(br, hdr[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("scan record file %s: %w", path, err)
	}
	if n < HeaderSize {
		if isPrefixOrZero(hdr[:n], appendHeader(nil, magic)) {
			return 0, &TornTailError{Path: path, Offset: 0, Size: size, Err: errors.New("file shorter than its header")}
		}
		return 0, corruption(path, 0, fmt.Errorf("bad header: got %d bytes %q; want %d", n, hdr[:n], HeaderSize))
	}
	if off, herr := checkHeader(hdr[:], magic); herr != nil {
		if isPrefixOrZero(hdr[:], nil) {
			// An all-zero header: the header write was lost in a crash. Torn, unless records follow.
			return s.badRecord(0, herr)
		}
		return 0, corruption(path, off, herr)
	}

	// Records.
	var buf []byte
	var frame [FrameSize]byte
	off := int64(HeaderSize)
	// bad handles a damaged record: without skip (or when it cannot step over it) the scan ends
	// as Scan documents; else it resumes at the next valid record.
	bad := func(at int64, l uint32, reason error) (stop bool, end int64, err error) {
		end, err = s.badRecord(at, reason)
		var ce *storage.CorruptionError
		if skip == nil || !errors.As(err, &ce) {
			return true, end, err
		}
		next, ok := s.nextValid(at, l)
		if !ok {
			return true, end, err
		}
		if serr := skip(at, next, reason); serr != nil {
			return true, at, serr
		}
		off = next
		br.Reset(io.NewSectionReader(r, next, size-next))
		return false, 0, nil
	}
	for {
		rem := size - off
		if rem == 0 {
			return off, nil
		}
		if rem < FrameSize {
			if stop, end, err := bad(off, math.MaxUint32, fmt.Errorf("record frame: got %d bytes; want %d: %w", rem, FrameSize, io.ErrUnexpectedEOF)); stop {
				return end, err
			}
			continue
		}
		if _, err := io.ReadFull(br, frame[:]); err != nil {
			return off, fmt.Errorf("scan record file %s at %d: %w", path, off, err)
		}
		l := binary.LittleEndian.Uint32(frame[0:4])
		if l > MaxRecordSize {
			if stop, end, err := bad(off, math.MaxUint32, fmt.Errorf("record length: got %d; want <= %d: %w", l, MaxRecordSize, ErrTooLarge)); stop {
				return end, err
			}
			continue
		}
		if int64(l) > rem-FrameSize {
			if stop, end, err := bad(off, math.MaxUint32, fmt.Errorf("record payload: got %d bytes; want %d: %w", rem-FrameSize, l, io.ErrUnexpectedEOF)); stop {
				return end, err
			}
			continue
		}
		if cap(buf) < int(l) {
			buf = make([]byte, l) // bounded by MaxRecordSize and by the bytes left in the file
		}
		payload := buf[:l]
		if _, err := io.ReadFull(br, payload); err != nil {
			return off, fmt.Errorf("scan record file %s at %d: %w", path, off, err)
		}
		want := binary.LittleEndian.Uint32(frame[4:8])
		if got := recordCRC(frame[0:4], payload, nil); got != want {
			if stop, end, err := bad(off, l, fmt.Errorf("record crc: got %#08x; want %#08x: %w", got, want, ErrChecksum)); stop {
				return end, err
			}
			continue
		}
		if fn != nil {
			if err := fn(off, payload); err != nil {
				return off, err
			}
		}
		off += FrameSize + int64(l)
	}
}

type scanner struct {
	r    io.ReaderAt
	size int64
	path string
}

// badRecord decides whether the bad record (or zeroed header) at off is a torn tail or corruption
// in the middle: it looks for a valid record starting at any later byte offset.
func (s *scanner) badRecord(off int64, reason error) (int64, error) {
	tailLen := s.size - off
	if tailLen > maxResyncTail {
		return off, corruption(s.path, off, fmt.Errorf("%w, with %d bytes after it (too many for a torn tail)", reason, tailLen))
	}
	tail := make([]byte, tailLen) // bounded by maxResyncTail and the file size
	if _, err := s.r.ReadAt(tail, off); err != nil && !(errors.Is(err, io.EOF) && int64(len(tail)) == tailLen) {
		return off, fmt.Errorf("scan record file %s at %d: %w", s.path, off, err)
	}
	start := 1
	if off == 0 {
		start = HeaderSize
	}
	switch p, found := findValidRecord(tail, start); {
	case found:
		return off, corruption(s.path, off, fmt.Errorf("%w, followed by a valid record at offset %d", reason, off+int64(p)))
	case p < 0:
		return off, corruption(s.path, off, fmt.Errorf("%w; could not tell a torn tail from corruption (resync budget exhausted)", reason))
	}
	return off, &TornTailError{Path: s.path, Offset: off, Size: s.size, Err: reason}
}

// nextValid finds where scanning can resume after the damaged record at off: where its length
// says it ends, if a valid record starts there, else the first valid record within resyncWindow.
func (s *scanner) nextValid(off int64, l uint32) (int64, bool) {
	if l <= MaxRecordSize {
		if p := off + FrameSize + int64(l); p < s.size && s.validAt(p) {
			return p, true
		}
	}
	n := min(s.size-off, 2*resyncWindow)
	win := make([]byte, n) // bounded by 2 × resyncWindow: a record must fit in it to be found
	if _, err := s.r.ReadAt(win, off); err != nil && !errors.Is(err, io.EOF) {
		return 0, false
	}
	for p := int64(1); p+FrameSize <= n && p < resyncWindow; p++ {
		l := binary.LittleEndian.Uint32(win[p : p+4])
		end := p + FrameSize + int64(l)
		switch {
		case l > MaxRecordSize || off+end > s.size:
		case end <= n:
			if recordCRC(win[p:p+4], win[p+FrameSize:end], nil) == binary.LittleEndian.Uint32(win[p+4:p+8]) {
				return off + p, true
			}
		}
	}
	return 0, false
}

// validAt reports whether a whole record that passes its CRC starts at p.
func (s *scanner) validAt(p int64) bool {
	var frame [FrameSize]byte
	if p+FrameSize > s.size {
		return false
	}
	if _, err := s.r.ReadAt(frame[:], p); err != nil {
		return false
	}
	l := binary.LittleEndian.Uint32(frame[0:4])
	if l > MaxRecordSize || p+FrameSize+int64(l) > s.size {
		return false
	}
	payload := make([]byte, l)
	if _, err := s.r.ReadAt(payload, p+FrameSize); err != nil && !(errors.Is(err, io.EOF) && l == 0) {
		return false
	}
	return recordCRC(frame[0:4], payload, nil) == binary.LittleEndian.Uint32(frame[4:8])
}

// findValidRecord looks for a record that passes its CRC at byte offsets >= start in b. It returns
// (position, true) if it finds one, (0, false) if there is none, and (-1, false) if it gave up after
// checksumming more bytes than its budget (linear in len(b)), which garbage with many plausible
// length fields could otherwise make quadratic.
func findValidRecord(b []byte, start int) (int, bool) {
	budget := resyncBudget(len(b))
	for p := start; p+FrameSize <= len(b); p++ {
		l := binary.LittleEndian.Uint32(b[p : p+4])
		if l > MaxRecordSize || int64(l) > int64(len(b)-p-FrameSize) {
			continue
		}
		budget -= int(l) + 4
		if budget < 0 {
			return -1, false
		}
		end := p + FrameSize + int(l)
		if recordCRC(b[p:p+4], b[p+FrameSize:end], nil) == binary.LittleEndian.Uint32(b[p+4:p+8]) {
			return p, true
		}
	}
	return 0, false
}

// isPrefixOrZero reports whether b is all zero bytes or a prefix of want (want may be nil).
func isPrefixOrZero(b, want []byte) bool {
	if len(want) >= len(b) && string(b) == string(want[:len(b)]) {
		return true
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
