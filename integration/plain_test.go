package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"github.com/chronogo/chronogo/integration/setup"
)

// TestPlainCollectionsSurviveKill9 writes a device registry (a plain collection) from four
// clients, inserts and $inc updates, SIGKILLs the server mid-load three times and checks after
// each restart that every acknowledged insert is there and every device's counter is at least
// its acknowledged increments and at most those tried. Then readings (a time-series collection)
// are joined with the registry by $lookup through the Go driver and through mongosh.
func TestPlainCollectionsSurviveKill9(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "")
	db := srv.Client().Database("app")
	require.NoError(t, db.CreateCollection(ctx, "devices"))
	_, err := db.Collection("devices").Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "serial", Value: 1}}, Options: options.Index().SetUnique(true)})
	require.NoError(t, err)

	var (
		mu      sync.Mutex
		acked   = map[string]bool{}
		incOK   = map[string]int{}
		incTry  = map[string]int{}
		counter int
	)
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
	for trial := range 3 {
		client := srv.Client()
		coll := client.Database("app").Collection("devices")
		loadCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for loadCtx.Err() == nil {
					mu.Lock()
					counter++
					id := fmt.Sprintf("dev-%d-%d-%d", trial, w, counter)
					mu.Unlock()
					_, err := coll.InsertOne(loadCtx, bson.D{{Key: "_id", Value: id}, {Key: "serial", Value: "sn-" + id}, {Key: "site", Value: fmt.Sprintf("s%d", w)}, {Key: "n", Value: int32(0)}})
					if err != nil {
						continue
					}
					mu.Lock()
					acked[id] = true
					incTry[id]++
					mu.Unlock()
					if _, err := coll.UpdateOne(loadCtx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: int32(1)}}}}); err == nil {
						mu.Lock()
						incOK[id]++
						mu.Unlock()
					}
				}
			}()
		}
		time.Sleep(time.Duration(300+r.IntN(700)) * time.Millisecond)
		srv.Kill()
		stop()
		wg.Wait()
		srv.Restart()

		got := map[string]int32{}
		cur, err := srv.Client().Database("app").Collection("devices").Find(ctx, bson.D{})
		require.NoError(t, err)
		for cur.Next(ctx) {
			got[cur.Current.Lookup("_id").StringValue()] = cur.Current.Lookup("n").Int32()
		}
		require.NoError(t, cur.Err())
		mu.Lock()
		require.NotEmpty(t, acked, "trial %d acknowledged nothing", trial)
		for id := range acked {
			n, ok := got[id]
			require.True(t, ok, "trial %d: acknowledged insert %s lost", trial, id)
			require.GreaterOrEqual(t, int(n), incOK[id], "trial %d: %s lost an acknowledged $inc", trial, id)
			require.LessOrEqual(t, int(n), incTry[id], "trial %d: %s has more increments than tried", trial, id)
		}
		mu.Unlock()
		// the unique index came through the crash with its documents: every document is found
		// through it, once, and a second document with a taken serial is refused
		devices := srv.Client().Database("app").Collection("devices")
		viaIndex, err := devices.CountDocuments(ctx, bson.D{{Key: "serial", Value: bson.D{{Key: "$gte", Value: ""}}}})
		require.NoError(t, err)
		require.EqualValues(t, len(got), viaIndex, "trial %d: documents read through the serial index", trial)
		for id := range got {
			_, err := devices.InsertOne(ctx, bson.D{{Key: "_id", Value: "other-" + id}, {Key: "serial", Value: "sn-" + id}})
			var we mongo.WriteException
			require.True(t, errors.As(err, &we), "trial %d: a duplicate serial of %s: %v", trial, id, err)
			require.Equal(t, 11000, we.WriteErrors[0].Code)
			break
		}
	}

	// $lookup from readings to the registry
	coll := srv.Client().Database("app").Collection("devices")
	insertRetry(t, ctx, coll, []any{bson.D{{Key: "_id", Value: "d1"}, {Key: "serial", Value: "x1"}, {Key: "room", Value: "lab"}}, bson.D{{Key: "_id", Value: "d2"}, {Key: "serial", Value: "x2"}, {Key: "room", Value: "hall"}}})
	db = srv.Client().Database("app")
	require.NoError(t, db.CreateCollection(ctx, "readings", options.CreateCollection().SetTimeSeriesOptions(options.TimeSeries().SetTimeField("t").SetMetaField("dev"))))
	readings := srv.Client().Database("app").Collection("readings")
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	_, err = readings.InsertMany(ctx, []any{
		bson.D{{Key: "t", Value: base}, {Key: "dev", Value: "d1"}, {Key: "v", Value: 1.5}},
		bson.D{{Key: "t", Value: base.Add(time.Minute)}, {Key: "dev", Value: "d2"}, {Key: "v", Value: 2.5}},
		bson.D{{Key: "t", Value: base.Add(2 * time.Minute)}, {Key: "dev", Value: "d9"}, {Key: "v", Value: 3.5}},
	})
	require.NoError(t, err)
	agg, err := readings.Aggregate(ctx, bson.A{
		bson.D{{Key: "$sort", Value: bson.D{{Key: "t", Value: 1}}}},
		bson.D{{Key: "$lookup", Value: bson.D{{Key: "from", Value: "devices"}, {Key: "localField", Value: "dev"}, {Key: "foreignField", Value: "_id"}, {Key: "as", Value: "device"}}}},
		bson.D{{Key: "$project", Value: bson.D{{Key: "_id", Value: 0}, {Key: "dev", Value: 1}, {Key: "room", Value: bson.D{{Key: "$first", Value: "$device.room"}}}}}},
	})
	require.NoError(t, err)
	var rows []bson.D
	require.NoError(t, agg.All(ctx, &rows))
	require.Equal(t, []bson.D{
		{{Key: "dev", Value: "d1"}, {Key: "room", Value: "lab"}},
		{{Key: "dev", Value: "d2"}, {Key: "room", Value: "hall"}},
		{{Key: "dev", Value: "d9"}},
	}, rows)

	if mongoshInstalled() || os.Getenv("CHRONOGO_MONGOSH") != "" {
		out := runMongosh(t, srv, "app", nil, `
db.devices.updateOne({_id: "d1"}, {$set: {room: "lab2"}});
db.readings.aggregate([{$match: {dev: "d1"}}, {$lookup: {from: "devices", let: {d: "$dev"}, pipeline: [{$match: {$expr: {$eq: ["$_id", "$$d"]}}}], as: "dd"}}]).forEach(r => print("ROOM " + r.dd[0].room));
print("TYPE " + db.getCollectionInfos({name: "devices"})[0].type);
`)
		require.Contains(t, out, "ROOM lab2")
		require.Contains(t, out, "TYPE collection")
	}
}

// TestClusterPlainCollections: a database's plain collections live in its plain shard, a Raft
// group of as many dnodes as the database's replication factor (3 of the 4 dnodes here). A
// collection written through one dnode is read the same on every dnode (the one without a replica
// asks the others); writeConcern counts the shard's replicas: with one of the three SIGKILLed,
// w:1 and w:"majority" succeed and w:3 gets a writeConcernError after wtimeout, through a replica
// and through the node without one; the killed replica has every write when it returns. A
// database dropped while a replica is down loses its shard on every node, that one when it
// starts again.
func TestClusterPlainCollections(t *testing.T) {
	if testing.Short() {
		t.Skip("starts five processes")
	}
	t.Parallel()
	ctx := testCtx(t)
	c := setup.StartCluster(t, 1, 4, "--replication-factor", "3")
	nodes := c.Data // the nodes that serve MongoDB clients
	write := c.Data[0].Client().Database("reg").Collection("devices")
	var docs []any
	for i := range 50 {
		docs = append(docs, bson.D{{Key: "_id", Value: i}, {Key: "name", Value: fmt.Sprintf("d%02d", i)}})
	}
	insertRetry(t, ctx, write, docs)
	t.Cleanup(func() {
		if t.Failed() {
			for _, s := range nodes {
				lines := strings.Split(s.Log(), "\n")
				t.Logf("log of %s:\n%s", s.MongoAddr, strings.Join(lines[max(0, len(lines)-40):], "\n"))
			}
		}
	})
	readAll := func(s *setup.Server) []string {
		var names []string
		require.Eventually(t, func() bool {
			fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			cur, err := s.Client().Database("reg").Collection("devices").Find(fctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
			if err != nil {
				t.Logf("find on %s: %v", s.MongoAddr, err)
				return false
			}
			names = nil
			for cur.Next(fctx) {
				names = append(names, cur.Current.Lookup("name").StringValue())
			}
			if len(names) != len(docs) {
				t.Logf("node %s: %d of %d documents (%v)", s.MongoAddr, len(names), len(docs), cur.Err())
			}
			return cur.Err() == nil && len(names) == len(docs)
		}, 20*time.Second, 100*time.Millisecond, "node %s", s.MongoAddr)
		return names
	}
	want := readAll(c.Data[0])
	for _, s := range nodes {
		require.Equal(t, want, readAll(s), "node %s", s.MongoAddr)
	}
	// the replicas: the dnodes with a plain shard store in their meta dir
	var replicas []*setup.Server
	var other *setup.Server
	for _, s := range nodes {
		if m, _ := filepath.Glob(filepath.Join(s.DataDir, "meta", "plain-*")); len(m) == 1 {
			replicas = append(replicas, s)
		} else {
			require.Empty(t, m, "node %s", s.MongoAddr)
			other = s
		}
	}
	require.Len(t, replicas, 3, "the replication factor")
	require.NotNil(t, other)
	explainStatsOnEveryNode(t, ctx, c)

	wc := func(s *setup.Server, w any) *mongo.Collection {
		return s.Client().Database("reg").Collection("devices", options.Collection().SetWriteConcern(&writeconcern.WriteConcern{W: w}))
	}
	var we mongo.WriteException
	for _, s := range []*setup.Server{other, replicas[0]} {
		for _, w := range []any{"majority", 1, 2, 3} {
			id := fmt.Sprintf("wc-%v-%s", w, s.MongoAddr)
			_, err := wc(s, w).InsertOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "name", Value: "wc"}})
			require.NoError(t, err, "w:%v through %s", w, s.MongoAddr)
		}
		_, err := wc(s, 4).InsertOne(ctx, bson.D{{Key: "_id", Value: "wc-4"}, {Key: "name", Value: "4"}})
		require.True(t, errors.As(err, &we) && we.WriteConcernError != nil, "w:4 is not met: %v", err)
		require.Equal(t, 64, we.WriteConcernError.Code)
		require.Contains(t, we.WriteConcernError.Message, "3 replicas")
		_, err = write.DeleteOne(ctx, bson.D{{Key: "_id", Value: "wc-4"}})
		require.NoError(t, err, "the w:4 write was applied")
	}

	// one replica SIGKILLed: w:1 and majority go on, w:3 waits until wtimeout and says so
	down := replicas[2]
	down.Kill()
	for _, s := range []*setup.Server{other, replicas[0]} {
		for _, w := range []any{1, "majority"} {
			id := fmt.Sprintf("down-%v-%s", w, s.MongoAddr)
			require.Eventually(t, func() bool {
				_, err := wc(s, w).InsertOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "name", Value: "down"}})
				return err == nil || mongo.IsDuplicateKeyError(err)
			}, 30*time.Second, 100*time.Millisecond, "w:%v through %s with a replica down", w, s.MongoAddr)
		}
		started := time.Now()
		id := "wc-3-down-" + s.MongoAddr
		err := s.Client().Database("reg").RunCommand(ctx, bson.D{{Key: "insert", Value: "devices"},
			{Key: "documents", Value: bson.A{bson.D{{Key: "_id", Value: id}, {Key: "name", Value: "3"}}}},
			{Key: "writeConcern", Value: bson.D{{Key: "w", Value: 3}, {Key: "wtimeout", Value: 1500}}}}).Err()
		require.True(t, errors.As(err, &we) && we.WriteConcernError != nil, "w:3 with a replica down, through %s: %v", s.MongoAddr, err)
		require.Equal(t, 64, we.WriteConcernError.Code)
		require.Contains(t, we.WriteConcernError.Message, "2 of the 3 replicas")
		require.GreaterOrEqual(t, time.Since(started), 1500*time.Millisecond, "it waited for wtimeout")
		require.NoError(t, write.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Err(), "the write was applied")
	}
	// currentOp on one node lists a command running on another (opid "node:id", shard the
	// node), and killOp of that opid interrupts it there: a w:3 write waiting for the down replica
	replicaName := ""
	for i, s := range nodes {
		if s == replicas[0] {
			replicaName = fmt.Sprint("dnode", i+1)
		}
	}
	waiting := make(chan error, 1)
	started := time.Now()
	go func() {
		waiting <- replicas[0].Client().Database("reg").RunCommand(ctx, bson.D{{Key: "insert", Value: "devices"},
			{Key: "documents", Value: bson.A{bson.D{{Key: "_id", Value: "killed-op"}, {Key: "name", Value: "3"}}}},
			{Key: "writeConcern", Value: bson.D{{Key: "w", Value: 3}, {Key: "wtimeout", Value: 30000}}}}).Err()
	}()
	var opid string
	require.Eventually(t, func() bool {
		var r bson.Raw
		r, err := other.Client().Database("admin").RunCommand(ctx, bson.D{{Key: "currentOp", Value: 1}, {Key: "op", Value: "insert"}}).Raw()
		if err != nil {
			return false
		}
		ops, _ := r.Lookup("inprog").Array().Values()
		for _, o := range ops {
			if sh, ok := o.Document().Lookup("shard").StringValueOK(); ok && sh == replicaName {
				opid = o.Document().Lookup("opid").StringValue()
				return true
			}
		}
		return false
	}, 10*time.Second, 50*time.Millisecond, "the insert waiting on %s shows in currentOp on %s", replicaName, other.MongoAddr)
	require.True(t, strings.HasPrefix(opid, replicaName+":"), opid)
	require.NoError(t, other.Client().Database("admin").RunCommand(ctx, bson.D{{Key: "killOp", Value: 1}, {Key: "op", Value: opid}}).Err())
	select {
	case err := <-waiting:
		var ce mongo.CommandError
		require.True(t, errors.As(err, &ce), "%v", err)
		require.EqualValues(t, 11601, ce.Code, "%v", err)
		require.Less(t, time.Since(started), 20*time.Second, "interrupted, not timed out")
	case <-time.After(20 * time.Second):
		t.Fatal("the killed insert did not end")
	}
	err := other.Client().Database("admin").RunCommand(ctx, bson.D{{Key: "killOp", Value: 1}, {Key: "op", Value: "nodeless"}}).Err()
	require.Error(t, err, "a string opid without node:id")

	_, err = write.DeleteMany(ctx, bson.D{{Key: "name", Value: bson.D{{Key: "$in", Value: bson.A{"wc", "down", "3"}}}}})
	require.NoError(t, err)
	more := []any{bson.D{{Key: "_id", Value: 100}, {Key: "name", Value: "while a replica was down"}}}
	insertRetry(t, ctx, other.Client().Database("reg").Collection("devices"), more)
	docs = append(docs, more...)
	want = readAll(other)
	require.Equal(t, "while a replica was down", want[len(want)-1])
	down.Restart()
	for _, s := range nodes {
		require.Equal(t, want, readAll(s), "node %s after the replica returned", s.MongoAddr)
	}

	// a replica's node drained while a client writes: its plain replica moves, online, to the
	// node that had none; every acknowledged document is read on every node
	drained := replicas[1]
	name := ""
	for i, s := range nodes {
		if s == drained {
			name = fmt.Sprint("dnode", i+1)
		}
	}
	var (
		mu    sync.Mutex
		acked []int
		stop  = make(chan struct{})
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		coll := replicas[0].Client().Database("reg").Collection("devices")
		for k := 1000; ; k++ {
			select {
			case <-stop:
				return
			default:
			}
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, err := coll.InsertOne(wctx, bson.D{{Key: "_id", Value: k}, {Key: "name", Value: fmt.Sprintf("drain%d", k)}})
			cancel()
			if err == nil {
				mu.Lock()
				acked = append(acked, k)
				mu.Unlock()
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	waitAllUp(t, replicas[0].HTTPAddr) // the drain moves only to nodes the placement sees up
	out, err := run(t, setup.Binary(t), "ctl", "drain", name, "--addr", replicas[0].HTTPAddr)
	close(stop)
	<-done
	require.NoError(t, err, out)
	t.Log(out)
	require.Contains(t, out, "moved the plain shard replica of default.reg to node")
	require.Contains(t, out, "1 plain shard replicas moved")
	require.Eventually(t, func() bool {
		m, _ := filepath.Glob(filepath.Join(drained.DataDir, "meta", "plain-*"))
		return len(m) == 0
	}, 20*time.Second, 100*time.Millisecond, "the drained node removes its replica")
	m, _ := filepath.Glob(filepath.Join(other.DataDir, "meta", "plain-*"))
	require.Len(t, m, 1, "the node without a replica got the moved one")
	mu.Lock()
	require.NotEmpty(t, acked, "the client wrote during the drain")
	for _, k := range acked {
		docs = append(docs, bson.D{{Key: "_id", Value: k}, {Key: "name", Value: fmt.Sprintf("drain%d", k)}})
	}
	t.Logf("%d documents written during the drain", len(acked))
	mu.Unlock()
	want = readAll(replicas[0])
	for _, s := range nodes {
		require.Equal(t, want, readAll(s), "node %s after the drain", s.MongoAddr)
	}
	// the moved replica counts for writeConcern: with the drained node stopped, w:3 is met
	drained.Stop()
	_, err = wc(other, 3).InsertOne(ctx, bson.D{{Key: "_id", Value: "after-drain"}, {Key: "name", Value: "wc"}})
	require.NoError(t, err, "w:3 on the three replicas after the move")
	_, err = write.DeleteOne(ctx, bson.D{{Key: "_id", Value: "after-drain"}})
	require.NoError(t, err)
	drained.Restart()

	// and back (POST /api/v1/plain/move): the drained node holds a replica of the shard again,
	// under a new Raft replica id
	var listed struct {
		Nodes []struct {
			ID   uint64
			Name string
		}
	}
	require.NoError(t, getJSON("http://"+replicas[0].HTTPAddr+"/api/v1/nodes", &listed))
	ids := map[string]uint64{}
	for _, n := range listed.Nodes {
		ids[n.Name] = n.ID
	}
	otherName := ""
	for i, s := range nodes {
		if s == other {
			otherName = fmt.Sprint("dnode", i+1)
		}
	}
	oldDir, _ := filepath.Glob(filepath.Join(drained.DataDir, "meta", "plain-*"))
	require.Empty(t, oldDir)
	q := fmt.Sprintf("db=reg&from=%d&to=%d", ids[otherName], ids[name])
	// a move cut short (its caller gone after 100 ms: the move stops wherever it was) is finished
	// by asking again
	short := &http.Client{Timeout: 100 * time.Millisecond}
	if resp, err := short.Post("http://"+replicas[0].HTTPAddr+"/api/v1/plain/move?"+q, "", nil); err == nil {
		resp.Body.Close()
	}
	resp, err := http.Post("http://"+replicas[0].HTTPAddr+"/api/v1/plain/move?"+q, "", nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	require.Eventually(t, func() bool {
		a, _ := filepath.Glob(filepath.Join(drained.DataDir, "meta", "plain-*"))
		b, _ := filepath.Glob(filepath.Join(other.DataDir, "meta", "plain-*"))
		return len(a) == 1 && len(b) == 0
	}, 20*time.Second, 100*time.Millisecond, "the replica moved back")
	for _, s := range nodes {
		require.Equal(t, want, readAll(s), "node %s after the move back", s.MongoAddr)
	}
	// the same move again changes nothing; a move from a node without a replica is refused
	resp, err = http.Post("http://"+replicas[0].HTTPAddr+"/api/v1/plain/move?"+q, "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, err = http.Post("http://"+replicas[0].HTTPAddr+"/api/v1/plain/move?"+fmt.Sprintf("db=reg&from=%d&to=%d", ids[otherName], ids[otherName]), "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusConflict, resp.StatusCode)
	replicas = []*setup.Server{replicas[0], replicas[2], drained}

	// the database dropped while a replica is down: every replica removes its shard, the one
	// that was down when it starts again; the name gets a new, empty shard
	down = replicas[0]
	down.Kill()
	require.NoError(t, other.Client().Database("reg").Drop(ctx))
	for _, s := range replicas[1:] {
		require.Eventually(t, func() bool {
			m, _ := filepath.Glob(filepath.Join(s.DataDir, "meta", "plain-*"))
			return len(m) == 0
		}, 20*time.Second, 100*time.Millisecond, "node %s removes the dropped shard", s.MongoAddr)
	}
	down.Restart()
	require.Eventually(t, func() bool {
		m, _ := filepath.Glob(filepath.Join(down.DataDir, "meta", "plain-*"))
		return len(m) == 0
	}, 20*time.Second, 100*time.Millisecond, "the node that was down removes the dropped shard at its start")
	n, err := other.Client().Database("reg").Collection("devices").CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.Zero(t, n, "nothing of the dropped database comes back")
}

// insertRetry inserts docs, retrying while the cluster elects leaders; a duplicate key on a retry
// means the earlier attempt took the document.
func insertRetry(t *testing.T, ctx context.Context, coll *mongo.Collection, docs []any) {
	t.Helper()
	require.Eventually(t, func() bool {
		_, err := coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
		var bwe mongo.BulkWriteException
		if errors.As(err, &bwe) && bwe.WriteConcernError == nil {
			for _, we := range bwe.WriteErrors {
				if we.Code != 11000 {
					return false
				}
			}
			return true
		}
		return err == nil
	}, 30*time.Second, 200*time.Millisecond)
}

// explainStatsOnEveryNode: explain's executionStats say what storage read on every node, whose
// vnodes are local or remote: one series matched of three, every replica set read once, and the
// points found in blocks or memcache columns.
func explainStatsOnEveryNode(t *testing.T, ctx context.Context, c *setup.Cluster) {
	t.Helper()
	db := c.Data[0].Client().Database("reg")
	require.NoError(t, db.CreateCollection(ctx, "readings", options.CreateCollection().SetTimeSeriesOptions(options.TimeSeries().SetTimeField("t").SetMetaField("dev"))))
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	var docs []any
	for i := range 30 {
		docs = append(docs, bson.D{{Key: "t", Value: base.Add(time.Duration(i) * time.Minute)}, {Key: "dev", Value: fmt.Sprintf("d%d", i%3)}, {Key: "v", Value: float64(i)}})
	}
	insertRetry(t, ctx, db.Collection("readings"), docs)
	for _, s := range c.Data {
		var r bson.Raw
		require.Eventually(t, func() bool {
			var err error
			r, err = s.Client().Database("reg").RunCommand(ctx, bson.D{{Key: "explain", Value: bson.D{{Key: "find", Value: "readings"},
				{Key: "filter", Value: bson.D{{Key: "dev", Value: "d1"}, {Key: "t", Value: bson.D{{Key: "$gte", Value: base}}}}}}},
				{Key: "verbosity", Value: "executionStats"}}).Raw()
			// reads are "local" (one replica, this node's first): a replica that did not apply a
			// quorum-acknowledged write yet answers without it for a moment
			return err == nil && r.Lookup("executionStats", "nReturned").AsInt64() == 10
		}, 20*time.Second, 100*time.Millisecond)
		st := r.Lookup("executionStats")
		require.EqualValues(t, 10, st.Document().Lookup("nReturned").AsInt64(), "node %s", s.MongoAddr)
		cg := st.Document().Lookup("chronogo").Document()
		require.EqualValues(t, 1, cg.Lookup("seriesMatched").AsInt64(), "node %s: %s", s.MongoAddr, cg)
		require.GreaterOrEqual(t, cg.Lookup("buckets").AsInt64(), int64(1), "node %s: %s", s.MongoAddr, cg)
		require.GreaterOrEqual(t, cg.Lookup("vnodesRead").AsInt64(), cg.Lookup("buckets").AsInt64(), "node %s: %s", s.MongoAddr, cg)
		require.Positive(t, cg.Lookup("blocksRead").AsInt64()+cg.Lookup("memcacheColumns").AsInt64(), "node %s: %s", s.MongoAddr, cg)
	}
}

// TestPlainShardSurvivesReplicaKills: three dnodes hold a database's plain shard (replication
// factor 3); clients write through every node while a random one is SIGKILLed and restarted,
// four times (the shard's leader among them, as chance has it), then all three at once, idle.
// After each round every acknowledged document is read on every node: a minority lost, or the
// whole group crashed, loses nothing acknowledged.
func TestPlainShardSurvivesReplicaKills(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four processes")
	}
	t.Parallel()
	ctx := testCtx(t)
	c := setup.StartCluster(t, 1, 3, "--replication-factor", "3")
	insertRetry(t, ctx, c.Data[0].Client().Database("reg").Collection("devices"), []any{bson.D{{Key: "_id", Value: "first"}}})
	var (
		mu    sync.Mutex
		acked = map[string]bool{}
	)
	check := func(when string) {
		mu.Lock()
		want := len(acked)
		mu.Unlock()
		for _, s := range c.Data {
			require.Eventually(t, func() bool {
				fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				cur, err := s.Client().Database("reg").Collection("devices").Find(fctx, bson.D{})
				if err != nil {
					t.Logf("%s: find on %s: %v", when, s.MongoAddr, err)
					return false
				}
				got := map[string]bool{}
				for cur.Next(fctx) {
					got[cur.Current.Lookup("_id").StringValue()] = true
				}
				if cur.Err() != nil {
					return false
				}
				mu.Lock()
				defer mu.Unlock()
				for id := range acked {
					if !got[id] {
						t.Logf("%s: node %s lacks acknowledged %s (%d of %d documents)", when, s.MongoAddr, id, len(got), want)
						return false
					}
				}
				return true
			}, 60*time.Second, 200*time.Millisecond, "%s: node %s", when, s.MongoAddr)
		}
		t.Logf("%s: %d acknowledged documents on every node", when, want)
	}
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 13))
	for round := range 4 {
		loadCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for w, s := range c.Data {
			wg.Add(1)
			go func() {
				defer wg.Done()
				coll := s.Client().Database("reg").Collection("devices")
				for k := 0; loadCtx.Err() == nil; k++ {
					id := fmt.Sprintf("r%d-w%d-%d", round, w, k)
					wctx, cancel := context.WithTimeout(loadCtx, 5*time.Second)
					_, err := coll.InsertOne(wctx, bson.D{{Key: "_id", Value: id}, {Key: "v", Value: k}})
					cancel()
					if err == nil {
						mu.Lock()
						acked[id] = true
						mu.Unlock()
					}
				}
			}()
		}
		time.Sleep(time.Duration(300+r.IntN(700)) * time.Millisecond)
		victim := c.Data[r.IntN(len(c.Data))]
		victim.Kill()
		time.Sleep(time.Duration(500+r.IntN(1000)) * time.Millisecond)
		victim.Restart()
		time.Sleep(500 * time.Millisecond)
		stop()
		wg.Wait()
		check(fmt.Sprintf("round %d (%s killed)", round, victim.MongoAddr))
	}
	for _, s := range c.Data {
		s.Kill()
	}
	for _, s := range c.Data {
		s.Restart()
	}
	check("all three killed at once and restarted")
}

// waitAllUp waits until the node at httpAddr sees every data node up, in the placement and by its
// own watcher (a node restarted after a SIGKILL is up once the watchers have seen it back).
func waitAllUp(t *testing.T, httpAddr string) {
	t.Helper()
	require.Eventually(t, func() bool {
		var listed struct {
			Nodes []struct {
				Name      string
				Role      string
				DownSince string
				Seen      string
			}
		}
		if err := getJSON("http://"+httpAddr+"/api/v1/nodes", &listed); err != nil {
			return false
		}
		for _, n := range listed.Nodes {
			if n.Role == "dnode" && (n.DownSince != "" || n.Seen == "down") {
				return false
			}
		}
		return len(listed.Nodes) > 0
	}, 30*time.Second, 100*time.Millisecond, "every data node seen up")
}
