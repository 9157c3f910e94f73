package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

func TestPrepareDocuments(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.lp")
	var lines []string
	for i := range 7 {
		lines = append(lines, fmt.Sprintf("cpu,hostname=host_%d usage_user=%di,usage_idle=%d.5 %d", i%3, i, i, 1451606400000000000+int64(i)*1e10))
	}
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	batches, err := prepareDocuments(path, 3)
	require.NoError(t, err)
	require.Len(t, batches, 3, "7 lines in batches of 3")
	var got []any
	for _, b := range batches {
		require.Equal(t, int64(len(b.docs)), b.lines)
		require.Equal(t, 2*b.lines, b.values)
		got = append(got, b.docs...)
	}
	require.Len(t, got, 7)
	for i, d := range got {
		doc := d.(bson.Raw)
		require.NoError(t, doc.Validate())
		_, err := doc.LookupErr("_id")
		require.Error(t, err, "the driver adds the _id")
		require.Equal(t, fmt.Sprintf("host_%d", i%3), doc.Lookup("tags", "hostname").StringValue())
		require.Equal(t, int64(i), doc.Lookup("usage_user").Int64())
		require.Equal(t, float64(i)+0.5, doc.Lookup("usage_idle").Double())
	}

	// sendPrepared delivers every batch once and sums lines and values.
	var mu sync.Mutex
	seen := map[*any]int{}
	l, v, err := sendPrepared(context.Background(), batches, 2, func(_ context.Context, docs []any) error {
		mu.Lock()
		defer mu.Unlock()
		seen[&docs[0]]++
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, int64(7), l)
	require.Equal(t, int64(14), v)
	require.Len(t, seen, 3)
	for _, n := range seen {
		require.Equal(t, 1, n)
	}
	_, _, err = sendPrepared(context.Background(), batches, 2, func(context.Context, []any) error { return errors.New("refused") })
	require.ErrorContains(t, err, "refused")
}
