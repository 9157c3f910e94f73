package tsm

import (
	"cmp"
	"math"
	"strings"

	"github.com/chronogo/chronogo/storage"
)

// Key identifies one column in a file: a series, a field name and the field's BSON type.
type Key struct {
	Series storage.SeriesID
	Field  string
	Type   storage.FieldType
}

// CompareKeys orders keys by Series, then Field (bytewise), then Type.
func CompareKeys(a, b Key) int {
	if c := cmp.Compare(a.Series, b.Series); c != 0 {
		return c
	}
	if c := strings.Compare(a.Field, b.Field); c != 0 {
		return c
	}
	return cmp.Compare(a.Type, b.Type)
}

// Agg holds the pre-aggregates of one block, so aggregate queries can skip decoding.
//
//   - ClassInt: Sum is the wrapping int64 sum (SumOverflow is set when the exact sum is outside the
//     int64 range); Min, Max, First, Last are values.
//   - ClassFloat: FSum is the left-to-right float64 sum (NaN if any value is NaN or +Inf meets -Inf);
//     FMin and FMax ignore NaNs (NaN only if every value is NaN), and -0 and +0 compare equal, the
//     first one seen is kept; FFirst and FLast are the first and last values bit-exact (may be NaN).
//   - ClassBool: Sum is the number of true values; First, Last, Min, Max are 0 or 1.
//   - ClassBytes: only Count.
type Agg struct {
	Count       uint32
	SumOverflow bool
	// Sum, Min, Max, First, Last are the aggregates of an int or bool block; a float block keeps
	// its float64 bits in them (FSum, FMin, ... read them, SetFloats writes them), so a block meta
	// carries one set of five words, not one per class.
	Sum, Min, Max, First, Last int64
}

// FSum is the sum of a float block.
func (a *Agg) FSum() float64 { return math.Float64frombits(uint64(a.Sum)) }

// FMin is the smallest non-NaN value of a float block (NaN when all are NaN).
func (a *Agg) FMin() float64 { return math.Float64frombits(uint64(a.Min)) }

// FMax is the largest non-NaN value of a float block (NaN when all are NaN).
func (a *Agg) FMax() float64 { return math.Float64frombits(uint64(a.Max)) }

// FFirst is the first value of a float block.
func (a *Agg) FFirst() float64 { return math.Float64frombits(uint64(a.First)) }

// FLast is the last value of a float block.
func (a *Agg) FLast() float64 { return math.Float64frombits(uint64(a.Last)) }

// SetFloats stores the aggregates of a float block.
func (a *Agg) SetFloats(sum, lo, hi, first, last float64) {
	a.Sum, a.Min, a.Max = int64(math.Float64bits(sum)), int64(math.Float64bits(lo)), int64(math.Float64bits(hi))
	a.First, a.Last = int64(math.Float64bits(first)), int64(math.Float64bits(last))
}

// BlockMeta describes one block: its time range, where its bytes are, the range of its versions and
// seqs, and its pre-aggregates. Agg.Count is the number of points.
type BlockMeta struct {
	MinTime, MaxTime int64
	Offset           int64  // of the block's first byte in the file
	Size             uint32 // bytes, including the trailing CRC32

	// timesImplied mirrors the block's "times implied" flag (index meta flag bit 5), so ReadTimes can
	// compute evenly spaced timestamps without reading the block.
	timesImplied bool
	// hourSums mirrors the block's "hour sums" flag (index meta flag bit 6).
	hourSums bool

	MinVersion, MaxVersion uint64
	MinSeq, MaxSeq         uint64
	Agg                    Agg
}

// TimesImplied reports whether the block's timestamps are evenly spaced from MinTime to MaxTime and
// therefore not stored (ReadTimes then needs no I/O).
func (m *BlockMeta) TimesImplied() bool { return m.timesImplied }

// Entry is one key of the index with its blocks in time order.
type Entry struct {
	Key    Key
	Blocks []BlockMeta
}

// Block is the decoded content of one block; its slices are reused by ReadBlock.
type Block struct {
	Times    []int64
	Values   storage.Values
	Versions []uint64
	Seqs     []uint64
}

// Len is the number of points.
func (b *Block) Len() int { return len(b.Times) }

// Info summarises a file.
type Info struct {
	Path             string
	Size             int64
	MinTime, MaxTime int64 // 0, 0 for a file without keys
	MinSeq, MaxSeq   uint64
	Keys, Points     int64
	Blocks           int64
	Series           int
}

func (i *Info) addBlock(m *BlockMeta) {
	if i.Points == 0 {
		i.MinTime, i.MaxTime, i.MinSeq, i.MaxSeq = m.MinTime, m.MaxTime, m.MinSeq, m.MaxSeq
	} else {
		i.MinTime = min(i.MinTime, m.MinTime)
		i.MaxTime = max(i.MaxTime, m.MaxTime)
		i.MinSeq = min(i.MinSeq, m.MinSeq)
		i.MaxSeq = max(i.MaxSeq, m.MaxSeq)
	}
	i.Points += int64(m.Agg.Count)
	i.Blocks++
}
