package integration

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chronogo/chronogo/integration/setup"
)

// TestInsertKill9LosesNoAcknowledgedDocument loads documents through the Go driver from several
// goroutines, kills the server with SIGKILL in the middle, restarts it and checks that every
// acknowledged insertMany is complete.
func TestInsertKill9LosesNoAcknowledgedDocument(t *testing.T) {
	t.Parallel()
	srv := setup.Start(t, "")
	ctx := testCtx(t)
	client := srv.Client()
	db := client.Database("load")
	require.NoError(t, db.CreateCollection(ctx, "m", options.CreateCollection().
		SetTimeSeriesOptions(options.TimeSeries().SetTimeField("t").SetMetaField("host"))))

	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	const perBatch = 100
	var (
		mu    sync.Mutex
		acked = map[int]bool{} // batch numbers acknowledged
		wg    sync.WaitGroup
	)
	loadCtx, stopLoad := context.WithCancel(ctx)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			coll := client.Database("load").Collection("m")
			for n := w; loadCtx.Err() == nil; n += 4 {
				docs := make([]any, perBatch)
				for i := range docs {
					docs[i] = bson.D{{Key: "t", Value: base.Add(time.Duration(n*perBatch+i) * time.Millisecond)},
						{Key: "host", Value: w}, {Key: "batch", Value: int32(n)}, {Key: "i", Value: int32(i)}}
				}
				if _, err := coll.InsertMany(loadCtx, docs); err != nil {
					return // the server died: this batch was not acknowledged
				}
				mu.Lock()
				acked[n] = true
				mu.Unlock()
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	srv.Kill()
	stopLoad()
	wg.Wait()
	require.NotEmpty(t, acked, "no batch was acknowledged before the kill")

	srv.Restart()
	client2, err := mongo.Connect(options.Client().ApplyURI(srv.URI()))
	require.NoError(t, err)
	defer client2.Disconnect(context.Background())
	cur, err := client2.Database("load").Collection("m").Find(ctx, bson.D{})
	require.NoError(t, err)
	perBatchSeen := map[int32]int{}
	for cur.Next(ctx) {
		perBatchSeen[cur.Current.Lookup("batch").Int32()]++
	}
	require.NoError(t, cur.Err())
	for n := range acked {
		require.Equal(t, perBatch, perBatchSeen[int32(n)], "acknowledged batch %d lost documents", n)
	}
	t.Logf("%d batches acknowledged before SIGKILL, all recovered", len(acked))
}
