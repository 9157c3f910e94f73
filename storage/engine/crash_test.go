package engine

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/wal"
)

// The crash test runs a child process (this test binary) that writes batches with fsync policy
// "always" and prints "ack N" after each acknowledged batch, flushing and compacting as it goes.
// The parent kills it with SIGKILL at random moments, reopens the vnode and checks that every
// acknowledged batch is there, whole, and that no batch is there in part. The child also renames
// series (Rename) as it goes.

const (
	crashEnvDir   = "CHRONOGO_CRASH_DIR"
	crashEnvStart = "CHRONOGO_CRASH_START"
	crashEnvIdle  = "CHRONOGO_CRASH_IDLE"
	crashBatchPts = 10
	crashHosts    = 5
)

func crashOptions() Options {
	return Options{Sync: wal.SyncAlways, CacheSize: 16 << 10, WALSegmentSize: 64 << 10}
}

// crashBatch is batch n: host n%5, times n*10 .. n*10+9, values n*1000+j.
func crashBatch(t testing.TB, n int) *storage.Batch {
	key := seriesKey(t, "crash", "host", fmt.Sprintf("h%d", n%crashHosts))
	rows := storage.SeriesRows{Key: key}
	vals := make([]int64, crashBatchPts)
	for j := range vals {
		rows.Times = append(rows.Times, int64(n*crashBatchPts+j))
		vals[j] = int64(n*1000 + j)
	}
	rows.Fields = []storage.FieldColumn{{Name: "v", Values: storage.Values{Type: storage.TypeInt64, Ints: vals}}}
	return &storage.Batch{Version: uint64(n), Series: []storage.SeriesRows{rows}}
}

func TestMain(m *testing.M) {
	logrus.SetLevel(logrus.WarnLevel)
	if dir := os.Getenv(crashEnvDir); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

func crashChild(dir string) {
	start, _ := strconv.Atoi(os.Getenv(crashEnvStart))
	v, err := Open(dir, crashOptions())
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(2)
	}
	// As the vnode actor does: after the open (whose WAL replay may have filled caches) and after
	// writes, flush the immutable caches only, never the mutable one.
	background := func() {
		if j := v.StartFlush(false); j != nil {
			if err := v.FinishFlush(j, j.Run()); err != nil {
				fmt.Fprintln(os.Stderr, "child background flush:", err)
				os.Exit(7)
			}
		}
	}
	background()
	if os.Getenv(crashEnvIdle) != "" {
		fmt.Fprintln(os.Stdout, "idle") // the parent kills an idle process
		select {}
	}
	t := &testing.T{}
	for n := start; ; n++ {
		if _, err := v.WriteSync(crashBatch(t, n)); err != nil {
			fmt.Fprintln(os.Stderr, "child write:", err)
			os.Exit(3)
		}
		fmt.Fprintf(os.Stdout, "ack %d\n", n) // unbuffered: the parent sees it before the next write
		if n%5 == 0 {
			background() // the actor's flush runs behind the writes: the mutable cache is not empty
		}
		if n%97 == 0 {
			if err := v.Flush(); err != nil {
				fmt.Fprintln(os.Stderr, "child flush:", err)
				os.Exit(4)
			}
		}
		if n%11 == 5 {
			// Rename the host of this batch (the rename's version is this batch's): its points move
			// to a new series; the parent's check is by time over the whole table, so a rename cut by
			// the kill (copy done, tombstone missing) shows duplicates of equal values, never a loss.
			h := fmt.Sprintf("h%d", n%crashHosts)
			if _, err := v.Rename("crash", hostIs(h), setHost(map[string]string{h: fmt.Sprintf("r%d", n)}), uint64(n)); err != nil {
				fmt.Fprintln(os.Stderr, "child rename:", err)
				os.Exit(6)
			}
		}
		if n%23 == 0 {
			if err := v.Compact(context.Background(), n%46 == 0); err != nil {
				fmt.Fprintln(os.Stderr, "child compact:", err)
				os.Exit(5)
			}
		}
	}
}

// Every third process is killed while idle, right after its open and background flush: a second
// and third crash in a row must lose nothing either (a replay that fills the cache, a background
// flush of the immutable caches only, then a kill).
func TestCrashKill9RecoversAcknowledgedWrites(t *testing.T) {
	iterations := 12
	if testing.Short() {
		iterations = 6
	}
	if os.Getenv("CHRONOGO_LONG") != "" {
		iterations = 100
	}
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	maxAck := -1
	for it := 0; it < iterations; it++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		idle := it%3 == 2
		cmd.Env = append(os.Environ(), crashEnvDir+"="+dir, crashEnvStart+"="+strconv.Itoa(maxAck+1))
		if idle {
			cmd.Env = append(cmd.Env, crashEnvIdle+"=1")
		}
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		acks := make(chan int, 1<<16)
		idleNow := make(chan struct{})
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				var n int
				if _, err := fmt.Sscanf(sc.Text(), "ack %d", &n); err == nil {
					acks <- n
				} else if sc.Text() == "idle" {
					close(idleNow)
				}
			}
			close(acks)
		}()
		if idle {
			select {
			case <-idleNow:
			case <-time.After(time.Minute):
				t.Fatalf("iteration %d: the idle child did not open", it)
			}
			time.Sleep(time.Duration(r.IntN(50)) * time.Millisecond)
		} else {
			// a busy child: kill it while it writes, once it acknowledged something (a loaded
			// machine can take longer than the shortest sleep to start a race-built child)
			select {
			case n, ok := <-acks:
				if ok {
					maxAck = max(maxAck, n)
				}
			case <-time.After(time.Minute):
				t.Fatalf("iteration %d: the child acknowledged nothing within a minute", it)
			}
			time.Sleep(time.Duration(50+r.IntN(400)) * time.Millisecond)
		}
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		for n := range acks {
			maxAck = max(maxAck, n)
		}
		_ = cmd.Wait()
		require.GreaterOrEqual(t, maxAck, 0, "child acknowledged nothing in iteration %d", it)

		// Reopen and check: every batch <= maxAck complete, any later batch complete or absent.
		v, err := Open(dir, crashOptions())
		require.NoError(t, err, "iteration %d", it)
		got := map[int64]int64{}
		s := v.Snapshot()
		require.NoError(t, s.Scan(ScanQuery{Table: "crash", MinTime: minTime, MaxTime: maxTime}, func(c *ScanColumn) error {
			for i, ts := range c.Points.Times {
				got[ts] = c.Points.Values.Ints[i]
			}
			return nil
		}))
		s.Release()
		if maxAck >= 16 {
			require.Greater(t, v.Stats().Series, crashHosts, "renames made new series")
		}
		require.NoError(t, v.Close())
		for n := 0; ; n++ {
			present := 0
			for j := 0; j < crashBatchPts; j++ {
				ts := int64(n*crashBatchPts + j)
				if val, ok := got[ts]; ok {
					require.Equal(t, int64(n*1000+j), val, "batch %d point %d", n, j)
					present++
				}
			}
			if n <= maxAck {
				require.Equal(t, crashBatchPts, present, "iteration %d: acknowledged batch %d lost", it, n)
				continue
			}
			require.Contains(t, []int{0, crashBatchPts}, present, "batch %d partially present", n)
			if present == 0 {
				break
			}
		}
		t.Logf("iteration %d: %d batches acknowledged so far", it, maxAck+1)
	}
}
