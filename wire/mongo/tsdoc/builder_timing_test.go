package tsdoc

import (
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/meta"
)

// BenchmarkBuilderCPUDocs turns TSBS cpu-only shaped documents (10 host tags, 10 int64 fields) into
// a batch, 1000 documents per batch over 100 hosts, as an insertMany of the benchmark would.
func BenchmarkBuilderCPUDocs(b *testing.B) {
	c := &meta.Collection{Name: "cpu", TimeField: "time", MetaField: "tags"}
	fields := []string{"usage_user", "usage_system", "usage_idle", "usage_nice", "usage_iowait",
		"usage_irq", "usage_softirq", "usage_steal", "usage_guest", "usage_guest_nice"}
	base := time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC)
	docs := make([]bson.Raw, 1000)
	for i := range docs {
		d := bson.D{{Key: "time", Value: base.Add(time.Duration(i/100) * 10 * time.Second)},
			{Key: "tags", Value: bson.D{{Key: "hostname", Value: "host_" + string(rune('a'+i%26)) + string(rune('a'+(i%100)/26))},
				{Key: "region", Value: "eu-west-1"}, {Key: "datacenter", Value: "eu-west-1a"}, {Key: "rack", Value: "42"},
				{Key: "os", Value: "Ubuntu16.10"}, {Key: "arch", Value: "x64"}, {Key: "team", Value: "LON"},
				{Key: "service", Value: "7"}, {Key: "service_version", Value: "1"}, {Key: "service_environment", Value: "test"}}}}
		for j, f := range fields {
			d = append(d, bson.E{Key: f, Value: int64(i + j)})
		}
		raw, err := bson.Marshal(d)
		if err != nil {
			b.Fatal(err)
		}
		docs[i] = raw
	}
	bld := NewBuilder(c)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bld.Reset(c)
		for _, d := range docs {
			if err := bld.Add(d); err != nil {
				b.Fatal(err)
			}
		}
		if bld.Len() != len(docs) {
			b.Fatal("lost documents")
		}
	}
	b.ReportMetric(float64(b.N*len(docs)*len(fields))/b.Elapsed().Seconds(), "values/s")
}
