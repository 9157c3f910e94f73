package wal

import (
	"sync"
	"testing"
)

// BenchmarkAppendCommit measures Append+Commit of 64 KiB batches. MB/s comes from b.SetBytes;
// fsyncs/op shows how many commits one fsync covers.
func BenchmarkAppendCommit(b *testing.B) {
	data := make([]byte, 64<<10)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for _, policy := range []SyncPolicy{SyncAlways, SyncNever} {
		b.Run("sync="+policy.String(), func(b *testing.B) {
			b.Run("serial", func(b *testing.B) {
				w := benchWAL(b, policy)
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				base := w.fsyncs.Load()
				b.ResetTimer()
				for i := range b.N {
					seq := uint64(i + 1)
					if err := w.Append(seq, data); err != nil {
						b.Fatal(err)
					}
					if err := w.Commit(seq); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(w.fsyncs.Load()-base)/float64(b.N), "fsyncs/op")
			})
			b.Run("parallel", func(b *testing.B) {
				w := benchWAL(b, policy)
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				var (
					mu   sync.Mutex
					next uint64
				)
				base := w.fsyncs.Load()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						mu.Lock() // seq_nos are assigned in append order, as the engine does
						next++
						seq := next
						err := w.Append(seq, data)
						mu.Unlock()
						if err == nil {
							err = w.Commit(seq)
						}
						if err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.StopTimer()
				b.ReportMetric(float64(w.fsyncs.Load()-base)/float64(b.N), "fsyncs/op")
			})
		})
	}
}

func benchWAL(b *testing.B, policy SyncPolicy) *WAL {
	w, err := Open(b.TempDir(), Options{Sync: policy, Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Replay(0, nil); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = w.Close() })
	return w
}
