package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/chronogo/chronogo/storage"
)

// Log file constants (see docs/format/index.md).
const (
	LogMagic      = 0x4347494C // "CGIL"
	LogVersion    = 1
	logHeaderSize = 20 // magic(4) version(1) reserved(3) gen(8) crc(4)
	frameHeader   = 8  // len(4) crc(4)

	// MaxLogRecordLen bounds one record's payload (type byte + body).
	MaxLogRecordLen = 16 << 20
	// splitRecordLen is where GetOrCreate starts a new add-series record.
	splitRecordLen = 1 << 20
)

// Log record types.
const (
	recAddSeries    byte = 1 // { uvarint(id) uvarint(len(key)) key }+
	recDeleteSeries byte = 2 // { uvarint(id) }+
	recDropTable    byte = 3 // table name bytes
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// logRecord is a decoded log record. Keys alias the payload.
type logRecord struct {
	Type  byte
	IDs   []storage.SeriesID
	Keys  [][]byte
	Table string
}

// appendLogHeader appends the 20-byte header of log generation gen.
func appendLogHeader(dst []byte, gen uint64) []byte {
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, LogMagic)
	dst = append(dst, LogVersion, 0, 0, 0)
	dst = binary.LittleEndian.AppendUint64(dst, gen)
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// decodeLogHeader returns the generation in a log header.
func decodeLogHeader(src []byte) (uint64, error) {
	if len(src) < logHeaderSize {
		return 0, fmt.Errorf("log header: got %d bytes; want %d", len(src), logHeaderSize)
	}
	if m := binary.BigEndian.Uint32(src); m != LogMagic {
		return 0, fmt.Errorf("log header magic: got %#x; want %#x", m, LogMagic)
	}
	if src[4] != LogVersion {
		return 0, fmt.Errorf("log version: got %d; want %d", src[4], LogVersion)
	}
	if src[5] != 0 || src[6] != 0 || src[7] != 0 {
		return 0, errors.New("log header reserved bytes: want zero")
	}
	if got, want := binary.LittleEndian.Uint32(src[16:]), crc32.Checksum(src[:16], castagnoli); got != want {
		return 0, fmt.Errorf("log header crc: got %#x; want %#x", got, want)
	}
	return binary.LittleEndian.Uint64(src[8:]), nil
}

// beginRecord appends a frame header placeholder and the record type; finishRecord fills the header.
func beginRecord(dst []byte, typ byte) ([]byte, int) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0, typ)
	return dst, start
}

func finishRecord(dst []byte, start int) []byte {
	payload := dst[start+frameHeader:]
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(payload, castagnoli))
	return dst
}

func appendAddEntry(dst []byte, id storage.SeriesID, key []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(id))
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	return append(dst, key...)
}

// appendLogRecord appends r as one framed record.
func appendLogRecord(dst []byte, r *logRecord) []byte {
	dst, start := beginRecord(dst, r.Type)
	switch r.Type {
	case recAddSeries:
		for i, id := range r.IDs {
			dst = appendAddEntry(dst, id, r.Keys[i])
		}
	case recDeleteSeries:
		for _, id := range r.IDs {
			dst = binary.AppendUvarint(dst, uint64(id))
		}
	case recDropTable:
		dst = append(dst, r.Table...)
	}
	return finishRecord(dst, start)
}

// decodeLogRecord decodes a record payload (type byte + body), checked by its frame CRC already.
func decodeLogRecord(payload []byte) (logRecord, error) {
	var r logRecord
	if len(payload) < 1 {
		return r, errors.New("log record: empty payload")
	}
	r.Type, payload = payload[0], payload[1:]
	switch r.Type {
	case recAddSeries:
		if len(payload) == 0 {
			return r, errors.New("add-series record: no entries")
		}
		for len(payload) > 0 {
			id, m := binary.Uvarint(payload)
			if m <= 0 {
				return r, fmt.Errorf("add-series record entry %d: bad id", len(r.IDs))
			}
			payload = payload[m:]
			n, m := binary.Uvarint(payload)
			if m <= 0 || n > uint64(len(payload)-m) {
				return r, fmt.Errorf("add-series record entry %d: bad key length", len(r.IDs))
			}
			if n > storage.MaxSeriesKeyLen {
				return r, fmt.Errorf("add-series record entry %d: key length got %d; want <= %d", len(r.IDs), n, storage.MaxSeriesKeyLen)
			}
			r.IDs = append(r.IDs, storage.SeriesID(id))
			r.Keys = append(r.Keys, payload[m:m+int(n)])
			payload = payload[m+int(n):]
		}
	case recDeleteSeries:
		if len(payload) == 0 {
			return r, errors.New("delete-series record: no ids")
		}
		for len(payload) > 0 {
			id, m := binary.Uvarint(payload)
			if m <= 0 {
				return r, fmt.Errorf("delete-series record entry %d: bad id", len(r.IDs))
			}
			r.IDs = append(r.IDs, storage.SeriesID(id))
			payload = payload[m:]
		}
	case recDropTable:
		if len(payload) == 0 {
			return r, errors.New("drop-table record: empty table name")
		}
		r.Table = string(payload)
	default:
		return r, fmt.Errorf("log record: unknown type %d", r.Type)
	}
	return r, nil
}

// frameError is a bad frame or record at Off in a log body.
type frameError struct {
	Off int
	Err error
}

func (e *frameError) Error() string { return fmt.Sprintf("offset %d: %v", e.Off, e.Err) }
func (e *frameError) Unwrap() error { return e.Err }

// scanFrames walks the frames of data from off and calls fn with each payload whose CRC matches.
// It returns the end of the last good frame and whether the bytes after it are a torn tail: an
// incomplete final frame, a final frame with a bad CRC, or zero fill. Any other bad frame, or an
// error from fn, is returned as a *frameError.
func scanFrames(data []byte, off int, fn func(off int, payload []byte) error) (end int, torn bool, err error) {
	for off < len(data) {
		rest := data[off:]
		if len(rest) < frameHeader {
			return off, true, nil
		}
		n := binary.LittleEndian.Uint32(rest)
		if n == 0 || n > MaxLogRecordLen {
			if allZero(rest) {
				return off, true, nil
			}
			return off, false, &frameError{off, fmt.Errorf("record length: got %d; want 1..%d", n, MaxLogRecordLen)}
		}
		if uint64(n) > uint64(len(rest)-frameHeader) {
			return off, true, nil
		}
		payload := rest[frameHeader : frameHeader+int(n)]
		if got, want := crc32.Checksum(payload, castagnoli), binary.LittleEndian.Uint32(rest[4:]); got != want {
			if allZero(rest[frameHeader+int(n):]) {
				return off, true, nil
			}
			return off, false, &frameError{off, fmt.Errorf("record crc: got %#x; want %#x", got, want)}
		}
		if err := fn(off, payload); err != nil {
			return off, false, &frameError{off, err}
		}
		off += frameHeader + int(n)
	}
	return off, false, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
