package lineproto

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

func TestParse(t *testing.T) {
	in := "cpu,host=a,region=us\\ west usage=1.5,n=3i,ok=t,msg=\"a, \\\"b\\\" c\" 1000\n" +
		"# comment\n\ncpu,host=a,region=us\\ west usage=2 2000\nmem,host=b free=10i\n"
	b, err := Parse([]byte(in), "s", 42)
	require.NoError(t, err)
	b.Finish()
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
		b.Finish()
		for _, batch := range b.ByMeasurement {
			require.NoError(t, batch.Validate())
		}
	})
}
