package recordfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Format constants; the names match docs/format/recordfile.md.
const (
	// HeaderSize is the size of the file header: magic(4) | version(1) | reserved(3).
	HeaderSize = 8
	// Version is the only framing version written and accepted.
	Version = 1
	// FrameSize is the size of a record's frame: length(4) | crc32c(4).
	FrameSize = 8
	// MaxRecordSize is the largest payload a record may carry (64 MiB). Decoders reject larger
	// length fields before allocating anything.
	MaxRecordSize = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Decode errors. DecodeRecord wraps them with got/want details; test with errors.Is.
var (
	// ErrTooLarge reports a length field above MaxRecordSize.
	ErrTooLarge = errors.New("record too large")
	// ErrChecksum reports a record whose CRC does not match its length and payload.
	ErrChecksum = errors.New("record checksum mismatch")
)

// recordCRC returns the CRC32-Castagnoli of the 4 length bytes followed by head and body.
func recordCRC(lenBytes []byte, head, body []byte) uint32 {
	c := crc32.Update(0, castagnoli, lenBytes)
	c = crc32.Update(c, castagnoli, head)
	return crc32.Update(c, castagnoli, body)
}

// AppendRecord appends payload framed as a record (length, CRC32C of length and payload, payload)
// to dst and returns the extended slice. The caller keeps len(payload) <= MaxRecordSize.
func AppendRecord(dst, payload []byte) []byte {
	start := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(payload)))
	dst = binary.LittleEndian.AppendUint32(dst, recordCRC(dst[start:start+4], payload, nil))
	return append(dst, payload...)
}

// DecodeRecord decodes the record at the start of src. It returns the payload (aliasing src) and the
// number of bytes the record occupies. Errors: io.ErrUnexpectedEOF (src holds only part of a record),
// ErrTooLarge, ErrChecksum, each wrapped with details.
func DecodeRecord(src []byte) (payload []byte, n int, err error) {
	if len(src) < FrameSize {
		return nil, 0, fmt.Errorf("decode record frame: got %d bytes; want %d: %w", len(src), FrameSize, io.ErrUnexpectedEOF)
	}
	l := binary.LittleEndian.Uint32(src[0:4])
	if l > MaxRecordSize {
		return nil, 0, fmt.Errorf("decode record: length got %d; want <= %d: %w", l, MaxRecordSize, ErrTooLarge)
	}
	if uint64(len(src)-FrameSize) < uint64(l) {
		return nil, 0, fmt.Errorf("decode record payload: got %d bytes; want %d: %w", len(src)-FrameSize, l, io.ErrUnexpectedEOF)
	}
	end := FrameSize + int(l)
	want := binary.LittleEndian.Uint32(src[4:8])
	if got := recordCRC(src[0:4], src[FrameSize:end], nil); got != want {
		return nil, 0, fmt.Errorf("decode record: crc got %#08x; want %#08x: %w", got, want, ErrChecksum)
	}
	return src[FrameSize:end:end], end, nil
}

// appendHeader appends the file header for magic to dst.
func appendHeader(dst []byte, magic [4]byte) []byte {
	dst = append(dst, magic[:]...)
	return append(dst, Version, 0, 0, 0)
}

// checkHeader validates a full HeaderSize-byte header. off is the offset of the first bad byte.
func checkHeader(h []byte, magic [4]byte) (off int64, err error) {
	if string(h[0:4]) != string(magic[:]) {
		return 0, fmt.Errorf("bad magic: got %q; want %q", h[0:4], magic[:])
	}
	if h[4] != Version {
		return 4, fmt.Errorf("unsupported version: got %d; want %d", h[4], Version)
	}
	for i := 5; i < HeaderSize; i++ {
		if h[i] != 0 {
			return int64(i), fmt.Errorf("reserved header byte %d: got %#02x; want 0", i, h[i])
		}
	}
	return 0, nil
}
