package integration

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chronogo/chronogo/integration/setup"
)

var cpuFields = []string{"usage_user", "usage_system", "usage_idle", "usage_nice", "usage_iowait",
	"usage_irq", "usage_softirq", "usage_steal", "usage_guest", "usage_guest_nice"}

var pushT0 = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// loadCPU posts TSBS-like cpu lines (integer fields, usage_guest_nice a double) for hosts over
// the given span at the given interval.
func loadCPU(t *testing.T, srv *setup.Server, db string, hosts int, span, every time.Duration) int {
	t.Helper()
	var sb strings.Builder
	n := 0
	post := func() {
		if sb.Len() == 0 {
			return
		}
		resp, err := http.Post("http://"+srv.HTTPAddr+"/write?db="+db, "text/plain", strings.NewReader(sb.String()))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
		sb.Reset()
	}
	for ts := pushT0; ts.Before(pushT0.Add(span)); ts = ts.Add(every) {
		for h := range hosts {
			fmt.Fprintf(&sb, "cpu,hostname=host_%d,region=r%d,rack=%d ", h, h%3, h%7)
			for i, f := range cpuFields {
				if i > 0 {
					sb.WriteByte(',')
				}
				v := (int64(h)*31 + ts.Unix()/int64(every.Seconds())*int64(i+7)) % 100
				if f == "usage_guest_nice" {
					fmt.Fprintf(&sb, "%s=%g", f, float64(v)*0.25)
				} else {
					fmt.Fprintf(&sb, "%s=%di", f, v)
				}
			}
			fmt.Fprintf(&sb, " %d\n", ts.Add(time.Duration(h)*time.Millisecond).UnixNano())
			n++
			if sb.Len() > 1<<20 {
				post()
			}
		}
	}
	post()
	return n
}

func ms(t time.Time) bson.DateTime { return bson.NewDateTimeFromTime(t) }

// benchmark pipelines of the brief (Q2 and Q3 with all ten fields)
func q1(t0 time.Time) bson.A {
	return bson.A{bson.D{{Key: "$match", Value: bson.D{{Key: "tags.hostname", Value: "host_0"}, {Key: "time", Value: bson.D{{Key: "$gte", Value: ms(t0)}, {Key: "$lt", Value: ms(t0.Add(time.Hour))}}}}}},
		bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: bson.D{{Key: "$dateTrunc", Value: bson.D{{Key: "date", Value: "$time"}, {Key: "unit", Value: "minute"}}}}}, {Key: "max_usage_user", Value: bson.D{{Key: "$max", Value: "$usage_user"}}}}}},
		bson.D{{Key: "$sort", Value: bson.D{{Key: "_id", Value: 1}}}}}
}

func q2(t0 time.Time) bson.A {
	g := bson.D{{Key: "_id", Value: bson.D{{Key: "hostname", Value: "$tags.hostname"}, {Key: "hour", Value: bson.D{{Key: "$dateTrunc", Value: bson.D{{Key: "date", Value: "$time"}, {Key: "unit", Value: "hour"}}}}}}}}
	for _, f := range cpuFields {
		g = append(g, bson.E{Key: "avg_" + f, Value: bson.D{{Key: "$avg", Value: "$" + f}}})
	}
	return bson.A{bson.D{{Key: "$match", Value: bson.D{{Key: "time", Value: bson.D{{Key: "$gte", Value: ms(t0)}, {Key: "$lt", Value: ms(t0.Add(12 * time.Hour))}}}}}},
		bson.D{{Key: "$group", Value: g}},
		bson.D{{Key: "$sort", Value: bson.D{{Key: "_id.hostname", Value: 1}, {Key: "_id.hour", Value: 1}}}}}
}

func q3() bson.A {
	g := bson.D{{Key: "_id", Value: "$tags.hostname"}, {Key: "time", Value: bson.D{{Key: "$first", Value: "$time"}}}}
	for _, f := range cpuFields {
		g = append(g, bson.E{Key: f, Value: bson.D{{Key: "$first", Value: "$" + f}}})
	}
	return bson.A{bson.D{{Key: "$sort", Value: bson.D{{Key: "tags.hostname", Value: 1}, {Key: "time", Value: -1}}}},
		bson.D{{Key: "$group", Value: g}}, bson.D{{Key: "$sort", Value: bson.D{{Key: "_id", Value: 1}}}}}
}

// defeat prepends a condition that stops the pushdown, so the pipeline runs document by document.
func defeat(p bson.A) bson.A {
	return append(bson.A{bson.D{{Key: "$match", Value: bson.D{{Key: "$expr", Value: true}}}}}, p...)
}

func aggregateAll(t *testing.T, coll *mongo.Collection, p bson.A) ([]bson.Raw, time.Duration) {
	t.Helper()
	start := time.Now()
	cur, err := coll.Aggregate(testCtx(t), p)
	require.NoError(t, err)
	var out []bson.Raw
	require.NoError(t, cur.All(testCtx(t), &out))
	return out, time.Since(start)
}

func requireSameDocs(t *testing.T, want, got []bson.Raw, name string) {
	t.Helper()
	require.Equal(t, len(want), len(got), name)
	for i := range want {
		require.Equal(t, want[i].String(), got[i].String(), "%s: document %d", name, i)
	}
}

// TestAggregatePushdownMatchesDocumentPath runs group pipelines through the real server both with
// the storage pushdown and with a $match that defeats it, on line protocol data (in the write
// cache, then flushed to TSM files) and on driver-inserted data with mixed types and deletes.
func TestAggregatePushdownMatchesDocumentPath(t *testing.T) {
	t.Parallel()
	srv := setup.Start(t, "")
	n := loadCPU(t, srv, "bench", 12, 26*time.Hour, time.Minute)

	mixed := srv.Client().Database("bench").Collection("mixed")
	require.NoError(t, srv.Client().Database("bench").CreateCollection(testCtx(t), "mixed",
		options.CreateCollection().SetTimeSeriesOptions(options.TimeSeries().SetTimeField("ts").SetMetaField("meta"))))
	var docs []any
	for k := range 26 * 6 {
		for h := range 3 {
			v := any(int32(k%40 - 5))
			if k%4 == 1 {
				v = float64(k%40) + 0.5
			} else if k%9 == 0 {
				v = int64(k)
			}
			doc := bson.D{{Key: "ts", Value: ms(pushT0.Add(time.Duration(k)*10*time.Minute + time.Duration(h)*time.Second))},
				{Key: "meta", Value: bson.D{{Key: "host", Value: fmt.Sprintf("m%d", h)}}}, {Key: "v", Value: v}}
			if k%3 == 0 {
				doc = append(doc, bson.E{Key: "s", Value: fmt.Sprintf("s%d", k%5)})
			}
			docs = append(docs, doc)
		}
	}
	_, err := mixed.InsertMany(testCtx(t), docs)
	require.NoError(t, err)
	_, err = mixed.DeleteMany(testCtx(t), bson.D{{Key: "meta.host", Value: "m1"}, {Key: "ts", Value: bson.D{{Key: "$gte", Value: ms(pushT0.Add(5 * time.Hour))}, {Key: "$lt", Value: ms(pushT0.Add(7 * time.Hour))}}}})
	require.NoError(t, err)

	hourly := func(acc bson.D) bson.A {
		return bson.A{bson.D{{Key: "$group", Value: append(bson.D{{Key: "_id", Value: bson.D{{Key: "h", Value: "$meta.host"},
			{Key: "t", Value: bson.D{{Key: "$dateTrunc", Value: bson.D{{Key: "date", Value: "$ts"}, {Key: "unit", Value: "hour"}}}}}}}}, acc...)}},
			bson.D{{Key: "$sort", Value: bson.D{{Key: "_id.h", Value: 1}, {Key: "_id.t", Value: 1}}}}}
	}
	mixedAccs := bson.D{{Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}, {Key: "sum", Value: bson.D{{Key: "$sum", Value: "$v"}}},
		{Key: "avg", Value: bson.D{{Key: "$avg", Value: "$v"}}}, {Key: "min", Value: bson.D{{Key: "$min", Value: "$v"}}},
		{Key: "max", Value: bson.D{{Key: "$max", Value: "$v"}}}, {Key: "ssum", Value: bson.D{{Key: "$sum", Value: "$s"}}}}
	countByHost := bson.A{bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$tags.hostname"}, {Key: "n", Value: bson.D{{Key: "$count", Value: bson.D{}}}}}}},
		bson.D{{Key: "$sort", Value: bson.D{{Key: "_id", Value: 1}}}}}
	lastMixed := bson.A{bson.D{{Key: "$sort", Value: bson.D{{Key: "meta.host", Value: 1}, {Key: "ts", Value: -1}}}},
		bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$meta.host"}, {Key: "ts", Value: bson.D{{Key: "$first", Value: "$ts"}}},
			{Key: "v", Value: bson.D{{Key: "$first", Value: "$v"}}}, {Key: "s", Value: bson.D{{Key: "$first", Value: "$s"}}}, {Key: "fs", Value: bson.D{{Key: "$last", Value: "$s"}}}}}},
		bson.D{{Key: "$sort", Value: bson.D{{Key: "_id", Value: 1}}}}}

	cpu := srv.Client().Database("bench").Collection("cpu")
	check := func(phase string) {
		for _, c := range []struct {
			name string
			coll *mongo.Collection
			p    bson.A
		}{
			{"Q1", cpu, q1(pushT0.Add(90 * time.Minute))},
			{"Q2", cpu, q2(pushT0.Add(7 * time.Hour))},
			{"Q3", cpu, q3()},
			{"count by host", cpu, countByHost},
			{"mixed hourly", mixed, hourly(mixedAccs)},
			{"mixed last", mixed, lastMixed},
			// only s's values are read: the 10-minute bins without an s make groups too
			{"mixed sparse sum", mixed, bson.A{bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: bson.D{{Key: "h", Value: "$meta.host"},
				{Key: "t", Value: bson.D{{Key: "$dateTrunc", Value: bson.D{{Key: "date", Value: "$ts"}, {Key: "unit", Value: "minute"}, {Key: "binSize", Value: 10}}}}}}},
				{Key: "ssum", Value: bson.D{{Key: "$sum", Value: "$s"}}}}}}, bson.D{{Key: "$sort", Value: bson.D{{Key: "_id.h", Value: 1}, {Key: "_id.t", Value: 1}}}}}},
		} {
			want, _ := aggregateAll(t, c.coll, defeat(c.p))
			got, _ := aggregateAll(t, c.coll, c.p)
			require.NotEmpty(t, want, c.name)
			requireSameDocs(t, want, got, phase+" "+c.name)
		}
		counts, _ := aggregateAll(t, cpu, countByHost)
		total := 0
		for _, d := range counts {
			total += int(d.Lookup("n").AsInt64())
		}
		require.Equal(t, n, total, "%s: every line counted once", phase)
	}
	check("cached")
	srv.Stop()
	srv.Restart()
	check("flushed")
}

// TestAggregatePushdownTimings loads CHRONOGO_AGG_HOSTS hosts × 24 h at 10 s through the line
// protocol endpoint, flushes, and logs the brief's Q1–Q3 with and without the pushdown (best of
// three). It is skipped unless the variable is set.
func TestAggregatePushdownTimings(t *testing.T) {
	hosts, _ := strconv.Atoi(os.Getenv("CHRONOGO_AGG_HOSTS"))
	if hosts <= 0 {
		t.Skip("set CHRONOGO_AGG_HOSTS to run")
	}
	srv := setup.Start(t, "", "--pprof") // CHRONOGO_AGG_PROFILE reads its /debug/pprof
	start := time.Now()
	n := loadCPU(t, srv, "bench", hosts, 24*time.Hour, 10*time.Second)
	t.Logf("loaded %d lines in %v", n, time.Since(start))
	srv.Stop()
	srv.Restart()
	cpu := srv.Client().Database("bench").Collection("cpu")
	best := func(p bson.A) ([]bson.Raw, time.Duration) {
		var out []bson.Raw
		var d time.Duration
		for i := range 3 {
			o, took := aggregateAll(t, cpu, p)
			if i == 0 || took < d {
				out, d = o, took
			}
		}
		return out, d
	}
	for _, c := range []struct {
		name string
		p    bson.A
	}{{"Q1", q1(pushT0.Add(5 * time.Hour))}, {"Q2", q2(pushT0.Add(6 * time.Hour))}, {"Q3", q3()}} {
		got, fast := best(c.p)
		want, slow := best(defeat(c.p))
		requireSameDocs(t, want, got, c.name)
		t.Logf("%s (%d hosts): pushdown %v, document path %v, %d groups", c.name, hosts, fast, slow, len(got))
		if prof := os.Getenv("CHRONOGO_AGG_PROFILE"); prof != "" {
			profile(t, srv, prof+"."+c.name, func() { aggregateAll(t, cpu, c.p) })
		}
	}
}

// profile writes a 5 s CPU profile of the server (its /debug/pprof) while fn runs in a loop.
func profile(t *testing.T, srv *setup.Server, path string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Get("http://" + srv.HTTPAddr + "/debug/pprof/profile?seconds=5")
		if err != nil {
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(path)
		if err != nil {
			return
		}
		defer f.Close()
		_, _ = io.Copy(f, resp.Body)
	}()
	for {
		select {
		case <-done:
			return
		default:
			fn()
		}
	}
}
