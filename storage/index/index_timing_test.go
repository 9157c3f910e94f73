package index

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

// benchKeys makes n series keys of table cpu: host h%d (n/10 distinct hosts), region r%d (10),
// dc (int, 100 values), shard (n distinct: one series per key).
func benchKeys(tb testing.TB, n int) [][]byte {
	keys := make([][]byte, n)
	for i := range keys {
		k := storage.SeriesKey{Table: "cpu", Tags: []storage.Tag{
			{Key: "dc", Value: tv(i % 100)},
			{Key: "host", Value: storage.StringTag(fmt.Sprintf("host-%07d", i/10))},
			{Key: "region", Value: storage.StringTag(fmt.Sprintf("region-%d", i%10))},
			{Key: "shard", Value: storage.StringTag(fmt.Sprintf("s%d", i%10))},
		}}
		require.NoError(tb, k.Normalize())
		keys[i] = k.Marshal(nil)
	}
	return keys
}

func keyBytes(keys [][]byte) int64 {
	n := 0
	for _, k := range keys {
		n += len(k)
	}
	return int64(n)
}

func buildBench(b *testing.B, keys [][]byte) *Index {
	x, err := Open(b.TempDir(), Options{})
	require.NoError(b, err)
	var ids []storage.SeriesID
	for i := 0; i < len(keys); i += 1000 {
		ids, err = x.GetOrCreate(keys[i:min(i+1000, len(keys))], ids)
		require.NoError(b, err)
	}
	return x
}

func BenchmarkGetOrCreateExisting(b *testing.B) {
	keys := benchKeys(b, 100_000)
	x := buildBench(b, keys)
	batch := keys[:1000]
	ids := make([]storage.SeriesID, 0, len(batch))
	b.SetBytes(keyBytes(batch))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		batch = keys[(i%100)*1000 : (i%100)*1000+1000]
		var err error
		ids, err = x.GetOrCreate(batch, ids)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/key")
	require.NoError(b, x.Close())
}

func BenchmarkCreate100k(b *testing.B) {
	keys := benchKeys(b, 100_000)
	b.SetBytes(keyBytes(keys))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x := buildBench(b, keys)
		require.NoError(b, x.Sync())
		b.StopTimer()
		require.NoError(b, x.Close())
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*len(keys))/b.Elapsed().Seconds(), "series/s")
}

func BenchmarkSelect(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		keys := benchKeys(b, n)
		x := buildBench(b, keys)
		x.TagValues("cpu", "host") // normalize outside the timed loop
		cases := []struct {
			name string
			e    Expr
		}{
			{"eq-host", Match{Key: "host", Op: OpEq, Value: storage.StringTag("host-0000042")}}, // 10 series
			{"eq-region", Match{Key: "region", Op: OpEq, Value: storage.StringTag("region-3")}}, // n/10 series
			{"and-region-dc-range", And{Match{Key: "region", Op: OpEq, Value: storage.StringTag("region-3")}, Match{Key: "dc", Op: OpLt, Value: tv(20)}}},
			{"prefix-host", Match{Key: "host", Op: OpPrefix, Value: storage.StringTag("host-00001")}}, // 100 hosts, 1000 series
		}
		for _, c := range cases {
			b.Run(fmt.Sprintf("%s/n=%d", c.name, n), func(b *testing.B) {
				b.ReportAllocs()
				var got int
				for i := 0; i < b.N; i++ {
					ids, err := x.Select("cpu", c.e)
					if err != nil {
						b.Fatal(err)
					}
					got = len(ids)
				}
				b.StopTimer()
				b.ReportMetric(float64(got), "ids")
			})
		}
		x.Close()
	}
}
