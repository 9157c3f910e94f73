package promremote

import (
	"encoding/hex"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// writeRequestHex is a WriteRequest with one series {__name__="up", job="a"} and one sample
// (1.5 at 1000 ms), assembled by hand from remote.proto and types.proto:
//
//	0a 28                   WriteRequest.timeseries, 40 bytes
//	  0a 0e                 TimeSeries.labels, 14 bytes
//	    0a 08 "__name__"    Label.name
//	    12 02 "up"          Label.value
//	  0a 08                 TimeSeries.labels, 8 bytes
//	    0a 03 "job" 12 01 "a"
//	  12 0c                 TimeSeries.samples, 12 bytes
//	    09 000000000000f83f Sample.value (fixed64, 1.5)
//	    10 e807             Sample.timestamp (varint 1000)
const writeRequestHex = "0a28" + "0a0e0a085f5f6e616d655f5f12027570" + "0a080a036a6f62120161" + "120c09000000000000f83f10e807"

var oneSeries = []TimeSeries{{Labels: []Label{{"__name__", "up"}, {"job", "a"}}, Samples: []Sample{{1.5, 1000}}}}

func TestWriteRequestBytes(t *testing.T) {
	raw, err := hex.DecodeString(writeRequestHex)
	require.NoError(t, err)
	var got []TimeSeries
	var ts TimeSeries
	require.NoError(t, DecodeWriteRequest(raw, &ts, func(ts *TimeSeries) error {
		got = append(got, TimeSeries{Labels: append([]Label(nil), ts.Labels...), Samples: append([]Sample(nil), ts.Samples...)})
		return nil
	}))
	require.Equal(t, oneSeries, got)
	require.Equal(t, writeRequestHex, hex.EncodeToString(AppendWriteRequest(nil, oneSeries)))
}

func TestReadRequestRoundTrip(t *testing.T) {
	qs := []Query{
		{StartMs: -5, EndMs: 1 << 40, Matchers: []Matcher{{MatchEqual, "__name__", "up"}, {MatchNotRegexp, "job", "a|b"}}},
		{StartMs: 0, EndMs: 10, Matchers: []Matcher{{MatchRegexp, "__name__", "node_.*"}, {MatchNotEqual, "x", ""}}},
	}
	r, err := DecodeReadRequest(AppendReadRequest(nil, qs))
	require.NoError(t, err)
	require.True(t, r.SamplesAccepted)
	require.Equal(t, qs, r.Queries)

	// only streamed chunks accepted (accepted_response_types = [1], packed)
	r, err = DecodeReadRequest([]byte{0x12, 0x01, 0x01})
	require.NoError(t, err)
	require.False(t, r.SamplesAccepted)
	// a matcher type past !~
	_, err = DecodeReadRequest([]byte{0x0a, 0x04, 0x1a, 0x02, 0x08, 0x09})
	require.ErrorIs(t, err, ErrMalformed)
}

func TestReadResponseRoundTrip(t *testing.T) {
	var w ResponseWriter
	w.AddSeries(&oneSeries[0])
	w.AddSeries(&TimeSeries{Labels: []Label{{"__name__", "x"}}, Samples: []Sample{{math.Inf(-1), -3}, {0, 4}}})
	w.EndQuery()
	w.EndQuery() // an empty result
	got, err := DecodeReadResponse(w.Bytes())
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, oneSeries[0], got[0][0])
	require.Equal(t, []Sample{{math.Inf(-1), -3}, {0, 4}}, got[0][1].Samples)
	require.Empty(t, got[1])
}

func TestDecompressBounds(t *testing.T) {
	body := Compress(make([]byte, 1000))
	_, err := Decompress(body, 999)
	require.Error(t, err, "a block decoding past the limit is refused before it is decoded")
	out, err := Decompress(body, 1000)
	require.NoError(t, err)
	require.Len(t, out, 1000)
	// a header claiming 2^40 bytes
	_, err = Decompress([]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0x00}, 1<<20)
	require.Error(t, err)
}

// FuzzDecodeWriteRequest: any bytes decode or fail, never panic; what decodes encodes back to
// bytes that decode the same.
func FuzzDecodeWriteRequest(f *testing.F) {
	raw, _ := hex.DecodeString(writeRequestHex)
	f.Add(raw)
	f.Add([]byte{0x0a, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var all []TimeSeries
		var ts TimeSeries
		err := DecodeWriteRequest(b, &ts, func(ts *TimeSeries) error {
			all = append(all, TimeSeries{Labels: append([]Label(nil), ts.Labels...), Samples: append([]Sample(nil), ts.Samples...)})
			return nil
		})
		if err != nil {
			return
		}
		var again []TimeSeries
		require.NoError(t, DecodeWriteRequest(AppendWriteRequest(nil, all), &ts, func(ts *TimeSeries) error {
			again = append(again, TimeSeries{Labels: append([]Label(nil), ts.Labels...), Samples: append([]Sample(nil), ts.Samples...)})
			return nil
		}))
		require.Equal(t, len(all), len(again))
		for i := range all {
			require.Equal(t, all[i].Labels, again[i].Labels)
			require.Equal(t, len(all[i].Samples), len(again[i].Samples))
			for k := range all[i].Samples {
				require.Equal(t, math.Float64bits(all[i].Samples[k].Value), math.Float64bits(again[i].Samples[k].Value))
				require.Equal(t, all[i].Samples[k].TimestampMs, again[i].Samples[k].TimestampMs)
			}
		}
	})
}

// FuzzDecodeReadRequest: any bytes decode or fail, never panic.
func FuzzDecodeReadRequest(f *testing.F) {
	f.Add(AppendReadRequest(nil, []Query{{StartMs: 1, EndMs: 2, Matchers: []Matcher{{MatchRegexp, "a", "b"}}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeReadRequest(b)
		if err != nil {
			return
		}
		for _, q := range r.Queries {
			for _, m := range q.Matchers {
				require.LessOrEqual(t, int(m.Type), 3)
			}
		}
	})
}
