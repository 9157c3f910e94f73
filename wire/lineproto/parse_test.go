package lineproto

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

func TestParse(t *testing.T) {
	in := "cpu,host=a,region=us\\ west usage=1.5,n=3i,ok=t,msg=\"a, \\\"b\\\" c\" 1000\n" +
		"# comment\n\ncpu,host=a,region=us\\ west usage=2 2000\nmem,host=b free=10i\n"
	b, err := Parse([]byte(in), "s", 42)
	require.NoError(t, err)

	require.Equal(t, 3, b.Lines)
	require.Equal(t, 6, b.Values)
	cpu := b.ByMeasurement["cpu"]
	require.NoError(t, cpu.Validate())
	require.Len(t, cpu.Series, 1)
	key, err := storage.UnmarshalSeriesKey(cpu.Series[0].Key)
	require.NoError(t, err)
	require.Equal(t, "cpu", key.Table)
	v, ok := key.Tag("tags.region")
	require.True(t, ok)
	require.Equal(t, "us west", string(v.Raw))
	require.Equal(t, []int64{1000e9, 2000e9}, cpu.Series[0].Times)
	got := map[string]any{}
	for _, f := range cpu.Series[0].Fields {
		switch f.Values.Type {
		case storage.TypeDouble:
			got[f.Name] = f.Values.Floats
		case storage.TypeInt64:
			got[f.Name] = f.Values.Ints
		case storage.TypeBool:
			got[f.Name] = f.Values.Bools
		case storage.TypeString:
			got[f.Name] = string(f.Values.Bytes[0])
		}
	}
	require.Equal(t, map[string]any{"usage": []float64{1.5, 2}, "n": []int64{3}, "ok": []bool{true}, "msg": `a, "b" c`}, got)
	mem := b.ByMeasurement["mem"]
	require.Equal(t, []int64{42}, mem.Series[0].Times, "a line without timestamp gets now")
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		"cpu", "cpu usage", "cpu usage=", "cpu,host usage=1", "cpu usage=abc", "cpu usage=1 notatime",
		"cpu usage=\"open", "cpu time=1", "cpu usage=1,usage=2", ",x=1 f=1",
	} {
		_, err := Parse([]byte(in), "ns", 0)
		require.Error(t, err, in)
		var pe *ParseError
		require.ErrorAs(t, err, &pe, in)
		require.Equal(t, 1, pe.Line)
	}
	_, err := Parse([]byte("cpu v=1"), "weeks", 0)
	require.Error(t, err)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("cpu,host=a usage=1.5,n=3i,ok=t,msg=\"x\" 1000"), "s")
	f.Add([]byte("m f=1\nm,t=\\ x g=\"a,b\" -5"), "ns")
	f.Fuzz(func(t *testing.T, data []byte, precision string) {
		b, err := Parse(data, precision, 0)
		if err != nil {
			return
		}

		for _, batch := range b.ByMeasurement {
			require.NoError(t, batch.Validate())
		}
	})
}

// TestParseSparseFieldsMatchModel: fields that come and go between lines of a series (dense
// columns that turn sparse, columns that start late or stop early, long runs past the slab's
// first pieces) hold the same (time, value) pairs as a model built from the lines themselves.
func TestParseSparseFieldsMatchModel(t *testing.T) {
	type point struct {
		t int64
		v int64
	}
	for _, c := range []struct {
		name  string
		lines int
		keep  func(line, field int) bool
	}{
		{"dense", 300, func(int, int) bool { return true }},
		{"every other", 300, func(l, f int) bool { return f == 0 || (l+f)%2 == 0 }},
		{"late start", 300, func(l, f int) bool { return f != 2 || l >= 40 }},
		{"early stop", 300, func(l, f int) bool { return f != 1 || l < 100 }},
		{"random", 5000, func(l, f int) bool { return (l*7919+f*104729)%5 != 0 || f == 0 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			var in []byte
			want := map[string]map[string][]point{}
			for l := 0; l < c.lines; l++ {
				host := fmt.Sprintf("h%d", l%3)
				ts := int64(1000 + l)
				line := "cpu,host=" + host + " "
				sep := ""
				for f := 0; f < 3; f++ {
					if !c.keep(l, f) {
						continue
					}
					v := int64(l*10 + f)
					name := fmt.Sprintf("f%d", f)
					line += fmt.Sprintf("%s%s=%di", sep, name, v)
					sep = ","
					if want[host] == nil {
						want[host] = map[string][]point{}
					}
					want[host][name] = append(want[host][name], point{ts, v})
				}
				in = append(in, fmt.Sprintf("%s %d\n", line, ts)...)
			}
			b, err := Parse(in, "ns", 0)
			require.NoError(t, err)
			got := map[string]map[string][]point{}
			for _, s := range b.ByMeasurement["cpu"].Series {
				key, err := storage.UnmarshalSeriesKey(s.Key)
				require.NoError(t, err)
				hv, _ := key.Tag("tags.host")
				host := string(hv.Raw)
				got[host] = map[string][]point{}
				for _, f := range s.Fields {
					if f.Rows != nil {
						require.Less(t, len(f.Rows), len(s.Times), "a column covering every row has nil Rows")
					}
					for i, v := range f.Values.Ints {
						got[host][f.Name] = append(got[host][f.Name], point{s.Times[f.RowAt(i)], v})
					}
				}
			}
			require.Equal(t, want, got)
			require.NoError(t, b.ByMeasurement["cpu"].Validate())
		})
	}
}

// TestParseBadLineAfterSparseLines: a bad field in the middle of a line fails the request, whatever
// the columns looked like before it.
func TestParseBadLineAfterSparseLines(t *testing.T) {
	_, err := Parse([]byte("m a=1i 1\nm b=2i 2\nm a=3i,b=x 3\n"), "ns", 0)
	var pe *ParseError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, 3, pe.Line)
}
