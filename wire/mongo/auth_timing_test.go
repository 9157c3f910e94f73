package mongo

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chronogo/chronogo/meta"
)

// discardInserts counts inserted documents and keeps none: the benchmark measures the wire, the
// per-document checks and the authorization, not a store.
type discardInserts struct {
	*memBackend
	n atomic.Int64
}

func (d *discardInserts) Insert(_ context.Context, _ *meta.Collection, docs []bson.Raw) error {
	d.n.Add(int64(len(docs)))
	return nil
}

func benchServer(b *testing.B, auth bool) (string, *options.ClientOptions) {
	users := &memUsers{m: map[string]meta.User{}}
	creds, err := newCredentials("root", "bench-pw")
	require.NoError(b, err)
	users.m[userKey("admin", "root")] = meta.User{Tenant: meta.DefaultTenant, Name: userKey("admin", "root"), Credentials: creds, Roles: []string{"root@admin"}}
	be := &discardInserts{memBackend: newMemBackend(b)}
	seedCollection(b, be.memBackend)
	_, addr := startServer(b, Config{Users: users, Auth: auth}, be)
	opts := options.Client().ApplyURI("mongodb://" + addr + "/?directConnection=true")
	if auth {
		opts.SetAuth(options.Credential{Username: "root", Password: "bench-pw", AuthSource: "admin"})
	}
	return addr, opts
}

// BenchmarkInsertManyAuth is issue #8's "insertMany throughput with --auth on vs off (≤ 5 %
// apart)": 1000-document insertMany through the Go driver, with every command authorized against
// the user's roles or with access control off.
func BenchmarkInsertManyAuth(b *testing.B) {
	docs := make([]any, 1000)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range docs {
		docs[i] = bson.D{{Key: "ts", Value: base.Add(time.Duration(i) * time.Second)}, {Key: "v", Value: float64(i)}, {Key: "host", Value: "h1"}}
	}
	for _, auth := range []bool{false, true} {
		b.Run(fmt.Sprintf("auth=%t", auth), func(b *testing.B) {
			_, opts := benchServer(b, auth)
			c, err := mongo.Connect(opts)
			require.NoError(b, err)
			defer c.Disconnect(context.Background())
			coll := c.Database("db").Collection("c")
			b.ResetTimer()
			for b.Loop() {
				if _, err := coll.InsertMany(context.Background(), docs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(docs))*float64(b.N)/b.Elapsed().Seconds(), "docs/s")
		})
	}
}

// BenchmarkSCRAMLogin is the time of one SCRAM-SHA-256 login (a new connection, the handshake
// with speculativeAuthenticate, the conversation and a ping).
func BenchmarkSCRAMLogin(b *testing.B) {
	_, opts := benchServer(b, true)
	for b.Loop() {
		c, err := mongo.Connect(opts)
		require.NoError(b, err)
		if err := c.Ping(context.Background(), nil); err != nil {
			b.Fatal(err)
		}
		_ = c.Disconnect(context.Background())
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/login")
}
