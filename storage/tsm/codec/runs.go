package codec

import (
	"encoding/binary"
	"fmt"
	"sync"
)

// The runs form (encRuns) stores a column with long runs of equal values, such as the per-point
// version ids of a block written from a few batches: the run values and the run lengths are each
// an int64-family column of their own, so runs that repeat a pattern (equal lengths, values that
// step by one) cost a few bytes for the whole column.
//
//	encRuns  ┌ uvarint(nruns) ┬ uvarint(len A) ┬ A: column of the nruns run values ┬ B: column of the nruns (run length − 1) ┐
//
// A and B are int64-family columns that never use the runs form themselves; the header parameter
// of encRuns is 0 (A and B carry their own exponents). Run lengths are >= 1 and sum to count.

// minRunsRatio: the encoder tries the runs form only when runs are at least this long on average.
const minRunsRatio = 4

// countRuns returns the number of runs of equal values in v.
func countRuns(v []int64) int {
	if len(v) == 0 {
		return 0
	}
	n := 1
	for i := 1; i < len(v); i++ {
		if v[i] != v[i-1] {
			n++
		}
	}
	return n
}

// appendRuns appends v in the runs form (header included), or reports false when runs are too
// short for the form to pay off.
func (s *encScratch) appendRuns(c []byte, v []int64) ([]byte, bool) {
	nr := countRuns(v)
	if nr == 0 || nr*minRunsRatio > len(v) {
		return c, false
	}
	rs := runsPool.Get().(*runScratch)
	defer runsPool.Put(rs)
	rs.vals, rs.lens = rs.vals[:0], rs.lens[:0]
	start := 0
	for i := 1; i <= len(v); i++ {
		if i == len(v) || v[i] != v[start] {
			rs.vals = append(rs.vals, v[start])
			rs.lens = append(rs.lens, int64(i-start-1))
			start = i
		}
	}
	c = appendHeader(c, encRuns, 0, len(v))
	c = binary.AppendUvarint(c, uint64(nr))
	rs.col = encodeFamily(rs.col[:0], rs.vals, formRLE|formDelta8b|formEntropy)
	c = binary.AppendUvarint(c, uint64(len(rs.col)))
	c = append(c, rs.col...)
	return encodeFamily(c, rs.lens, formRLE|formDelta8b|formEntropy), true
}

type runScratch struct {
	vals, lens []int64
	col        []byte
}

var runsPool = sync.Pool{New: func() any { return new(runScratch) }}

// decodeRuns fills out (len = the column count) from a runs-form payload p.
func decodeRuns(out []int64, p []byte) error {
	pos := 0
	nr, err := readUvarint(p, &pos, "runs count")
	if err != nil {
		return err
	}
	if nr == 0 || nr > uint64(len(out)) {
		return fmt.Errorf("codec: runs: got %d runs for %d values: %w", nr, len(out), errBadHeader)
	}
	la, err := readUvarint(p, &pos, "runs values length")
	if err != nil {
		return err
	}
	if la > uint64(len(p)-pos) {
		return fmt.Errorf("codec: runs: values column of %d bytes past the payload: %w", la, errShort)
	}
	a, b := p[pos:pos+int(la)], p[pos+int(la):]
	rs := runsPool.Get().(*runScratch)
	defer runsPool.Put(rs)
	if rs.vals, err = decodeNested(rs.vals[:0], a, int(nr)); err != nil {
		return fmt.Errorf("codec: runs values: %w", err)
	}
	if rs.lens, err = decodeNested(rs.lens[:0], b, int(nr)); err != nil {
		return fmt.Errorf("codec: runs lengths: %w", err)
	}
	i := 0
	for r, l := range rs.lens {
		if l < 0 || uint64(l) >= uint64(len(out)-i) {
			return fmt.Errorf("codec: runs: run %d of length %d past %d values: %w", r, uint64(l)+1, len(out), errBadHeader)
		}
		x := rs.vals[r]
		for end := i + int(l) + 1; i < end; i++ {
			out[i] = x
		}
	}
	if i != len(out) {
		return fmt.Errorf("codec: runs: lengths cover %d of %d values: %w", i, len(out), errShort)
	}
	return nil
}

// decodeNested decodes a column inside a runs form: any int64-family form but runs, with exactly
// n values.
func decodeNested(dst []int64, src []byte, n int) ([]int64, error) {
	if len(src) > 0 && src[0]>>4 == encRuns {
		return dst, fmt.Errorf("nested runs column: %w", errBadHeader)
	}
	c, err := Count(src)
	if err != nil {
		return dst, err
	}
	if c != n {
		return dst, fmt.Errorf("got %d values; want %d: %w", c, n, errBadHeader)
	}
	return decodeFamily(dst, src)
}
