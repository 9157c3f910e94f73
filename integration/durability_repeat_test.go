package integration

import (
	"context"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chronogo/chronogo/integration/setup"
)

// TestRepeatedKill9BusyAndIdle is issue #7's double-crash finding as a loop over one data
// directory: SIGKILL a busy server (Go-driver insertMany from four clients), restart it, check
// every acknowledged batch, SIGKILL it again while idle (its WAL replay may have filled the small
// cache and started a background flush), restart and check again. The cache is 256 KiB so that
// replays fill it. 10 trials here, 100 with CHRONOGO_LONG.
func TestRepeatedKill9BusyAndIdle(t *testing.T) {
	t.Parallel()
	trials := 10
	if os.Getenv("CHRONOGO_LONG") != "" {
		trials = 100
	}
	srv := setup.Start(t, "", "--cache-size=256KiB")
	ctx := testCtx(t)
	c := srv.Client()
	require.NoError(t, c.Database("load").CreateCollection(ctx, "m", options.CreateCollection().
		SetTimeSeriesOptions(options.TimeSeries().SetTimeField("t").SetMetaField("host"))))

	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	const perBatch = 200
	acked := map[int]bool{} // batch numbers acknowledged, over every trial
	next := 0               // first batch number of the next trial
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for trial := 0; trial < trials; trial++ {
		// Busy: four writers until the kill.
		var (
			mu sync.Mutex
			wg sync.WaitGroup
		)
		client := c
		loadCtx, stopLoad := context.WithCancel(ctx)
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				coll := client.Database("load").Collection("m")
				for n := next + w; loadCtx.Err() == nil; n += 4 {
					docs := make([]any, perBatch)
					for i := range docs {
						docs[i] = bson.D{{Key: "t", Value: base.Add(time.Duration(n*perBatch+i) * time.Millisecond)},
							{Key: "host", Value: w}, {Key: "batch", Value: int32(n)}, {Key: "i", Value: int32(i)}, {Key: "v", Value: float64(n) * 1.5}}
					}
					if _, err := coll.InsertMany(loadCtx, docs); err != nil {
						return // the server died: not acknowledged
					}
					mu.Lock()
					acked[n] = true
					mu.Unlock()
				}
			}(w)
		}
		time.Sleep(time.Duration(300+r.IntN(900)) * time.Millisecond)
		srv.Kill()
		stopLoad()
		wg.Wait()
		_ = c.Disconnect(context.Background())
		next += 1 << 14 // each trial writes fewer batches than this (checked below)

		srv.Restart()
		c = connect(t, srv)
		checkAcked(t, c, acked, perBatch, trial, "after the busy kill")

		// Idle: kill it again soon after its start, with nothing written.
		time.Sleep(time.Duration(r.IntN(600)) * time.Millisecond)
		srv.Kill()
		_ = c.Disconnect(context.Background())
		srv.Restart()
		c = connect(t, srv)
		checkAcked(t, c, acked, perBatch, trial, "after the idle kill")
	}
	_ = c.Disconnect(context.Background())
	t.Logf("%d trials, %d batches (%d documents) acknowledged, none lost", trials, len(acked), len(acked)*perBatch)
}

func connect(t *testing.T, srv *setup.Server) *mongo.Client {
	t.Helper()
	c, err := mongo.Connect(options.Client().ApplyURI(srv.URI()))
	require.NoError(t, err)
	return c
}

// checkAcked reads the whole collection and requires every acknowledged batch to be complete.
func checkAcked(t *testing.T, c *mongo.Client, acked map[int]bool, perBatch, trial int, when string) {
	t.Helper()
	ctx := testCtx(t)
	cur, err := c.Database("load").Collection("m").Find(ctx, bson.D{}, options.Find().SetProjection(bson.D{{Key: "batch", Value: 1}}))
	require.NoError(t, err)
	seen := map[int32]int{}
	for cur.Next(ctx) {
		seen[cur.Current.Lookup("batch").Int32()]++
	}
	require.NoError(t, cur.Err())
	lost := 0
	for n := range acked {
		require.Less(t, n%(1<<14), 1<<14-4, "a trial wrote more batches than its range")
		if seen[int32(n)] != perBatch {
			lost++
		}
	}
	require.Zero(t, lost, "trial %d %s: %d of %d acknowledged batches incomplete", trial, when, lost, len(acked))
}
