package locks

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/chronogo/chronogo/meta/internal/smtest"
)

// randomLog builds n lock commands over a few names and holders.
func randomLog(seed uint64, n int) []Command {
	r := rand.New(rand.NewPCG(seed, seed))
	ops := []Op{OpAcquire, OpAcquire, OpRenew, OpRelease}
	out := make([]Command, 0, n)
	for i := range n {
		c := Command{Op: ops[r.IntN(len(ops))], Name: fmt.Sprint("l", r.IntN(3)), Holder: fmt.Sprint("h", r.IntN(3)),
			Token: uint64(r.IntN(5)), TTL: int64(r.IntN(30) + 1), Now: int64(i * 3)}
		out = append(out, c)
	}
	return out
}

// TestMachine runs the shared machine tests. The golden digest was recorded with the per-shard
// adapters that preceded smcodec.Machine.
func TestMachine(t *testing.T) {
	smtest.Run(t, shard, randomLog, uint64(CodeInvalid), LeasesQuery{},
		"7bb1ed412e15855a7e0aef67329bed2b302d4bfe156c151b6a2dacc561eb6ea5")
}

// FuzzRestore feeds arbitrary bytes to Apply and Restore.
func FuzzRestore(f *testing.F) { smtest.FuzzRestore(f, shard, randomLog(9, 30)) }
