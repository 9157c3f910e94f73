package plain

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/cockroachdb/pebble"
	sm "github.com/lni/dragonboat/v4/statemachine"
)

// snapshotMagic starts a snapshot of the plain store (format in meta/docs/plain.md).
var snapshotMagic = []byte("CGPLAIN1")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maxSnapshotRecord bounds a key or value read from a snapshot (documents are at most 16 MiB).
const maxSnapshotRecord = 32 << 20

func uvarint(b []byte) (uint64, int) { return binary.Uvarint(b) }

// PrepareSnapshot takes a pebble snapshot: a consistent view, with its applied index.
func (m *Machine) PrepareSnapshot() (any, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.db == nil {
		return nil, errors.New("plain store is closed")
	}
	return m.db.NewSnapshot(), nil
}

// SaveSnapshot writes every key of the prepared snapshot.
func (m *Machine) SaveSnapshot(ctx any, w io.Writer, done <-chan struct{}) error {
	snap, ok := ctx.(*pebble.Snapshot)
	if !ok {
		return fmt.Errorf("plain snapshot: context %T", ctx)
	}
	defer snap.Close()
	crc := crc32.New(castagnoli)
	bw := bufio.NewWriterSize(io.MultiWriter(w, crc), 256<<10)
	if _, err := bw.Write(snapshotMagic); err != nil {
		return err
	}
	it := snap.NewIter(&pebble.IterOptions{})
	n := 0
	for it.First(); it.Valid(); it.Next() {
		if n++; n%1024 == 0 {
			select {
			case <-done:
				_ = it.Close()
				return sm.ErrSnapshotStopped
			default:
			}
		}
		var hdr [2 * binary.MaxVarintLen64]byte
		h := binary.AppendUvarint(hdr[:0], uint64(len(it.Key())))
		h = binary.AppendUvarint(h, uint64(len(it.Value())))
		if _, err := bw.Write(h); err != nil {
			_ = it.Close()
			return err
		}
		if _, err := bw.Write(it.Key()); err != nil {
			_ = it.Close()
			return err
		}
		if _, err := bw.Write(it.Value()); err != nil {
			_ = it.Close()
			return err
		}
	}
	if err := it.Close(); err != nil {
		return err
	}
	if err := bw.WriteByte(0); err != nil { // a key length of 0 ends the records
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err := w.Write(binary.LittleEndian.AppendUint32(nil, crc.Sum32()))
	return err
}

// RecoverFromSnapshot replaces the whole store with a snapshot's keys.
func (m *Machine) RecoverFromSnapshot(r io.Reader, done <-chan struct{}) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.db == nil {
		return errors.New("plain store is closed")
	}
	crc := crc32.New(castagnoli)
	br := bufio.NewReaderSize(r, 256<<10)
	tr := io.TeeReader(br, crc)
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(tr, magic); err != nil || string(magic) != string(snapshotMagic) {
		return fmt.Errorf("plain snapshot: bad magic %q (%v)", magic, err)
	}
	if err := m.db.DeleteRange([]byte{0x00}, []byte{0xff}, pebble.NoSync); err != nil {
		return err
	}
	b := m.db.NewBatch()
	byteReader := &teeByteReader{r: tr}
	for n := 0; ; n++ {
		if n%1024 == 0 {
			select {
			case <-done:
				_ = b.Close()
				return sm.ErrSnapshotStopped
			default:
			}
		}
		klen, err := binary.ReadUvarint(byteReader)
		if err != nil {
			_ = b.Close()
			return fmt.Errorf("plain snapshot record %d: %w", n, err)
		}
		if klen == 0 {
			break
		}
		vlen, err := binary.ReadUvarint(byteReader)
		if err != nil || klen > maxSnapshotRecord || vlen > maxSnapshotRecord {
			_ = b.Close()
			return fmt.Errorf("plain snapshot record %d: lengths %d, %d (%v)", n, klen, vlen, err)
		}
		kv := make([]byte, klen+vlen)
		if _, err := io.ReadFull(tr, kv); err != nil {
			_ = b.Close()
			return fmt.Errorf("plain snapshot record %d: %w", n, err)
		}
		if err := b.Set(kv[:klen], kv[klen:], nil); err != nil {
			_ = b.Close()
			return err
		}
		if b.Len() > 4<<20 {
			if err := b.Commit(pebble.NoSync); err != nil {
				return err
			}
			b = m.db.NewBatch()
		}
	}
	sum := crc.Sum32()
	var tail [4]byte
	if _, err := io.ReadFull(br, tail[:]); err != nil {
		_ = b.Close()
		return fmt.Errorf("plain snapshot checksum: %w", err)
	}
	if got := binary.LittleEndian.Uint32(tail[:]); got != sum {
		_ = b.Close()
		return fmt.Errorf("plain snapshot checksum %08x; computed %08x", got, sum)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return err
	}
	applied, err := readApplied(m.db)
	if err != nil {
		return err
	}
	m.applied = applied
	return nil
}

// teeByteReader reads single bytes from a reader (the tee that checksums the snapshot).
type teeByteReader struct {
	r   io.Reader
	buf [1]byte
}

func (t *teeByteReader) ReadByte() (byte, error) {
	_, err := io.ReadFull(t.r, t.buf[:])
	return t.buf[0], err
}
