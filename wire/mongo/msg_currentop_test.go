package mongo

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/meta"
)

// blockingFinds makes Find wait until its context ends: a query that runs until killed.
type blockingFinds struct {
	*memBackend
}

func (b *blockingFinds) Find(ctx context.Context, _ *meta.Collection, _ *Pushdown, _ func(doc bson.Raw) error) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestCurrentOpAndKillOp: a running find shows in currentOp (filtered by its fields), and killOp
// of its opid ends it with Interrupted (11601); killOp of an unknown opid answers ok.
func TestCurrentOpAndKillOp(t *testing.T) {
	b := &blockingFinds{newMemBackend(t)}
	_, addr := startServer(t, Config{}, b)
	client := connect(t, addr)
	db := client.Database("testdb")
	mustRun(t, db, d("create", "m", "timeseries", d("timeField", "ts")))
	admin := client.Database("admin")

	done := make(chan error, 1)
	go func() {
		_, err := db.Collection("m").Find(t.Context(), d("v", 1))
		done <- err
	}()
	var opid int64
	require.Eventually(t, func() bool {
		r := mustRun(t, admin, d("currentOp", 1, "ns", "testdb.m"))
		ops, _ := r.Lookup("inprog").Array().Values()
		for _, o := range ops {
			doc := o.Document()
			if doc.Lookup("op").StringValue() == "query" {
				opid = doc.Lookup("opid").Int64()
				require.Equal(t, "m", doc.Lookup("command", "find").StringValue())
				return true
			}
		}
		return false
	}, 5*time.Second, 20*time.Millisecond)
	// the $currentOp stage (mongosh's db.currentOp()) lists the same
	r := mustRun(t, admin, d("aggregate", 1, "pipeline", bson.A{d("$currentOp", d("allUsers", true)), d("$match", d("op", "query"))}, "cursor", d()))
	require.Equal(t, opid, r.Lookup("cursor", "firstBatch").Array().Index(0).Document().Lookup("opid").Int64())
	_, err := run(t, db, d("aggregate", 1, "pipeline", bson.A{d("$currentOp", d())}, "cursor", d()))
	requireCode(t, err, 73)
	r = mustRun(t, admin, d("currentOp", 1, "op", "insert"))
	none, err := r.Lookup("inprog").Array().Values()
	require.NoError(t, err)
	require.Empty(t, none, "the filter applies: %s", r)

	mustRun(t, admin, d("killOp", 1, "op", opid))
	select {
	case err := <-done:
		requireCode(t, err, 11601)
	case <-time.After(5 * time.Second):
		t.Fatal("the killed find did not end")
	}
	mustRun(t, admin, d("killOp", 1, "op", int64(999999)))
	_, err = run(t, admin, d("killOp", 1))
	requireCode(t, err, 40414)
}

// TestPeerOpDoc: another node's entry gets a string opid "node:id" and the node as shard.
func TestPeerOpDoc(t *testing.T) {
	op, err := bson.Marshal(d("type", "op", "opid", int64(17), "op", "insert", "shard", "x"))
	require.NoError(t, err)
	got := peerOpDoc("dnode2", op)
	require.Equal(t, "dnode2", got.Lookup("shard").StringValue())
	require.Equal(t, "dnode2:17", got.Lookup("opid").StringValue())
	require.Equal(t, "insert", got.Lookup("op").StringValue())
	elems, _ := got.Elements()
	require.Len(t, elems, 4, "shard once")
}
