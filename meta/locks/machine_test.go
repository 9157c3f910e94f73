package locks

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/stretchr/testify/require"
)

// randomLog builds n encoded lock commands over a few names and holders.
func randomLog(t *testing.T, seed uint64, n int) [][]byte {
	r := rand.New(rand.NewPCG(seed, seed))
	ops := []Op{OpAcquire, OpAcquire, OpRenew, OpRelease}
	out := make([][]byte, 0, n)
	for i := range n {
		c := Command{Op: ops[r.IntN(len(ops))], Name: fmt.Sprint("l", r.IntN(3)), Holder: fmt.Sprint("h", r.IntN(3)),
			Token: uint64(r.IntN(5)), TTL: int64(r.IntN(30) + 1), Now: int64(i * 3)}
		b, err := EncodeCommand(c)
		require.NoError(t, err)
		out = append(out, b)
	}
	return out
}

// TestDeterminism applies the same random log twice and compares results and snapshot bytes.
func TestDeterminism(t *testing.T) {
	for seed := range uint64(5) {
		log := randomLog(t, seed, 500)
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
		require.Positive(t, a.State.LastToken)
		c := &Machine{}
		require.NoError(t, c.Restore(bytes.NewReader(sa)))
		sc, _ := c.Snapshot()
		require.Equal(t, sa, sc)
	}
}

// TestSnapshotThroughDragonboatInterface saves and recovers through sm.IStateMachine.
func TestSnapshotThroughDragonboatInterface(t *testing.T) {
	log := randomLog(t, 3, 200)
	src, dst := NewStateMachine(3, 1), NewStateMachine(3, 2)
	for i, cmd := range log[:100] {
		_, err := src.Update(sm.Entry{Index: uint64(i + 1), Cmd: cmd})
		require.NoError(t, err)
	}
	var buf bytes.Buffer
	require.NoError(t, src.SaveSnapshot(&buf, nil, nil))
	require.NoError(t, dst.RecoverFromSnapshot(&buf, nil, nil))
	for i, cmd := range log[100:] {
		ra, _ := src.Update(sm.Entry{Index: uint64(i + 101), Cmd: cmd})
		rb, _ := dst.Update(sm.Entry{Index: uint64(i + 101), Cmd: cmd})
		require.Equal(t, ra, rb)
	}
	la, _ := src.Lookup(LeasesQuery{})
	lb, _ := dst.Lookup(LeasesQuery{})
	require.Equal(t, la, lb)
}
