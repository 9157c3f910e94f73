package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestAppendDocument(t *testing.T) {
	cases := []struct {
		name string
		line string
		want bson.D
	}{
		{
			name: "cpugen line",
			line: "cpu,hostname=host_0,region=sa-east-1 usage_user=42i,usage_system=-3i 1451606400000000000\n",
			want: bson.D{
				{Key: "time", Value: bson.DateTime(1451606400000)},
				{Key: "tags", Value: bson.D{{Key: "hostname", Value: "host_0"}, {Key: "region", Value: "sa-east-1"}}},
				{Key: "usage_user", Value: int64(42)},
				{Key: "usage_system", Value: int64(-3)},
			},
		},
		{
			name: "no tags, float field, sub-millisecond time truncated",
			line: "m f=1.5 1451606400123999999",
			want: bson.D{{Key: "time", Value: bson.DateTime(1451606400123)}, {Key: "f", Value: 1.5}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var p point
			require.NoError(t, parseLine([]byte(tc.line), &p))
			doc, err := appendDocument([]byte("prefix"), &p)
			require.NoError(t, err)
			require.Equal(t, "prefix", string(doc[:6]), "appends, keeps dst")
			want, err := bson.Marshal(tc.want)
			require.NoError(t, err)
			require.Equal(t, bson.Raw(want).String(), bson.Raw(doc[6:]).String())
			require.Equal(t, want, doc[6:])
		})
	}
}

func TestParseLineErrors(t *testing.T) {
	for _, line := range []string{
		"cpu usage=1i",                   // no timestamp
		"cpu,host=a 1451606400000000000", // no fields
		"cpu,host usage=1i 1",            // tag without value
		`cpu,host=a\ b usage=1i 1`,       // escapes
		"cpu usage=1i notanumber",
	} {
		var p point
		require.Error(t, parseLine([]byte(line), &p), line)
	}
}

func TestDocBuilderBatch(t *testing.T) {
	lines := []string{
		"cpu,hostname=host_0 usage_user=1i 1451606400000000000",
		"cpu,hostname=host_1 usage_user=2i 1451606400000000000",
		"cpu,hostname=host_0 usage_user=3i 1451606410000000000",
	}
	br := newBatchReader(strings.NewReader(strings.Join(lines, "\n")+"\n\n# comment\n"), 10)
	var b batch
	require.NoError(t, br.next(&b))
	require.Equal(t, 3, b.lines)
	require.Equal(t, 3, b.values)
	var d docBuilder
	docs, err := d.build(&b)
	require.NoError(t, err)
	require.Len(t, docs, 3)
	for i, want := range []struct {
		host string
		v    int64
		t    time.Time
	}{
		{"host_0", 1, time.Unix(1451606400, 0)},
		{"host_1", 2, time.Unix(1451606400, 0)},
		{"host_0", 3, time.Unix(1451606410, 0)},
	} {
		doc := docs[i].(bson.Raw)
		require.NoError(t, doc.Validate())
		require.Equal(t, want.host, doc.Lookup("tags", "hostname").StringValue())
		require.Equal(t, want.v, doc.Lookup("usage_user").Int64())
		require.Equal(t, want.t.UnixMilli(), doc.Lookup("time").DateTime())
	}
}

func TestMedian(t *testing.T) {
	cases := []struct {
		xs   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{7}, 7},
		{[]float64{9, 1, 5}, 5},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{3, 3, 100, 1, 2, 3, 50, 4, 3}, 3},
	}
	for _, tc := range cases {
		in := append([]float64(nil), tc.xs...)
		require.Equal(t, tc.want, median(tc.xs), "%v", tc.xs)
		require.Equal(t, in, tc.xs, "median must not reorder its input")
	}
}
