package tsm

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"

	"github.com/chronogo/chronogo/storage"
)

// Dump writes a readable listing of the file: a summary line, then each key, its block metas and every
// point. The file is named by its base name only, so dumps are stable across directories.
func (r *Reader) Dump(w io.Writer) error { return r.dump(w, true) }

// DumpIndex is Dump without the points: it reads no blocks.
func (r *Reader) DumpIndex(w io.Writer) error { return r.dump(w, false) }

func (r *Reader) dump(w io.Writer, points bool) error {
	bw := bufio.NewWriter(w)
	in := r.info
	fmt.Fprintf(bw, "tsm %s: version %d, %d bytes, %d keys, %d series, %d points, time [%d, %d], seq [%d, %d]\n",
		filepath.Base(r.path), r.version, in.Size, in.Keys, in.Series, in.Points, in.MinTime, in.MaxTime, in.MinSeq, in.MaxSeq)
	if r.version >= FormatV2 {
		err := r.SeriesKeys(func(id storage.SeriesID, key []byte) error {
			fmt.Fprintf(bw, "series %#016x: %s\n", uint64(id), FormatSeriesKey(key))
			return nil
		})
		if err != nil {
			bw.Flush()
			return err
		}
	}
	var b Block
	for _, e := range r.entries {
		fmt.Fprintf(bw, "key series=%#016x field=%q type=%#02x blocks=%d\n", uint64(e.Key.Series), e.Key.Field, uint8(e.Key.Type), len(e.Blocks))
		for i, m := range e.Blocks {
			fmt.Fprintf(bw, "  block %d: offset=%d size=%d count=%d time=[%d, %d] implied=%t version=[%d, %d] seq=[%d, %d] %s\n",
				i, m.Offset, m.Size, m.Agg.Count, m.MinTime, m.MaxTime, m.timesImplied, m.MinVersion, m.MaxVersion, m.MinSeq, m.MaxSeq,
				formatAgg(&m.Agg, e.Key.Type.Class()))
			if !points {
				continue
			}
			if err := r.ReadBlock(m, e.Key.Type, &b); err != nil {
				bw.Flush()
				return err
			}
			for j := range b.Times {
				fmt.Fprintf(bw, "    %d %s version=%d seq=%d\n", b.Times[j], formatValue(&b.Values, j), b.Versions[j], b.Seqs[j])
			}
		}
	}
	return bw.Flush()
}

func formatAgg(a *Agg, c storage.Class) string {
	switch c {
	case storage.ClassInt:
		return fmt.Sprintf("sum=%d overflow=%t min=%d max=%d first=%d last=%d", a.Sum, a.SumOverflow, a.Min, a.Max, a.First, a.Last)
	case storage.ClassFloat:
		return fmt.Sprintf("sum=%s min=%s max=%s first=%s last=%s",
			formatFloat(a.FSum), formatFloat(a.FMin), formatFloat(a.FMax), formatFloat(a.FFirst), formatFloat(a.FLast))
	case storage.ClassBool:
		return fmt.Sprintf("true=%d first=%d last=%d", a.Sum, a.First, a.Last)
	}
	return ""
}

// formatFloat prints the shortest decimal, plus the bits where the decimal loses them (NaN, -0).
func formatFloat(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if f != f || (f == 0 && math.Signbit(f)) {
		s += fmt.Sprintf("(%#016x)", math.Float64bits(f))
	}
	return s
}

func formatValue(v *storage.Values, i int) string {
	switch v.Type.Class() {
	case storage.ClassFloat:
		return formatFloat(v.Floats[i])
	case storage.ClassInt:
		return strconv.FormatInt(v.Ints[i], 10)
	case storage.ClassBool:
		return strconv.FormatBool(v.Bools[i])
	case storage.ClassBytes:
		if v.Type == storage.TypeString {
			return strconv.Quote(string(v.Bytes[i]))
		}
		return fmt.Sprintf("%x", v.Bytes[i])
	}
	return "?"
}

// FormatSeriesKey renders an encoded series key as `"table" tag=value ...`, for dumps and tools.
func FormatSeriesKey(key []byte) string {
	k, err := storage.UnmarshalSeriesKey(key)
	if err != nil {
		return fmt.Sprintf("undecodable key %x (%v)", key, err)
	}
	out := strconv.Quote(k.Table)
	for _, t := range k.Tags {
		out += " " + t.Key + "=" + t.Value.String()
	}
	return out
}
