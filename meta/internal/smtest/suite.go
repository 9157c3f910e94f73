package smtest

import (
	"errors"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/meta/internal/smcodec"
)

// RandomLog builds n commands of a shard from seed over a small name space, so that creates,
// duplicates and removals of the same objects interleave.
type RandomLog[C any] func(seed uint64, n int) []C

// encode frames every command of a log.
func encode[C any](t testing.TB, cmds []C) [][]byte {
	t.Helper()
	out := make([][]byte, len(cmds))
	for i, c := range cmds {
		b, err := smcodec.EncodeCommand(c)
		require.NoError(t, err)
		out[i] = b
	}
	return out
}

// Run runs the shared machine tests of one shard as subtests: determinism, golden bytes, snapshots
// through dragonboat's interface (comparing the answers to query, a Lookup covering the whole
// state), damaged frames and bad commands (answered with code invalid). golden is the digest of
// random log 0 of 400 entries followed by the bad commands, recorded once: the command, result and
// snapshot bytes must never change.
func Run[S, C, R any](t *testing.T, shard *smcodec.Shard[S, C, R], randomLog RandomLog[C], invalid uint64, query any,
	golden string) {
	t.Run("determinism", func(t *testing.T) {
		empty, err := shard.NewMachine().Snapshot()
		require.NoError(t, err)
		for seed := range uint64(5) {
			m := determinism(t, shard.NewMachine, encode(t, randomLog(seed, 400)))
			snap, err := m.Snapshot()
			require.NoError(t, err)
			require.NotEqual(t, empty, snap, "seed %d changed nothing", seed)
		}
	})
	t.Run("golden", func(t *testing.T) {
		require.Equal(t, golden, digest(t, shard.NewMachine(), append(encode(t, randomLog(0, 400)), badCommands...)))
	})
	t.Run("through dragonboat", func(t *testing.T) {
		newSM := func() sm.IStateMachine { return shard.NewMachine() }
		throughDragonboat(t, newSM, encode(t, randomLog(42, 300)), 200, query)
	})
	t.Run("restore rejects damage", func(t *testing.T) {
		m := shard.NewMachine()
		for _, cmd := range encode(t, randomLog(1, 20)) {
			m.Apply(cmd)
		}
		snap, err := m.Snapshot()
		require.NoError(t, err)
		restoreRejectsDamage(t, shard.NewMachine, snap)
	})
	t.Run("bad command is a result", func(t *testing.T) {
		require.Equal(t, invalid, shard.Code(shard.Invalid(shard.New(), errors.New("bad"))))
		badCommandsAreResults(t, shard.NewMachine(), invalid)
	})
}
