package tsm

import (
	"fmt"

	"github.com/chronogo/chronogo/storage"
)

// maxRunBytes bounds one read of ReadBlocks: adjacent blocks up to this many bytes are read with
// one system call (a column's blocks are adjacent in a file).
const maxRunBytes = 1 << 20

// ReadBlocks reads, verifies and decodes the blocks ms (of one key of type typ, in file order)
// into dst one after the other, calling fn after each; without versions it skips the version and
// seq columns as ReadBlockValues does. Blocks that are adjacent in the file are read together, so
// a scan of a column costs a read per megabyte instead of one per block. A checksum or decode
// failure is a *storage.CorruptionError with the failing block's offset.
func (r *Reader) ReadBlocks(ms []BlockMeta, typ storage.FieldType, versions bool, dst *Block, fn func(m *BlockMeta, b *Block) error) error {
	return r.eachBlock(ms, func(m *BlockMeta, raw []byte) error {
		if err := decodeBlock(*m, typ, raw, dst, r.table, !versions); err != nil {
			return corrupt(r.path, m.Offset, err)
		}
		return fn(m, dst)
	})
}

// ReadHourSums reads the hour sums of the blocks ms (of one key of type typ, in file order, each
// with HasHourSums), calling fn with each block's sums (valid during the call), without decoding
// the values. Adjacent blocks are read together as in ReadBlocks.
func (r *Reader) ReadHourSums(ms []BlockMeta, typ storage.FieldType, fn func(m *BlockMeta, sums []HourSum) error) error {
	s := hourScratches.Get().(*hourScratch)
	defer hourScratches.Put(s)
	return r.eachBlock(ms, func(m *BlockMeta, raw []byte) error {
		body, err := checkBlockCRC(*m, raw)
		if err == nil {
			s.sums, err = readBlockHourSums(s.sums[:0], m, typ.Class(), body, s)
		}
		if err != nil {
			return corrupt(r.path, m.Offset, err)
		}
		return fn(m, s.sums)
	})
}

// eachBlock reads the blocks ms (in file order), physically adjacent ones up to maxRunBytes with
// one read, and calls fn with each block's bytes (CRC included, not yet checked).
func (r *Reader) eachBlock(ms []BlockMeta, fn func(m *BlockMeta, raw []byte) error) error {
	for i := 0; i < len(ms); {
		// the run [i, j): physically adjacent blocks, at most maxRunBytes (or one block)
		j, size := i+1, int64(ms[i].Size)
		for j < len(ms) && ms[j].Offset == ms[j-1].Offset+int64(ms[j-1].Size) && size+int64(ms[j].Size) <= maxRunBytes {
			size += int64(ms[j].Size)
			j++
		}
		run := ms[i]
		run.Size = uint32(size)
		if size != int64(run.Size) {
			return fmt.Errorf("read tsm %s: run of %d bytes at %d", r.path, size, run.Offset)
		}
		bp, err := r.readRaw(&run)
		if err != nil {
			return err
		}
		off := 0
		for k := i; k < j; k++ {
			m := &ms[k]
			raw := (*bp)[off : off+int(m.Size)]
			off += int(m.Size)
			if err := fn(m, raw); err != nil {
				r.putBuf(bp)
				return err
			}
		}
		r.putBuf(bp)
		i = j
	}
	return nil
}
