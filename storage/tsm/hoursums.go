package tsm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sync"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/tsm/codec"
)

// Hour sums (format 5, FORMAT.md "Hour sums"): an int or float block whose points span several UTC
// hours stores the sum of its values in each hour, so an aggregate by hour (or day, or any whole
// number of hours) over whole hours reads the counts and sums without decoding the values.

// HourSpan is the width of an hour sum in nanoseconds; hours start at multiples of it (UTC).
const HourSpan = int64(3600) * 1_000_000_000

// minHourTime is the earliest time whose hour start is an int64 (the hour of an earlier time would
// start before math.MinInt64): blocks that begin before it have no hour sums.
const minHourTime = math.MinInt64 / HourSpan * HourSpan

// minPointsPerHour: the writer stores hour sums only when the block's points average at least this
// many per non-empty hour (sparser blocks decode as fast as their sums would read).
const minPointsPerHour = 4

// HourSum is what a block holds in one UTC hour: its count, first and last times and the sum of its
// values (Sum for the int class, exact; FSum for floats, added left to right).
type HourSum struct {
	Start               int64 // the hour's start
	FirstTime, LastTime int64
	Count               int64
	Sum                 int64
	FSum                float64
}

// HasHourSums reports whether the block stores hour sums (ReadHourSums then reads them).
func (m *BlockMeta) HasHourSums() bool { return m.hourSums }

// hourOf is the start of the hour holding t.
func hourOf(t int64) int64 { return storage.FloorDiv(t, HourSpan) * HourSpan }

// hourRuns appends to dst one [start, end) index range per non-empty hour of times (ascending, the
// first >= minHourTime).
func hourRuns(dst [][2]int, times []int64) [][2]int {
	if len(times) > 0 && times[0] < minHourTime {
		return append(dst, [2]int{0, len(times)}) // no hour sums: see minHourTime
	}
	for i := 0; i < len(times); {
		h := hourOf(times[i])
		j := i + 1
		if h < hourOf(math.MaxInt64) {
			end := h + HourSpan
			for j < len(times) && times[j] < end {
				j++
			}
		} else {
			j = len(times)
		}
		dst = append(dst, [2]int{i, j})
		i = j
	}
	return dst
}

// impliedHourRuns is hourRuns for the evenly spaced times of m, computed without the times.
func impliedHourRuns(dst [][2]int, m *BlockMeta) ([][2]int, error) {
	n := int(m.Agg.Count)
	if n == 1 {
		return append(dst, [2]int{0, 1}), nil
	}
	span := uint64(m.MaxTime) - uint64(m.MinTime)
	step := span / uint64(n-1)
	if step == 0 || step*uint64(n-1) != span {
		return dst, fmt.Errorf("implied times: span %d not divisible into %d steps", span, n-1)
	}
	last := hourOf(m.MaxTime)
	for i := 0; i < n; {
		t := int64(uint64(m.MinTime) + uint64(i)*step)
		h := hourOf(t)
		j := n
		if h < last {
			// points before the next hour: ceil((end - MinTime) / step), end <= MaxTime
			j = int((uint64(h+HourSpan) - uint64(m.MinTime) + step - 1) / step)
		}
		if j <= i || j > n {
			return dst, fmt.Errorf("implied times: hour at %d ends at point %d", h, j) // unreachable: t < h+HourSpan
		}
		dst = append(dst, [2]int{i, j})
		i = j
	}
	return dst, nil
}

// appendHourSums appends the hour-sums payload of a block (times, vals, its Agg a) to dst, or
// returns false when the block gets none: fewer than two hours, too few points per hour, a class
// other than int and float, or an int sum that could overflow.
func appendHourSums(dst []byte, runs [][2]int, vals *storage.Values, a *Agg) ([]byte, bool) {
	n := vals.Len()
	if len(runs) < 2 || n < minPointsPerHour*len(runs) { // one run also covers times before minHourTime
		return dst, false
	}
	switch vals.Type.Class() {
	case storage.ClassInt:
		// every partial sum is exact when n × max|v| fits
		if a.SumOverflow || a.Min == math.MinInt64 || max(-a.Min, a.Max) >= math.MaxInt64/int64(n) {
			return dst, false
		}
		prev := int64(0)
		for _, r := range runs[:len(runs)-1] {
			s := int64(0)
			for _, v := range vals.Ints[r[0]:r[1]] {
				s += v
			}
			dst = binary.AppendVarint(dst, s-prev)
			prev = s
		}
		return dst, true
	case storage.ClassFloat:
		for _, r := range runs {
			s := 0.0
			for _, v := range vals.Floats[r[0]:r[1]] {
				s += v
			}
			dst = binary.AppendUvarint(dst, bits.ReverseBytes64(math.Float64bits(s)))
		}
		return dst, true
	}
	return dst, false
}

var errHourSums = errors.New("hour sums")

// decodeHourSums appends the hour sums of block m (class c; runs are its hours, times its times or
// nil when implied) read from the payload p.
func decodeHourSums(dst []HourSum, m *BlockMeta, c storage.Class, runs [][2]int, times []int64, p []byte) ([]HourSum, error) {
	step := uint64(0)
	if times == nil && m.Agg.Count > 1 {
		step = (uint64(m.MaxTime) - uint64(m.MinTime)) / uint64(m.Agg.Count-1)
	}
	timeAt := func(i int) int64 {
		if times != nil {
			return times[i]
		}
		return int64(uint64(m.MinTime) + uint64(i)*step)
	}
	d := decoder{b: p}
	total := int64(0)
	for k, r := range runs {
		h := HourSum{FirstTime: timeAt(r[0]), LastTime: timeAt(r[1] - 1), Count: int64(r[1] - r[0])}
		h.Start = hourOf(h.FirstTime)
		switch c {
		case storage.ClassInt:
			if k == len(runs)-1 {
				h.Sum = int64(uint64(m.Agg.Sum) - uint64(total))
			} else {
				prev := int64(0)
				if k > 0 {
					prev = dst[len(dst)-1].Sum
				}
				h.Sum = int64(uint64(prev) + uint64(d.varint()))
				total = int64(uint64(total) + uint64(h.Sum))
			}
		case storage.ClassFloat:
			h.FSum = math.Float64frombits(bits.ReverseBytes64(d.uvarint()))
		default:
			return dst, fmt.Errorf("%w: class %d has none", errHourSums, c)
		}
		dst = append(dst, h)
	}
	if d.err != nil {
		return dst, fmt.Errorf("%w: %w", errHourSums, d.err)
	}
	if d.pos != len(p) {
		return dst, fmt.Errorf("%w: got %d bytes; want %d: trailing data", errHourSums, len(p), d.pos)
	}
	return dst, nil
}

// readBlockHourSums reads the hour sums of a block body (CRC checked) whose meta has them.
func readBlockHourSums(dst []HourSum, m *BlockMeta, c storage.Class, body []byte, s *hourScratch) ([]HourSum, error) {
	if err := checkMeta(m); err != nil {
		return dst, err
	}
	if len(body) < 1 {
		return dst, fmt.Errorf("block flags: %w", errShort)
	}
	flags := body[0]
	if flags&blockHourSums == 0 {
		return dst, errors.New("block hour sums: index says present, block has none")
	}
	if m.MinTime < minHourTime {
		return dst, fmt.Errorf("block hour sums: block starts at %d, before the first hour %d", m.MinTime, minHourTime)
	}
	if got := blockClass(flags); got != c {
		return dst, fmt.Errorf("block value class: got %d; want %d", got, c)
	}
	d := decoder{b: body, pos: 1}
	var err error
	var times []int64
	s.runs = s.runs[:0]
	if flags&blockTimesImplied != 0 {
		s.runs, err = impliedHourRuns(s.runs, m)
	} else {
		s.times, err = decodeColumn(s.times[:0], d.section(), int(m.Agg.Count), codec.DecodeTimestamps)
		if err = firstErr(d.err, err); err == nil {
			err = checkTimes(s.times, m)
		}
		times = s.times
		s.runs = hourRuns(s.runs, times)
	}
	if err != nil {
		return dst, fmt.Errorf("block times: %w", err)
	}
	sec := d.section()
	if d.err != nil {
		return dst, fmt.Errorf("block hour sums: %w", d.err)
	}
	return decodeHourSums(dst, m, c, s.runs, times, sec)
}

// hourScratch is reused between blocks by ReadHourSums.
type hourScratch struct {
	times []int64
	runs  [][2]int
	sums  []HourSum
}

var hourScratches = sync.Pool{New: func() any { return new(hourScratch) }}

// checkHourSums compares a block's hour sums with its decoded points, hour by hour.
func checkHourSums(sums []HourSum, b *Block) error {
	i := 0
	for k, h := range sums {
		var s int64
		var fs float64
		lo := i
		for i < len(b.Times) && hourOf(b.Times[i]) == h.Start {
			switch b.Values.Type.Class() {
			case storage.ClassInt:
				s += b.Values.Ints[i]
			case storage.ClassFloat:
				fs += b.Values.Floats[i]
			}
			i++
		}
		if lo == i || int64(i-lo) != h.Count || b.Times[lo] != h.FirstTime || b.Times[i-1] != h.LastTime {
			return fmt.Errorf("%w: hour %d at %d: %d points in [%d, %d]; the block has %d from index %d", errHourSums,
				k, h.Start, h.Count, h.FirstTime, h.LastTime, i-lo, lo)
		}
		if s != h.Sum || (math.Float64bits(fs) != math.Float64bits(h.FSum) && (fs == fs || h.FSum == h.FSum)) {
			return fmt.Errorf("%w: hour %d at %d: sums %d %v; want %d %v", errHourSums, k, h.Start, h.Sum, h.FSum, s, fs)
		}
	}
	if i != len(b.Times) {
		return fmt.Errorf("%w: the hours hold %d points; the block %d", errHourSums, i, len(b.Times))
	}
	return nil
}
