package coordinator

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/engine"
)

// How a fake replica answers.
type replicaMode int

const (
	modeOK              replicaMode = iota // the two chunks of fakeChunks
	modeSilent                             // never answers
	modeSlow                               // answers like modeOK after slowDelay
	modeFailFirst                          // an error chunk instead of the first chunk
	modeFailMid                            // the first chunk (host a's column complete), then an error chunk
	modeFailUndelivered                    // a part of host a's column, then an error chunk
)

const slowDelay = 300 * time.Millisecond

// fakeReader stands for the reader actors of nodes 2 and 3. Both nodes have this system's address,
// so their PIDs (address, "reader") name this one actor; it tells the replicas apart by vnode id
// (and cursor ids, which are vnode id * 100 + n).
type fakeReader struct {
	t     *testing.T
	mu    sync.Mutex
	modes map[uint64]replicaMode
	opens map[uint64]int // opening requests per vnode
	close map[uint64]int // CloseCursor per vnode
}

func (f *fakeReader) counts(vnodeID uint64) (opens, closes int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.opens[vnodeID], f.close[vnodeID]
}

// fakeChunks are the answers of a modeOK replica: host a's column, then host b's column cut over
// the two chunks, then host c's.
func fakeChunks(t *testing.T, cursor uint64) []*messages.ScanChunk {
	col := func(host string, times []int64) *messages.ScanColumn {
		c := &messages.ScanColumn{SeriesKey: hostKey(t, host), Field: "usage", FieldType: uint32(storage.TypeDouble), Times: times}
		for _, ts := range times {
			c.Floats = append(c.Floats, float64(ts)/2)
		}
		return c
	}
	return []*messages.ScanChunk{
		{Columns: []*messages.ScanColumn{col("a", []int64{1, 2, 3}), col("b", []int64{5})}, CursorId: cursor},
		{Columns: []*messages.ScanColumn{col("b", []int64{6}), col("c", []int64{7})}, Done: true, CursorId: cursor},
	}
}

func (f *fakeReader) Receive(ctx actor.Context) {
	env, ok := ctx.Message().(*messages.Envelope)
	if !ok {
		return
	}
	inner, err := env.Open()
	require.NoError(f.t, err)
	reply := func(m *messages.ScanChunk) {
		w, err := messages.Wrap(m)
		require.NoError(f.t, err)
		ctx.Respond(w)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch m := inner.(type) {
	case *messages.CloseCursor:
		f.close[m.GetCursorId()/100]++
	case *messages.ScanRequest:
		if m.GetCursorId() != 0 {
			v := m.GetCursorId() / 100
			if f.modes[v] == modeFailMid || f.modes[v] == modeFailUndelivered {
				reply(&messages.ScanChunk{Done: true, Code: messages.ErrorCode_ERROR_CODE_UNAVAILABLE, Message: "vnode restarting"})
				return
			}
			reply(fakeChunks(f.t, m.GetCursorId())[1])
			return
		}
		v := m.GetVnode().GetVnodeId()
		f.opens[v]++
		first := fakeChunks(f.t, v*100+1)[0]
		switch f.modes[v] {
		case modeOK, modeFailMid:
			reply(first)
		case modeFailUndelivered:
			first.Columns = first.Columns[:1]
			first.Columns[0].Times, first.Columns[0].Floats = first.Columns[0].Times[:2], first.Columns[0].Floats[:2]
			reply(first)
		case modeFailFirst:
			reply(&messages.ScanChunk{Done: true, Code: messages.ErrorCode_ERROR_CODE_CORRUPTION, Message: "broken"})
		case modeSlow:
			sender, sys := ctx.Sender(), ctx.ActorSystem()
			w, err := messages.Wrap(first)
			require.NoError(f.t, err)
			time.AfterFunc(slowDelay, func() { sys.Root.Send(sender, w) })
		}
	}
}

// remoteFixture is a coordinator on node 1 reading one replica set whose replicas are vnodes on
// nodes 2 and 3, served by a fakeReader.
type remoteFixture struct {
	c      *cluster
	fake   *fakeReader
	vnodes []meta.Vnode // in placement order: node 2's, node 3's
}

func startRemote(t *testing.T, modes ...replicaMode) *remoteFixture {
	c := startCluster(t, []uint64{remoteID, 3}, meta.Database{BucketDuration: 1000, ShardCount: 1})
	c.place.SetNode(meta.Node{ID: remoteID, ActorAddr: c.sys.Address()})
	c.place.SetNode(meta.Node{ID: 3, ActorAddr: c.sys.Address()})
	b, err := c.place.BucketFor(context.Background(), tenant, dbName, 0)
	require.NoError(t, err)
	vs := b.ReplicaSets[0].Vnodes
	require.Len(t, vs, 2)
	f := &fakeReader{t: t, modes: map[uint64]replicaMode{}, opens: map[uint64]int{}, close: map[uint64]int{}}
	for i, m := range modes {
		f.modes[vs[i].ID] = m
	}
	pid, err := c.sys.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return f }), actors.ReaderName)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.sys.Root.StopFuture(pid).Wait() })
	return &remoteFixture{c: c, fake: f, vnodes: vs}
}

// call is one ScanFunc call.
type call struct {
	host  string
	times []int64
	vals  []float64
}

func (r *remoteFixture) scan(t *testing.T, fn func(call) error) ([]call, error) {
	var calls []call
	err := r.c.client.Scan(context.Background(), tenant, dbName, table, engine.ScanQuery{MinTime: math.MinInt64, MaxTime: math.MaxInt64},
		func(src Source, col *engine.ScanColumn) error {
			k, ok := src.SeriesKey(col.Series)
			require.True(t, ok)
			h, _ := k.Tag("host")
			cl := call{string(h.Raw), append([]int64(nil), col.Points.Times...), append([]float64(nil), col.Points.Values.Floats...)}
			calls = append(calls, cl)
			if fn != nil {
				return fn(cl)
			}
			return nil
		})
	return calls, err
}

var wantCalls = []call{{"a", []int64{1, 2, 3}, []float64{0.5, 1, 1.5}}, {"b", []int64{5, 6}, []float64{2.5, 3}}, {"c", []int64{7}, []float64{3.5}}}

func TestRemoteReadFailoverAndHedging(t *testing.T) {
	cases := []struct {
		name        string
		modes       []replicaMode
		wantOpens   [2]int
		wantCloses  [2]int
		wantErr     string
		maxDuration time.Duration
	}{
		{"first replica answers", []replicaMode{modeOK, modeOK}, [2]int{1, 0}, [2]int{0, 0}, "", time.Second},
		{"error chunk fails over", []replicaMode{modeFailFirst, modeOK}, [2]int{1, 1}, [2]int{0, 0}, "", time.Second},
		// the silent replica's future times out after ReplicaTimeout (1 s); hedging answers long before
		{"silent replica is hedged", []replicaMode{modeSilent, modeOK}, [2]int{1, 1}, [2]int{0, 0}, "", 500 * time.Millisecond},
		// the slow replica answers after the hedge won: its cursor is closed
		{"slow loser is closed", []replicaMode{modeSlow, modeOK}, [2]int{1, 1}, [2]int{1, 0}, "", slowDelay},
		{"failure after delivery is an error", []replicaMode{modeFailMid, modeOK}, [2]int{1, 0}, [2]int{0, 0}, "delivered", time.Second},
		{"failure before delivery fails over", []replicaMode{modeFailUndelivered, modeOK}, [2]int{1, 1}, [2]int{0, 0}, "", time.Second},
		{"every replica fails", []replicaMode{modeFailFirst, modeFailFirst}, [2]int{1, 1}, [2]int{0, 0}, "every replica failed", time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := startRemote(t, tc.modes...)
			began := time.Now()
			calls, err := r.scan(t, nil)
			took := time.Since(began)
			switch tc.wantErr {
			case "":
				require.NoError(t, err)
				require.Equal(t, wantCalls, calls, "cut column joined, one call per column")
			case "delivered":
				// host a's column was delivered from node 2's replica before it failed
				require.ErrorContains(t, err, "vnode restarting")
				require.ErrorContains(t, err, "on node 2")
				require.Equal(t, wantCalls[:1], calls)
			default:
				require.ErrorContains(t, err, tc.wantErr)
				require.ErrorContains(t, err, "on node 2")
				require.ErrorContains(t, err, "on node 3")
			}
			require.Less(t, took, tc.maxDuration)
			require.Eventually(t, func() bool {
				for i, v := range r.vnodes {
					opens, closes := r.fake.counts(v.ID)
					if opens != tc.wantOpens[i] || closes != tc.wantCloses[i] {
						return false
					}
				}
				return true
			}, 2*time.Second, 10*time.Millisecond)
		})
	}
}

// TestRemoteReadCallerError: an error of the callback ends the read as it is and closes the
// remote cursor.
func TestRemoteReadCallerError(t *testing.T) {
	r := startRemote(t, modeOK, modeOK)
	stop := errors.New("enough")
	_, err := r.scan(t, func(call) error { return stop })
	require.ErrorIs(t, err, stop)
	require.Equal(t, stop, err, "returned unwrapped")
}
