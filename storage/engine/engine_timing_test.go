package engine

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chronogo/chronogo/storage/layout"
	"github.com/chronogo/chronogo/storage/wal"
)

// Benchmarks on the TSBS cpu-only data set (100 hosts x 24 h x 10 fields = 8.64M values).
// Run with `make bench` (which makes the data set) or
// CHRONOGO_CPU_DATA=/path/cpu.lp go test -run '^$' -bench . -benchtime 1x ./storage/engine

func reportRSS(b *testing.B) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "MiB-peak-RSS")
	}
}

func writeAll(b *testing.B, v *Vnode, goroutines int) {
	batches, _ := cpuBatches(b)
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; i < len(batches); i += goroutines {
				if _, err := v.WriteSync(batches[i]); err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// bigCache keeps the whole data set in the memcache, so writes measure WAL + memcache only.
func bigCache(sync wal.SyncPolicy) Options {
	return Options{Sync: sync, CacheSize: 8 << 30, MaxImmutable: 64}
}

func BenchmarkWrite(b *testing.B) {
	_, values := cpuBatches(b)
	for _, bc := range []struct {
		name       string
		goroutines int
		sync       wal.SyncPolicy
	}{
		{"goroutines=1/fsync=always", 1, wal.SyncAlways},
		{"goroutines=2/fsync=always", 2, wal.SyncAlways},
		{"goroutines=1/fsync=never", 1, wal.SyncNever},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				v := openTest(b, b.TempDir(), bigCache(bc.sync))
				b.StartTimer()
				start := time.Now()
				writeAll(b, v, bc.goroutines)
				elapsed += time.Since(start)
				b.StopTimer()
				v.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(values)*float64(b.N)/elapsed.Seconds(), "values/s")
			reportRSS(b)
		})
	}
}

func BenchmarkFlush(b *testing.B) {
	_, values := cpuBatches(b)
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		v := openTest(b, b.TempDir(), bigCache(wal.SyncNever))
		writeAll(b, v, 1)
		b.StartTimer()
		start := time.Now()
		if err := v.Flush(); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		b.StopTimer()
		v.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(values)*float64(b.N)/elapsed.Seconds(), "values/s")
	reportRSS(b)
}

// compacted is a vnode holding the data set after flushes (default cache size) and a full compaction.
var (
	compactedOnce sync.Once
	compactedDir  string
	compactTime   time.Duration
)

func compactedVnode(b *testing.B) *Vnode {
	cpuBatches(b)
	compactedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "chronogo-bench-")
		if err != nil {
			b.Fatal(err)
		}
		compactedDir = dir
		batches, _ := cpuBatches(b)
		// Every batch is written before the compaction: as the coordinator would after the hinted-
		// handoff window, tell the engine that no write older than the last version can still come.
		last := batches[len(batches)-1].Version
		v := openTest(b, dir, Options{Sync: wal.SyncNever, StableVersion: func() uint64 { return last }})
		for _, bt := range batches {
			if _, err := v.Write(bt); err != nil {
				b.Fatal(err)
			}
			if v.NeedsFlush() {
				if err := v.Flush(); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := v.Flush(); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := v.Compact(context.Background(), true); err != nil {
			b.Fatal(err)
		}
		compactTime = time.Since(start)
		v.Close()
	})
	return openTest(b, compactedDir, Options{Sync: wal.SyncNever})
}

func dirBytes(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

func BenchmarkCompactedSize(b *testing.B) {
	_, values := cpuBatches(b)
	v := compactedVnode(b)
	defer v.Close()
	st := v.Stats()
	if len(st.Files) != 1 {
		b.Fatalf("full compaction left %d files", len(st.Files))
	}
	for i := 0; i < b.N; i++ {
	}
	all := dirBytes(v.Dir()) - dirBytes(filepath.Join(v.Dir(), layout.WALDir))
	b.ReportMetric(float64(st.DiskBytes)/float64(values), "tsm-B/value")
	b.ReportMetric(float64(all)/float64(values), "vnode-B/value")
	b.ReportMetric(float64(values)/compactTime.Seconds(), "compact-values/s")
}

func BenchmarkScan(b *testing.B) {
	v := compactedVnode(b)
	defer v.Close()
	var n int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := v.Snapshot()
		if err := s.Scan(ScanQuery{Table: "cpu", MinTime: minTime, MaxTime: maxTime}, func(c *ScanColumn) error {
			n += int64(c.Points.Len())
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		s.Release()
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "values/s")
	reportRSS(b)
}

func BenchmarkAggregate(b *testing.B) {
	v := compactedVnode(b)
	defer v.Close()
	for _, bc := range []struct {
		name   string
		window int64
		sums   bool // SumsOnly: $avg/$sum/$count, hour sums usable
	}{
		{"window=24h", 24 * 3600e9, false},
		{"window=1h", 3600e9, false},
		{"window=1h/sums-only", 3600e9, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var n int64
			var st AggStats
			for i := 0; i < b.N; i++ {
				s := v.Snapshot()
				q := AggQuery{ScanQuery: ScanQuery{Table: "cpu", MinTime: minTime, MaxTime: maxTime}, Window: bc.window, SumsOnly: bc.sums}
				got, err := s.Aggregate(q, func(r *AggResult) error { return nil })
				if err != nil {
					b.Fatal(err)
				}
				s.Release()
				n += got.Points
				st = got
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "values/s")
			all := float64(st.BlocksFromAgg + st.BlocksDecoded + st.BlocksFromSums)
			b.ReportMetric(float64(st.BlocksFromAgg)/all, "preagg-fraction")
			b.ReportMetric(float64(st.BlocksFromSums)/all, "hoursums-fraction")
		})
	}
}

func BenchmarkRecovery(b *testing.B) {
	_, values := cpuBatches(b)
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		v := openTest(b, dir, bigCache(wal.SyncNever))
		writeAll(b, v, 1)
		v.Close()
		b.StartTimer()
		start := time.Now()
		v = openTest(b, dir, bigCache(wal.SyncNever))
		elapsed += time.Since(start)
		b.StopTimer()
		v.Close()
		b.StartTimer()
	}
	b.ReportMetric(elapsed.Seconds()/float64(b.N), "s/recovery")
	b.ReportMetric(float64(values)*float64(b.N)/elapsed.Seconds(), "values/s")
	reportRSS(b)
}

// BenchmarkDigests digests every series of the compacted cpu vnode by hour, as anti-entropy does
// for each replica it compares.
func BenchmarkDigests(b *testing.B) {
	v := compactedVnode(b)
	defer v.Close()
	var n int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := v.Snapshot()
		if err := s.Digests(DigestQuery{Table: "cpu", MinTime: minTime, MaxTime: maxTime, Window: 3600e9}, func(d *SeriesDigest) error {
			n += d.Points
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		s.Release()
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "values/s")
}
