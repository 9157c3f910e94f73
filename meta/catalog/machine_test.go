package catalog

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/meta/model"
)

// randomLog builds n encoded commands over a small name space, so creates, duplicates and drops of
// the same objects interleave.
func randomLog(t testing.TB, seed uint64, n int) [][]byte {
	r := rand.New(rand.NewPCG(seed, seed))
	tenants := []string{def, "t1", "t2"}
	grans := []string{"seconds", "minutes", "hours", ""}
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	out := make([][]byte, 0, n)
	for i := range n {
		tenant, db, name := pick(tenants), fmt.Sprintf("db%d", r.IntN(3)), fmt.Sprintf("c%d", r.IntN(4))
		c := Command{Tenant: tenant, DB: db, Now: int64(i) * 1000}
		switch r.IntN(8) {
		case 0:
			c.Op, c.Name = OpCreateTenant, pick(tenants)
		case 1:
			c.Op, c.Database = OpCreateDatabase, &model.Database{Name: db, ShardCount: r.IntN(3), TTL: int64(r.IntN(2))}
		case 2:
			c.Op = OpDropDatabase
		case 3, 4:
			c.Op = OpCreateCollection
			c.Collection = &model.Collection{Name: name, TimeField: "t", Granularity: pick(grans), BucketMaxSpanSeconds: 60}
			if c.Collection.Granularity != "" {
				c.Collection.BucketMaxSpanSeconds = 0
			}
		case 5:
			c.Op, c.Name = OpDropCollection, name
		case 6:
			c.Op, c.Name = OpUpdateCollection, name
			c.Update = &CollectionUpdate{SetTTL: true, HasTTL: r.IntN(2) == 0, ExpireAfterSeconds: int64(r.IntN(100)),
				Granularity: pick(grans), SetIndexes: r.IntN(2) == 0, Indexes: []model.Index{{Name: name, Key: []byte{byte(i)}}}}
		case 7:
			c.Op, c.User = OpCreateUser, &model.User{Name: name, Credentials: []byte{byte(i)}}
		}
		b, err := EncodeCommand(c)
		require.NoError(t, err)
		out = append(out, b)
	}
	return out
}

// TestDeterminism applies the same random log to two fresh state machines and compares every
// result and the snapshots byte for byte; then a snapshot restored and saved again is unchanged.
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
		require.Positive(t, a.State.Version)

		c := &Machine{}
		require.NoError(t, c.Restore(bytes.NewReader(sa)))
		sc, err := c.Snapshot()
		require.NoError(t, err)
		require.Equal(t, sa, sc)
		require.Equal(t, a.State, c.State)
	}
}

// TestSnapshotThroughDragonboatInterface saves and recovers through sm.IStateMachine, then keeps
// applying to both copies: they must not diverge.
func TestSnapshotThroughDragonboatInterface(t *testing.T) {
	log := randomLog(t, 42, 300)
	src := NewStateMachine(1, 1)
	for i, cmd := range log[:200] {
		_, err := src.Update(sm.Entry{Index: uint64(i + 1), Cmd: cmd})
		require.NoError(t, err)
	}
	var buf bytes.Buffer
	require.NoError(t, src.SaveSnapshot(&buf, nil, nil))
	dst := NewStateMachine(1, 2)
	require.NoError(t, dst.RecoverFromSnapshot(bytes.NewReader(buf.Bytes()), nil, nil))
	for i, cmd := range log[200:] {
		ra, err := src.Update(sm.Entry{Index: uint64(i + 201), Cmd: cmd})
		require.NoError(t, err)
		rb, err := dst.Update(sm.Entry{Index: uint64(i + 201), Cmd: cmd})
		require.NoError(t, err)
		require.Equal(t, ra, rb)
	}
	va, err := src.Lookup(ViewQuery{})
	require.NoError(t, err)
	vb, err := dst.Lookup(ViewQuery{})
	require.NoError(t, err)
	require.Equal(t, va, vb)
	require.NoError(t, src.Close())
}

func TestRestoreRejectsDamage(t *testing.T) {
	m := &Machine{State: New()}
	m.Apply(randomLog(t, 1, 1)[0])
	snap, err := m.Snapshot()
	require.NoError(t, err)
	cases := map[string][]byte{
		"flipped body byte": func() []byte { b := bytes.Clone(snap); b[20] ^= 1; return b }(),
		"bad magic":         append([]byte("XXXX"), snap[4:]...),
		"wrong kind":        func() []byte { b := bytes.Clone(snap); b[5] = 3; return b }(),
		"truncated":         snap[:len(snap)-1],
		"empty":             nil,
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			require.Error(t, (&Machine{State: New()}).Restore(bytes.NewReader(b)))
		})
	}
}

func TestApplyBadCommandIsAResult(t *testing.T) {
	m := &Machine{State: New()}
	for _, cmd := range [][]byte{nil, {9, '{', '}'}, {1, 'x'}} {
		code, data := m.Apply(cmd)
		require.Equal(t, uint64(CodeInvalid), code)
		r, err := DecodeResult(data)
		require.NoError(t, err)
		require.NotEmpty(t, r.Message)
	}
	require.Zero(t, m.State.Version)
}

// FuzzRestore feeds arbitrary bytes to Restore and Apply: errors are fine, panics are not, and a
// snapshot that restores must save to a frame that restores to the same state.
func FuzzRestore(f *testing.F) {
	m := &Machine{State: New()}
	for _, cmd := range randomLog(f, 9, 30) {
		m.Apply(cmd)
		f.Add(cmd)
	}
	snap, err := m.Snapshot()
	require.NoError(f, err)
	f.Add(snap)
	f.Fuzz(func(t *testing.T, b []byte) {
		(&Machine{State: New()}).Apply(b)
		r := &Machine{}
		if r.Restore(bytes.NewReader(b)) != nil {
			return
		}
		again, err := r.Snapshot()
		require.NoError(t, err)
		r2 := &Machine{}
		require.NoError(t, r2.Restore(bytes.NewReader(again)))
		require.Equal(t, r.State, r2.State)
	})
}
