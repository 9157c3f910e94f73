package mongo

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestCommandMetrics: every command is counted by name and outcome (ok or the error's codeName)
// and timed; open cursors are a gauge.
func TestCommandMetrics(t *testing.T) {
	e := newEnv(t)
	pings := testutil.ToFloat64(commandsTotal.WithLabelValues("ping", "ok"))
	notFound := testutil.ToFloat64(commandsTotal.WithLabelValues("dropUser", "CommandNotSupported"))
	mustRun(t, e.db, bson.D{{Key: "ping", Value: 1}})
	_, err := run(t, e.db, bson.D{{Key: "dropUser", Value: "x"}})
	require.Error(t, err)
	require.Equal(t, pings+1, testutil.ToFloat64(commandsTotal.WithLabelValues("ping", "ok")))
	require.Equal(t, notFound+1, testutil.ToFloat64(commandsTotal.WithLabelValues("dropUser", "CommandNotSupported")))
	require.Positive(t, testutil.CollectAndCount(commandSeconds))

	open, _ := cursorTotals()
	coll := e.createTS(t, "m")
	docs := make([]any, 300)
	for i := range docs {
		docs[i] = bson.D{{Key: "ts", Value: at(i)}, {Key: "v", Value: i}}
	}
	_, err = coll.InsertMany(t.Context(), docs)
	require.NoError(t, err)
	cur, err := coll.Find(t.Context(), bson.D{})
	require.NoError(t, err)
	defer cur.Close(t.Context())
	now, held := cursorTotals()
	require.Equal(t, open+1, now, "the find's cursor is open")
	require.Positive(t, held)
}
