package catalog

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/chronogo/chronogo/meta/internal/smtest"
	"github.com/chronogo/chronogo/meta/model"
)

// randomLog builds n commands over a small name space, so creates, duplicates and drops of
// the same objects interleave.
func randomLog(seed uint64, n int) []Command {
	r := rand.New(rand.NewPCG(seed, seed))
	tenants := []string{def, "t1", "t2"}
	grans := []string{"seconds", "minutes", "hours", ""}
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	out := make([]Command, 0, n)
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
		out = append(out, c)
	}
	return out
}

// TestMachine runs the shared machine tests. The golden digest was recorded with the per-shard
// adapters that preceded smcodec.Machine.
func TestMachine(t *testing.T) {
	smtest.Run(t, shard, randomLog, uint64(CodeInvalid), ViewQuery{},
		"15668aac3d27325ad23c65add9559c226625145283f71b15388bee3a52b87c98")
}

// FuzzRestore feeds arbitrary bytes to Apply and Restore.
func FuzzRestore(f *testing.F) { smtest.FuzzRestore(f, shard, randomLog(9, 30)) }
