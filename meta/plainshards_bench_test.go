package meta_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/meta/metatest"
	"github.com/chronogo/chronogo/meta/plain"
)

// BenchmarkPlainWrite proposes batches of 100 inserted documents (about 100 bytes each) to a
// plain shard of 1 and of 3 in-process replicas (fsynced Raft logs, in-process transport) and
// reports documents per second.
func BenchmarkPlainWrite(b *testing.B) {
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			c := metatest.StartCluster(b, n)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			for i, h := range c.Hosts {
				require.NoError(b, h.Client().RegisterNode(ctx, meta.Node{ID: uint64(i + 1), Role: "dnode", RaftAddr: c.Configs[i].RaftAddr}))
			}
			m := c.Hosts[0].Client()
			_, _, err := m.CreateDatabase(ctx, meta.Database{Tenant: meta.DefaultTenant, Name: "d", ReplicationFactor: n})
			require.NoError(b, err)
			p, _, err := m.PlainShardOf(ctx, meta.DefaultTenant, "d", true)
			require.NoError(b, err)
			_, err = m.PlainHere(p)
			require.NoError(b, err)
			const batch = 100
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				items := make([]plain.Item, batch)
				for j := range items {
					id := fmt.Sprintf("dev-%d-%d", i, j)
					doc, _ := bson.Marshal(bson.D{{Key: "_id", Value: id}, {Key: "model", Value: "sensor-x"}, {Key: "site", Value: "plant-7"}, {Key: "n", Value: j}})
					items[j] = plain.Item{Mode: plain.ModeInsert, Key: []byte(id), Doc: doc}
				}
				if _, _, err := m.PlainWrite(ctx, p.ID, plain.Command{Op: plain.OpWrite, NS: plain.NS{Tenant: meta.DefaultTenant, DB: "d", Coll: "c"}, Items: items}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "docs/s")
		})
	}
}
