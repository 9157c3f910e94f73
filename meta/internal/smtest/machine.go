package smtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/meta/internal/smcodec"
)

// badCommands are entries that do not decode: empty, a wrong version byte, and broken JSON.
var badCommands = [][]byte{nil, {9, '{', '}'}, {smcodec.CommandVersion, 'x'}}

// determinism applies log to two fresh machines and requires identical codes, results and snapshot
// bytes; a third machine restored from the snapshot must save the same bytes and hold an equal
// state. It returns the first machine for the shard's own checks.
func determinism[S, C, R any](t testing.TB, newM func() *smcodec.Machine[S, C, R], log [][]byte) *smcodec.Machine[S, C, R] {
	t.Helper()
	a, b := newM(), newM()
	for i, cmd := range log {
		ca, da := a.Apply(cmd)
		cb, db := b.Apply(cmd)
		require.Equal(t, ca, cb, "code of entry %d", i)
		require.Equal(t, da, db, "result of entry %d", i)
	}
	sa, err := a.Snapshot()
	require.NoError(t, err)
	sb, err := b.Snapshot()
	require.NoError(t, err)
	require.Equal(t, sa, sb)

	c := newM()
	require.NoError(t, c.Restore(bytes.NewReader(sa)))
	sc, err := c.Snapshot()
	require.NoError(t, err)
	require.Equal(t, sa, sc)
	require.Equal(t, a.State, c.State)
	return a
}

// throughDragonboat applies log[:split] to src through sm.IStateMachine, recovers dst from src's
// snapshot and applies the rest to both: results and the answers to query must not diverge. A
// frame relabelled with another shard's kind must be refused.
func throughDragonboat(t testing.TB, newSM func() sm.IStateMachine, log [][]byte, split int, query any) {
	t.Helper()
	src, dst := newSM(), newSM()
	for i, cmd := range log[:split] {
		_, err := src.Update(sm.Entry{Index: uint64(i + 1), Cmd: cmd})
		require.NoError(t, err)
	}
	var buf bytes.Buffer
	require.NoError(t, src.SaveSnapshot(&buf, nil, nil))
	snap := bytes.Clone(buf.Bytes())
	require.NoError(t, dst.RecoverFromSnapshot(&buf, nil, nil))
	for i, cmd := range log[split:] {
		e := sm.Entry{Index: uint64(split + i + 1), Cmd: cmd}
		ra, err := src.Update(e)
		require.NoError(t, err)
		rb, err := dst.Update(e)
		require.NoError(t, err)
		require.Equal(t, ra, rb, "entry %d", e.Index)
	}
	qa, err := src.Lookup(query)
	require.NoError(t, err)
	qb, err := dst.Lookup(query)
	require.NoError(t, err)
	require.Equal(t, qa, qb)

	for _, k := range []smcodec.Kind{smcodec.KindCatalog, smcodec.KindPlacement, smcodec.KindLocks} {
		if byte(k) == snap[5] {
			continue
		}
		other := bytes.Clone(snap)
		other[5] = byte(k)
		resum(other)
		require.Error(t, dst.RecoverFromSnapshot(bytes.NewReader(other), nil, nil), "kind %s", k)
	}
	require.NoError(t, src.Close())
	require.NoError(t, dst.Close())
}

// restoreRejectsDamage requires Restore to refuse damaged copies of snap (a non-empty state's
// frame) and to leave the machine's state as it was.
func restoreRejectsDamage[S, C, R any](t *testing.T, newM func() *smcodec.Machine[S, C, R], snap []byte) {
	t.Helper()
	cases := map[string][]byte{
		"flipped body byte": func() []byte { b := bytes.Clone(snap); b[20] ^= 1; return b }(),
		"flipped crc byte":  func() []byte { b := bytes.Clone(snap); b[len(b)-1] ^= 1; return b }(),
		"bad magic":         append([]byte("XXXX"), snap[4:]...),
		"bad version":       func() []byte { b := bytes.Clone(snap); b[4] = 2; return resum(b) }(),
		"unknown kind":      func() []byte { b := bytes.Clone(snap); b[5] = 0; return resum(b) }(),
		"long length":       func() []byte { b := bytes.Clone(snap); b[13]++; return resum(b) }(),
		"truncated":         snap[:len(snap)-1],
		"empty":             nil,
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			m := newM()
			before := m.State
			require.Error(t, m.Restore(bytes.NewReader(b)))
			require.Same(t, before, m.State)
		})
	}
}

// resum rewrites the CRC32-C of a frame after a header edit, so the edit and not the checksum is
// what Restore must refuse.
func resum(frame []byte) []byte {
	n := len(frame) - 4
	binary.BigEndian.PutUint32(frame[n:], crc32.Checksum(frame[4:n], crc32.MakeTable(crc32.Castagnoli)))
	return frame
}

// badCommandsAreResults applies badCommands: each must answer the invalid code with a message,
// and leave the state (its snapshot bytes) unchanged.
func badCommandsAreResults[S, C, R any](t testing.TB, m *smcodec.Machine[S, C, R], invalid uint64) {
	t.Helper()
	before, err := m.Snapshot()
	require.NoError(t, err)
	for _, cmd := range badCommands {
		code, data := m.Apply(cmd)
		require.Equal(t, invalid, code)
		r, err := smcodec.DecodeResult[struct {
			Message string `json:"message"`
		}](data)
		require.NoError(t, err)
		require.NotEmpty(t, r.Message)
	}
	after, err := m.Snapshot()
	require.NoError(t, err)
	require.Equal(t, before, after)
}

// digest applies log to m and returns the hex SHA-256 of every entry, code and encoded result, and
// of the final snapshot: a golden value that changes whenever a command, result or snapshot byte
// format does.
func digest[S, C, R any](t testing.TB, m *smcodec.Machine[S, C, R], log [][]byte) string {
	t.Helper()
	h := sha256.New()
	for _, cmd := range log {
		code, data := m.Apply(cmd)
		for _, part := range [][]byte{cmd, binary.BigEndian.AppendUint64(nil, code), data} {
			h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(part))))
			h.Write(part)
		}
	}
	snap, err := m.Snapshot()
	require.NoError(t, err)
	h.Write(snap)
	return hex.EncodeToString(h.Sum(nil))
}

// FuzzRestore seeds f with the commands of log and a snapshot of them, then feeds arbitrary bytes to Apply and
// Restore: errors are fine, panics are not, and a snapshot that restores must save to a frame
// that restores to the same state.
func FuzzRestore[S, C, R any](f *testing.F, shard *smcodec.Shard[S, C, R], log []C) {
	m := shard.NewMachine()
	for _, cmd := range encode(f, log) {
		m.Apply(cmd)
		f.Add(cmd)
	}
	snap, err := m.Snapshot()
	require.NoError(f, err)
	f.Add(snap)
	f.Fuzz(func(t *testing.T, b []byte) {
		shard.NewMachine().Apply(b)
		r := shard.NewMachine()
		if r.Restore(bytes.NewReader(b)) != nil {
			return
		}
		again, err := r.Snapshot()
		require.NoError(t, err)
		r2 := shard.NewMachine()
		require.NoError(t, r2.Restore(bytes.NewReader(again)))
		require.Equal(t, r.State, r2.State)
	})
}
