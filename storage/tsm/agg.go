package tsm

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/chronogo/chronogo/storage"
)

// computeAgg returns the pre-aggregates of a non-empty column (rules on Agg).
func computeAgg(v *storage.Values) Agg {
	a := Agg{Count: uint32(v.Len())}
	switch v.Type.Class() {
	case storage.ClassInt:
		x := v.Ints
		a.Min, a.Max, a.First, a.Last = x[0], x[0], x[0], x[len(x)-1]
		var hi int64 // 128-bit exact sum: hi:lo
		var lo uint64
		for _, e := range x {
			var c uint64
			lo, c = bits.Add64(lo, uint64(e), 0)
			hi += int64(c) + e>>63
			a.Min = min(a.Min, e)
			a.Max = max(a.Max, e)
		}
		a.Sum = int64(lo)
		a.SumOverflow = !(hi == 0 && lo < 1<<63 || hi == -1 && lo >= 1<<63)
	case storage.ClassFloat:
		x := v.Floats
		lo, hi := math.NaN(), math.NaN()
		var sum float64
		for _, f := range x {
			sum += f
			if f != f {
				continue
			}
			if lo != lo || f < lo {
				lo = f
			}
			if hi != hi || f > hi {
				hi = f
			}
		}
		a.SetFloats(sum, lo, hi, x[0], x[len(x)-1])
	case storage.ClassBool:
		x := v.Bools
		for _, b := range x {
			if b {
				a.Sum++
			}
		}
		a.First, a.Last = b2i(x[0]), b2i(x[len(x)-1])
		a.Min, a.Max = boolMinMax(a.Sum, a.Count)
	}
	return a
}

// boolMinMax derives Min (all true) and Max (any true) of a bool block from its true count.
func boolMinMax(sum int64, count uint32) (lo, hi int64) {
	if sum == int64(count) {
		lo = 1
	}
	if sum > 0 {
		hi = 1
	}
	return lo, hi
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// checkAgg rejects aggregates the index encoding cannot represent (they never come from computeAgg).
func checkAgg(a *Agg, c storage.Class) error {
	switch c {
	case storage.ClassInt:
		if a.Min > a.Max || a.First < a.Min || a.First > a.Max || a.Last < a.Min || a.Last > a.Max {
			return fmt.Errorf("int aggregates: min %d max %d first %d last %d", a.Min, a.Max, a.First, a.Last)
		}
	case storage.ClassBool:
		if a.Sum < 0 || a.Sum > int64(a.Count) || a.First&^1 != 0 || a.Last&^1 != 0 {
			return fmt.Errorf("bool aggregates: true %d of %d, first %d, last %d", a.Sum, a.Count, a.First, a.Last)
		}
	}
	return nil
}
