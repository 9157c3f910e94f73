package tsm

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"time"

	"github.com/chronogo/chronogo/storage"
)

// Dump writes a listing of the file: a summary line, the series keys, then each key, its block
// metas and every point, in the raw form (times in ns, types and series ids in hex), which the
// golden files freeze. The file is named by its base name only, so dumps are stable across
// directories.
func (r *Reader) Dump(w io.Writer) error { return r.DumpWith(w, DumpOptions{Points: true, Raw: true}) }

// DumpIndex is Dump without the points: it reads no blocks.
func (r *Reader) DumpIndex(w io.Writer) error { return r.DumpWith(w, DumpOptions{Raw: true}) }

// DumpOptions choose what DumpWith prints and how.
type DumpOptions struct {
	Points bool // read every block and print its points
	// Raw prints times as ns, types as hex codes and series by id; otherwise times are RFC 3339
	// (UTC), types are BSON names and series are their keys as line protocol writes them.
	Raw bool
}

// DumpWith writes the listing Dump describes, as o says.
func (r *Reader) DumpWith(w io.Writer, o DumpOptions) error {
	bw := bufio.NewWriter(w)
	in := r.info
	fmtTime := func(ns int64) string { return strconv.FormatInt(ns, 10) }
	if !o.Raw {
		fmtTime = func(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }
	}
	fmt.Fprintf(bw, "tsm %s: version %d, %d bytes, %d keys, %d series, %d points, time [%s, %s], seq [%d, %d]\n",
		filepath.Base(r.path), r.version, in.Size, in.Keys, in.Series, in.Points, fmtTime(in.MinTime), fmtTime(in.MaxTime), in.MinSeq, in.MaxSeq)
	if t := r.table; t != nil {
		fmt.Fprintf(bw, "version table: %d pairs\n", t.len())
		for i := range t.versions {
			if o.Raw && o.Points {
				fmt.Fprintf(bw, "  id %d: version=%d seq=%d\n", i, t.versions[i], t.seqs[i])
			}
		}
	}
	names := map[storage.SeriesID]string{}
	if r.version >= FormatV2 {
		err := r.SeriesKeys(func(id storage.SeriesID, key []byte) error {
			if o.Raw {
				fmt.Fprintf(bw, "series %#016x: %s\n", uint64(id), FormatSeriesKey(key))
			} else {
				names[id] = storage.DisplayKey(key)
			}
			return nil
		})
		if err != nil {
			bw.Flush()
			return err
		}
	}
	var b Block
	for _, e := range r.Entries() {
		if o.Raw {
			fmt.Fprintf(bw, "key series=%#016x field=%q type=%#02x blocks=%d\n", uint64(e.Key.Series), e.Key.Field, uint8(e.Key.Type), len(e.Blocks))
		} else {
			series, ok := names[e.Key.Series]
			if !ok {
				series = fmt.Sprintf("series-id=%#016x", uint64(e.Key.Series)) // a version 1 file names no series
			}
			fmt.Fprintf(bw, "%s field=%q type=%s blocks=%d\n", series, e.Key.Field, e.Key.Type.Name(), len(e.Blocks))
		}
		for i, m := range e.Blocks {
			fmt.Fprintf(bw, "  block %d: offset=%d size=%d count=%d time=[%s, %s] implied=%t version=[%d, %d] seq=[%d, %d] %s\n",
				i, m.Offset, m.Size, m.Agg.Count, fmtTime(m.MinTime), fmtTime(m.MaxTime), m.timesImplied, m.MinVersion, m.MaxVersion, m.MinSeq, m.MaxSeq,
				formatAgg(&m.Agg, e.Key.Type.Class()))
			if m.hourSums {
				err := r.ReadHourSums(e.Blocks[i:i+1], e.Key.Type, func(_ *BlockMeta, sums []HourSum) error {
					for _, h := range sums {
						sum := strconv.FormatInt(h.Sum, 10)
						if e.Key.Type.Class() == storage.ClassFloat {
							sum = formatFloat(h.FSum)
						}
						fmt.Fprintf(bw, "    hour %s: count=%d time=[%s, %s] sum=%s\n", fmtTime(h.Start), h.Count, fmtTime(h.FirstTime), fmtTime(h.LastTime), sum)
					}
					return nil
				})
				if err != nil {
					bw.Flush()
					return err
				}
			}
			if !o.Points {
				continue
			}
			if err := r.ReadBlock(m, e.Key.Type, &b); err != nil {
				bw.Flush()
				return err
			}
			for j := range b.Times {
				fmt.Fprintf(bw, "    %s %s version=%d seq=%d\n", fmtTime(b.Times[j]), formatValue(&b.Values, j), b.Versions[j], b.Seqs[j])
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
			formatFloat(a.FSum()), formatFloat(a.FMin()), formatFloat(a.FMax()), formatFloat(a.FFirst()), formatFloat(a.FLast()))
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
