package vnode

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
	"weak"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/engine"
)

// TestFinishedJobsAreReleased: once a flush or compaction job has been committed, nothing keeps
// it (and with it the memcaches and the file version it held) alive. A stopped job actor can stay
// reachable through a PID that caches its process, so the actor and its props must not hold the
// job: a server that had gone quiet kept its last memcache and its pre-compaction files' indexes
// (about 250 MB after the 1000-host load) this way.
func TestFinishedJobsAreReleased(t *testing.T) {
	var (
		mu   sync.Mutex
		jobs []func() bool // reports whether the job is still reachable
	)
	jobSpawned = func(w any) {
		mu.Lock()
		defer mu.Unlock()
		switch p := w.(type) {
		case weak.Pointer[engine.FlushJob]:
			jobs = append(jobs, func() bool { return p.Value() != nil })
		case weak.Pointer[engine.CompactionJob]:
			jobs = append(jobs, func() bool { return p.Value() != nil })
		}
	}
	t.Cleanup(func() { jobSpawned = nil })
	sys, mgr := startManager(t, Config{SettleAfter: 300 * time.Millisecond, Engine: engine.Options{CacheSize: 256 << 10}})
	for b := range 40 {
		batch := &storage.Batch{}
		for s := range 50 {
			times := make([]int64, 50)
			vals := make([]float64, 50)
			for i := range times {
				times[i] = int64(b*50+i) * 1e10
				vals[i] = float64(i)
			}
			batch.Series = append(batch.Series, storage.SeriesRows{Key: seriesKey(t, fmt.Sprint(s)), Times: times,
				Fields: []storage.FieldColumn{{Name: "usage", Values: storage.Values{Type: storage.TypeDouble, Floats: vals}}}})
		}
		// a 256 KiB memcache fills faster than a slow (race-detector, loaded CI) flush empties it:
		// the vnode answers OVERLOADED, and a client retries, as this one does
		for try := 0; ; try++ {
			res, err := sys.Root.RequestFuture(mgr, writeMsg(testSpec, batch, uint64(b+1)), timeout).Result()
			require.NoError(t, err)
			code := res.(*messages.WriteAck).GetCode()
			if code == messages.ErrorCode_ERROR_CODE_OVERLOADED && try < 200 {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, code)
			break
		}
	}
	live := func() (n, total int) {
		runtime.GC()
		mu.Lock()
		defer mu.Unlock()
		for _, alive := range jobs {
			if alive() {
				n++
			}
		}
		return n, len(jobs)
	}
	require.Eventually(t, func() bool {
		n, total := live()
		return total > 5 && n == 0
	}, 10*time.Second, 100*time.Millisecond, "every flush and compaction job released after settling")
}
