package storage

import "encoding/binary"

// MaxBatchBytes is the largest encoded batch one WAL record carries (the WAL's record limit less
// its seq). Writers split larger batches (SeriesSize, the coordinator's route split).
const MaxBatchBytes = 64<<20 - 8

// EncodedSize returns an upper bound (exact but for row-index varints, counted at 5 bytes) of the
// bytes AppendBatch writes for b, without encoding it.
func (b *Batch) EncodedSize() int {
	n := 2 * binary.MaxVarintLen64
	for i := range b.Series {
		n += SeriesSize(&b.Series[i])
	}
	return n
}

// SeriesSize is a series' share of EncodedSize.
func SeriesSize(s *SeriesRows) int {
	n := 3*binary.MaxVarintLen64 + len(s.Key) + 8*len(s.Times)
	for i := range s.Fields {
		c := &s.Fields[i]
		n += 2*binary.MaxVarintLen64 + len(c.Name) + 2 + binary.MaxVarintLen32*len(c.Rows)
		switch c.Values.Type.Class() {
		case ClassFloat:
			n += 8 * len(c.Values.Floats)
		case ClassInt:
			n += 8 * len(c.Values.Ints)
		case ClassBool:
			n += len(c.Values.Bools)
		case ClassBytes:
			for _, v := range c.Values.Bytes {
				n += binary.MaxVarintLen32 + len(v)
			}
		}
	}
	return n
}
