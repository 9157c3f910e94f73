package placement

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/meta/model"
)

// randomLog builds n encoded placement commands over a few nodes and databases.
func randomLog(t *testing.T, seed uint64, n int) [][]byte {
	r := rand.New(rand.NewPCG(seed, seed))
	out := make([][]byte, 0, n)
	for i := range n {
		c := Command{Tenant: "t", DB: fmt.Sprintf("db%d", r.IntN(3)), Now: int64(i)}
		switch r.IntN(10) {
		case 0, 1:
			c.Op, c.Node = OpRegisterNode, &model.Node{ID: uint64(r.IntN(5) + 1), MongoAddr: fmt.Sprint(r.IntN(2))}
		case 2:
			c.Op = OpDropBuckets
		case 3:
			c.Op, c.BucketID = OpDropBucket, uint64(r.IntN(50))
		default:
			c.Op, c.TS = OpCreateBucket, r.Int64N(2000)-1000
			c.Options = &BucketOptions{Duration: 100, ShardCount: r.IntN(3) + 1, ReplicationFactor: r.IntN(3) + 1}
		}
		b, err := EncodeCommand(c)
		require.NoError(t, err)
		out = append(out, b)
	}
	return out
}

// TestDeterminism applies the same random log to two fresh state machines and compares every
// result and the snapshots byte for byte; a restored snapshot saves to the same bytes.
func TestDeterminism(t *testing.T) {
	for seed := range uint64(5) {
		log := randomLog(t, seed, 400)
		a, b := &Machine{State: New()}, &Machine{State: New()}
		for _, cmd := range log {
			ca, da := a.Apply(cmd)
			cb, db := b.Apply(cmd)
			require.Equal(t, ca, cb)
			require.Equal(t, da, db)
		}
		sa, err := a.Snapshot()
		require.NoError(t, err)
		sb, err := b.Snapshot()
		require.NoError(t, err)
		require.Equal(t, sa, sb)
		require.Positive(t, a.State.LastID)

		c := &Machine{}
		require.NoError(t, c.Restore(bytes.NewReader(sa)))
		sc, err := c.Snapshot()
		require.NoError(t, err)
		require.Equal(t, sa, sc)
	}
}

// TestSnapshotThroughDragonboatInterface saves and recovers through sm.IStateMachine and checks
// the copies stay identical under further commands.
func TestSnapshotThroughDragonboatInterface(t *testing.T) {
	log := randomLog(t, 7, 300)
	src, dst := NewStateMachine(2, 1), NewStateMachine(2, 2)
	for i, cmd := range log[:200] {
		_, err := src.Update(sm.Entry{Index: uint64(i + 1), Cmd: cmd})
		require.NoError(t, err)
	}
	var buf bytes.Buffer
	require.NoError(t, src.SaveSnapshot(&buf, nil, nil))
	require.NoError(t, dst.RecoverFromSnapshot(&buf, nil, nil))
	for i, cmd := range log[200:] {
		ra, err := src.Update(sm.Entry{Index: uint64(i + 201), Cmd: cmd})
		require.NoError(t, err)
		rb, err := dst.Update(sm.Entry{Index: uint64(i + 201), Cmd: cmd})
		require.NoError(t, err)
		require.Equal(t, ra, rb)
	}
	va, _ := src.Lookup(ViewQuery{})
	vb, _ := dst.Lookup(ViewQuery{})
	require.Equal(t, va, vb)
	// a catalog snapshot is not a placement snapshot
	var cat bytes.Buffer
	require.NoError(t, src.SaveSnapshot(&cat, nil, nil))
	b := cat.Bytes()
	b[5] = 1
	require.Error(t, dst.RecoverFromSnapshot(bytes.NewReader(b), nil, nil))
}
