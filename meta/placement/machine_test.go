package placement

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/chronogo/chronogo/meta/internal/smtest"
	"github.com/chronogo/chronogo/meta/model"
)

// randomLog builds n placement commands over a few nodes and databases.
func randomLog(seed uint64, n int) []Command {
	r := rand.New(rand.NewPCG(seed, seed))
	out := make([]Command, 0, n)
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
		out = append(out, c)
	}
	return out
}

// TestMachine runs the shared machine tests. The golden digest was recorded with the per-shard
// adapters that preceded smcodec.Machine.
func TestMachine(t *testing.T) {
	smtest.Run(t, shard, randomLog, uint64(CodeInvalid), ViewQuery{},
		"a621449688c81de9b6dfcf362a7a31f9a6940a519240d3e8779d40b5a4eff84e")
}

// FuzzRestore feeds arbitrary bytes to Apply and Restore.
func FuzzRestore(f *testing.F) { smtest.FuzzRestore(f, shard, randomLog(9, 30)) }
