package integration

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/integration/setup"
)

// TestWritesWaitForFlushes is issue #9's "Mongo writes wait": with tiny memcaches, inserts outrun
// the flushes and the vnode stalls; the inserts wait for the flushes (backpressure) and succeed,
// with no write concern error, and every document is stored once.
func TestWritesWaitForFlushes(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "", "--cache-size", "64KiB")
	coll := createTS(t, srv.Client().Database("bp"), "m")
	const n = 40_000
	docs := make([]any, 0, n)
	for i := range n {
		docs = append(docs, bson.D{{Key: "ts", Value: time.Unix(1_700_000_000+int64(i), 0)}, {Key: "meta", Value: "h" + string(rune('a'+i%8))},
			{Key: "v", Value: float64(i)}, {Key: "w", Value: int64(i * 7)}})
	}
	_, err := coll.InsertMany(ctx, docs)
	require.NoError(t, err, "the insert waits for the flushes instead of failing")
	got, err := coll.CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.EqualValues(t, n, got)
	hints := metricSum(t, srv, "chronogo_handoff_hints")
	require.Zero(t, hints, "nothing went to the hint queue")
}
