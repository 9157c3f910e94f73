package tsm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/bits"
)

// File layout constants; FORMAT.md describes each one.
const (
	// MagicNumber opens and closes every TSM file: "CGTM" big-endian.
	MagicNumber uint32 = 0x4347544D
	// FormatV1 is the first format version: read, no longer written.
	FormatV1 byte = 1
	// FormatV2 adds the series-key table at the end of the index section: read, no longer written.
	FormatV2 byte = 2
	// FormatV3 adds the version table (versiontable.go) and blocks that store version ids: read,
	// no longer written.
	FormatV3 byte = 3
	// FormatV4 lets blocks hold up to MaxBlockPoints points (the writer makes BlockPoints; earlier
	// writers made 1000): the same layout as version 3. Read, no longer written.
	FormatV4 byte = 4
	// FormatV5 adds hour sums (hoursums.go) to int and float blocks that span several hours, and
	// the writer makes blocks of BlockPoints = 4000. It is what the writer writes; readers read all
	// five.
	FormatV5 byte = 5
	// FormatVersion is the version the writer writes.
	FormatVersion = FormatV5

	// HeaderSize is magic(4) + version(1).
	HeaderSize = 5
	// FooterSize is index offset(8) + index length(8) + bloom length(4) + reserved(3) + version(1) +
	// CRC32(4) + magic(4).
	FooterSize = 32

	// BlockPoints is how many points the writer puts in a block (the last block of a column and
	// blocks of a flush may hold fewer). Files of versions 1 to 3 hold at most 1000, the writers of
	// version 4 made 2000.
	BlockPoints = 4000
	// MaxBlockPoints is the most points a reader accepts in one block (1000 in files of versions
	// 1 to 3).
	MaxBlockPoints = 4096
	// fullBlockPoints is the count the metaFull flag stands for: 1000, the block size of the
	// writers of format 1 to 3, kept so their files read as they are.
	fullBlockPoints = 1000
	// MaxBlockValueBytes makes the writer close a bytes-class block early once its raw values reach
	// this many bytes (a block always holds at least one point).
	MaxBlockValueBytes = 1 << 20

	// minBlockSize is flags(1) + CRC32(4) with an empty body, a lower bound for any block.
	minBlockSize = 5
	// crcSize is the width of every checksum.
	crcSize = 4
)

// Block flags: the first byte of every block.
const (
	blockTimesImplied  = 1 << 0 // timestamps evenly spaced from MinTime to MaxTime: no time column
	blockVersionsConst = 1 << 1 // every version equals BlockMeta.MinVersion: no version column
	blockSeqsConst     = 1 << 2 // every seq equals BlockMeta.MinSeq: no seq column
	blockVersionsByID  = 1 << 3 // (v3) one column of ids into the file's version table replaces both
	blockClassShift    = 4      // bits 4-5: storage.Class of the values minus 1 (0..3)
	blockClassMask     = 3 << blockClassShift
	blockHourSums      = 1 << 6 // (v5) an hour-sums section follows the times
	blockKnownFlags    = blockTimesImplied | blockVersionsConst | blockSeqsConst | blockVersionsByID | blockClassMask | blockHourSums
)

// Block meta flags: the first byte of every block meta in the index.
const (
	metaFull         = 1 << 0 // Count == fullBlockPoints (1000); the count field is omitted
	metaSameDur      = 1 << 1 // MaxTime-MinTime equals the previous block's; the duration field is omitted
	metaSameVersions = 1 << 2 // MinVersion, MaxVersion equal the previous block's; omitted
	metaSameSeqs     = 1 << 3 // MinSeq, MaxSeq equal the previous block's; omitted
	metaSumOverflow  = 1 << 4 // Agg.SumOverflow
	metaTimesImplied = 1 << 5 // the block's timestamps are implied (block flag bit 0 is set)
	metaHourSums     = 1 << 6 // (v5) the block stores hour sums (block flag bit 6 is set)
	metaKnownFlags   = metaFull | metaSameDur | metaSameVersions | metaSameSeqs | metaSumOverflow | metaTimesImplied | metaHourSums
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

var (
	errShort   = errors.New("unexpected end of data")
	errVarint  = errors.New("bad varint")
	errOverrun = errors.New("value out of range")
)

// pow10 holds 10^0 .. 10^14, the decimal exponents of a dec-uvarint.
var pow10 = func() [15]uint64 {
	var p [15]uint64
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// appendDecUvarint appends v as uvarint(m<<4 | e) with v = m·10^e and e <= 14 as large as possible, so
// round nanosecond durations (10 s = 1e10) take one or two bytes. When m does not fit in 60 bits the
// escape byte 0x0F (m = 0, e = 15) is followed by uvarint(v).
func appendDecUvarint(dst []byte, v uint64) []byte {
	m, e := v, uint64(0)
	if m != 0 {
		for e < 14 && m%10 == 0 {
			m /= 10
			e++
		}
	}
	if m >= 1<<60 {
		return binary.AppendUvarint(append(dst, 0x0f), v)
	}
	return binary.AppendUvarint(dst, m<<4|e)
}

func appendVarint(dst []byte, v int64) []byte   { return binary.AppendVarint(dst, v) }
func appendUvarint(dst []byte, v uint64) []byte { return binary.AppendUvarint(dst, v) }

// decoder reads the index encoding with a sticky error; after the first error every read returns 0.
type decoder struct {
	b   []byte
	pos int
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) remaining() int { return len(d.b) - d.pos }

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.pos >= len(d.b) {
		d.fail(errShort)
		return 0
	}
	c := d.b[d.pos]
	d.pos++
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.pos:])
	if n <= 0 {
		if n == 0 {
			d.fail(errShort)
		} else {
			d.fail(errVarint)
		}
		return 0
	}
	d.pos += n
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.pos:])
	if n <= 0 {
		if n == 0 {
			d.fail(errShort)
		} else {
			d.fail(errVarint)
		}
		return 0
	}
	d.pos += n
	return v
}

func (d *decoder) decUvarint() uint64 {
	x := d.uvarint()
	if d.err != nil {
		return 0
	}
	e, m := x&15, x>>4
	if e == 15 {
		if m != 0 {
			d.fail(fmt.Errorf("dec-uvarint escape: got mantissa %d; want 0", m))
			return 0
		}
		return d.uvarint()
	}
	hi, lo := bits.Mul64(m, pow10[e])
	if hi != 0 {
		d.fail(fmt.Errorf("dec-uvarint %d·10^%d: %w", m, e, errOverrun))
		return 0
	}
	return lo
}

func (d *decoder) bytes(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(d.remaining()) {
		d.fail(fmt.Errorf("length %d: got %d bytes left: %w", n, d.remaining(), errShort))
		return nil
	}
	b := d.b[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return b
}
