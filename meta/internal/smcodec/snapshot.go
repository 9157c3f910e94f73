package smcodec

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
)

// Snapshot frame constants (meta/docs/snapshot.md).
const (
	// SnapshotMagic opens every meta snapshot.
	SnapshotMagic = "CGMS"
	// SnapshotVersion is the frame and body format version.
	SnapshotVersion byte = 1
	// snapshotHeaderLen is magic(4) + version(1) + kind(1) + body length(8).
	snapshotHeaderLen = 4 + 1 + 1 + 8
	// maxSnapshotBody bounds the body length read from a frame (meta state is KB to MB).
	maxSnapshotBody = 1 << 30
)

// Kind identifies which state machine a snapshot belongs to, so one is never restored into another.
type Kind byte

// The snapshot kinds; they equal the shard IDs.
const (
	KindCatalog   Kind = 1
	KindPlacement Kind = 2
	KindLocks     Kind = 3
)

// String names the kind for logs and errors.
func (k Kind) String() string {
	switch k {
	case KindCatalog:
		return "catalog"
	case KindPlacement:
		return "placement"
	case KindLocks:
		return "locks"
	}
	return fmt.Sprintf("kind(%d)", byte(k))
}

// castagnoli is built once at init; crc32.MakeTable is not safe to race on first use.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// EncodeSnapshot returns the framed snapshot of state: header, canonical JSON body, CRC32-C.
func EncodeSnapshot(kind Kind, state any) ([]byte, error) {
	body, err := json.Marshal(state)
	if err != nil {
		return nil, fmt.Errorf("encoding snapshot: %w", err)
	}
	out := make([]byte, 0, snapshotHeaderLen+len(body)+4)
	out = append(out, SnapshotMagic...)
	out = append(out, SnapshotVersion, byte(kind))
	out = binary.BigEndian.AppendUint64(out, uint64(len(body)))
	out = append(out, body...)
	out = binary.BigEndian.AppendUint32(out, crc32.Checksum(out[4:], castagnoli))
	return out, nil
}

// DecodeSnapshot reads one framed snapshot of the given kind from r into state.
func DecodeSnapshot(r io.Reader, kind Kind, state any) error {
	var hdr [snapshotHeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return fmt.Errorf("reading snapshot header: %w", err)
	}
	if string(hdr[:4]) != SnapshotMagic {
		return fmt.Errorf("bad snapshot magic %q; want %q", hdr[:4], SnapshotMagic)
	}
	if hdr[4] != SnapshotVersion {
		return fmt.Errorf("snapshot version %d; want %d", hdr[4], SnapshotVersion)
	}
	if Kind(hdr[5]) != kind {
		return fmt.Errorf("snapshot kind %d; want %d", hdr[5], kind)
	}
	n := binary.BigEndian.Uint64(hdr[6:])
	if n > maxSnapshotBody {
		return fmt.Errorf("snapshot body of %d bytes; want at most %d", n, maxSnapshotBody)
	}
	rest := make([]byte, n+4)
	if _, err := io.ReadFull(r, rest); err != nil {
		return fmt.Errorf("reading snapshot body: %w", err)
	}
	body := rest[:n]
	crc := crc32.Update(crc32.Checksum(hdr[4:], castagnoli), castagnoli, body)
	if got := binary.BigEndian.Uint32(rest[n:]); got != crc {
		return fmt.Errorf("snapshot checksum %08x; want %08x", got, crc)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(state); err != nil {
		return fmt.Errorf("decoding snapshot body: %w", err)
	}
	return nil
}
