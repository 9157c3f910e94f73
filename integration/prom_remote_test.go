package integration

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/integration/setup"
	"github.com/chronogo/chronogo/wire/promremote"
)

// TestPrometheusRemoteWriteRead: remote write 1.0 bodies (snappy protobuf, as Prometheus sends
// them) land in one time-series collection per metric that the Go driver reads; remote read
// answers =, !=, =~ and !~ with exactly the series and samples a model of what was written
// selects; bad bodies get 400 and store nothing; everything survives a kill -9.
func TestPrometheusRemoteWriteRead(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "")
	post := func(path string, body []byte) (int, []byte) {
		req, err := http.NewRequest(http.MethodPost, "http://"+srv.HTTPAddr+path, bytes.NewReader(promremote.Compress(body)))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-protobuf")
		req.Header.Set("Content-Encoding", "snappy")
		req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	// the model: metric -> label set (sorted "k=v,...") -> samples by ms
	type series struct {
		labels  []promremote.Label
		samples map[int64]float64
	}
	model := map[string]*series{}
	keyOf := func(ls []promremote.Label) string {
		var parts []string
		for _, l := range ls {
			parts = append(parts, l.Name+"="+l.Value)
		}
		return strings.Join(parts, ",")
	}
	r := rand.New(rand.NewPCG(5, 6))
	base := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for round := range 3 {
		var req []promremote.TimeSeries
		for _, metric := range []string{"node_cpu_seconds_total", "up", "http_requests_total"} {
			for inst := range 3 {
				ls := []promremote.Label{{Name: "__name__", Value: metric}, {Name: "instance", Value: fmt.Sprintf("host-%d:9100", inst)}, {Name: "job", Value: []string{"node", "api"}[inst%2]}}
				ts := promremote.TimeSeries{Labels: ls}
				for i := range 20 {
					ms := base + int64(round*20+i)*15000
					v := r.Float64() * 100
					ts.Samples = append(ts.Samples, promremote.Sample{Value: v, TimestampMs: ms})
					k := keyOf(ls)
					if model[k] == nil {
						model[k] = &series{labels: ls, samples: map[int64]float64{}}
					}
					model[k].samples[ms] = v
				}
				req = append(req, ts)
			}
		}
		code, body := post("/api/v1/prom/write", promremote.AppendWriteRequest(nil, req))
		require.Equal(t, http.StatusNoContent, code, "%s", body)
	}

	// bad bodies: 400, nothing stored
	for _, c := range []struct {
		name string
		ts   []promremote.TimeSeries
	}{
		{"no __name__", []promremote.TimeSeries{{Labels: []promremote.Label{{Name: "job", Value: "x"}}, Samples: []promremote.Sample{{Value: 1, TimestampMs: base}}}}},
		{"dotted label", []promremote.TimeSeries{{Labels: []promremote.Label{{Name: "__name__", Value: "bad1"}, {Name: "a.b", Value: "x"}}, Samples: []promremote.Sample{{Value: 1, TimestampMs: base}}}}},
		{"bad metric name", []promremote.TimeSeries{{Labels: []promremote.Label{{Name: "__name__", Value: "system.x"}}, Samples: []promremote.Sample{{Value: 1, TimestampMs: base}}}}},
		{"duplicate label", []promremote.TimeSeries{{Labels: []promremote.Label{{Name: "__name__", Value: "bad2"}, {Name: "a", Value: "1"}, {Name: "a", Value: "2"}}, Samples: []promremote.Sample{{Value: 1, TimestampMs: base}}}}},
	} {
		code, body := post("/api/v1/prom/write", promremote.AppendWriteRequest(nil, c.ts))
		require.Equal(t, http.StatusBadRequest, code, "%s: %s", c.name, body)
	}
	req, err := http.NewRequest(http.MethodPost, "http://"+srv.HTTPAddr+"/api/v1/prom/write", strings.NewReader("not snappy at all"))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	names, err := srv.Client().Database("prometheus").ListCollectionNames(ctx, bson.D{})
	require.NoError(t, err)
	sort.Strings(names)
	require.Equal(t, []string{"http_requests_total", "node_cpu_seconds_total", "up"}, names)

	// the Go driver reads a metric as a time series
	n, err := srv.Client().Database("prometheus").Collection("up").CountDocuments(ctx, bson.D{{Key: "tags.job", Value: "node"}})
	require.NoError(t, err)
	require.EqualValues(t, 2*60, n)
	var doc bson.M
	require.NoError(t, srv.Client().Database("prometheus").Collection("up").FindOne(ctx, bson.D{{Key: "tags.instance", Value: "host-1:9100"}}).Decode(&doc))
	want := model[keyOf([]promremote.Label{{Name: "__name__", Value: "up"}, {Name: "instance", Value: "host-1:9100"}, {Name: "job", Value: "api"}})]
	require.Equal(t, want.samples[doc["time"].(bson.DateTime).Time().UnixMilli()], doc["value"])

	read := func(q promremote.Query) []promremote.TimeSeries {
		code, body := post("/api/v1/prom/read", promremote.AppendReadRequest(nil, []promremote.Query{q}))
		require.Equal(t, http.StatusOK, code, "%s", body)
		raw, err := promremote.Decompress(body, 1<<30)
		require.NoError(t, err)
		res, err := promremote.DecodeReadResponse(raw)
		require.NoError(t, err)
		require.Len(t, res, 1)
		return res[0]
	}
	// the model's answer: every matcher on the label value ("" when absent), anchored regexps
	expect := func(q promremote.Query) map[string]map[int64]float64 {
		out := map[string]map[int64]float64{}
		for k, s := range model {
			ok := true
			for _, m := range q.Matchers {
				v := ""
				for _, l := range s.labels {
					if l.Name == m.Name {
						v = l.Value
					}
				}
				switch m.Type {
				case promremote.MatchEqual:
					ok = ok && v == m.Value
				case promremote.MatchNotEqual:
					ok = ok && v != m.Value
				default:
					hit := regexp.MustCompile("^(?:" + m.Value + ")$").MatchString(v)
					ok = ok && hit == (m.Type == promremote.MatchRegexp)
				}
			}
			if !ok {
				continue
			}
			in := map[int64]float64{}
			for ms, v := range s.samples {
				if ms >= q.StartMs && ms <= q.EndMs {
					in[ms] = v
				}
			}
			if len(in) > 0 {
				out[k] = in
			}
		}
		return out
	}
	check := func(q promremote.Query) {
		got := map[string]map[int64]float64{}
		for _, ts := range read(q) {
			require.True(t, sort.SliceIsSorted(ts.Labels, func(i, j int) bool { return ts.Labels[i].Name < ts.Labels[j].Name }), "labels sorted")
			k := keyOf(ts.Labels)
			require.Nil(t, got[k], "series %s twice", k)
			got[k] = map[int64]float64{}
			for i, s := range ts.Samples {
				if i > 0 {
					require.Greater(t, s.TimestampMs, ts.Samples[i-1].TimestampMs, "samples in time order")
				}
				got[k][s.TimestampMs] = s.Value
			}
		}
		require.Equal(t, expect(q), got, "%+v", q)
	}
	mid := base + 25*15000
	queries := []promremote.Query{
		{StartMs: base, EndMs: base + 3600_000, Matchers: []promremote.Matcher{{Type: promremote.MatchEqual, Name: "__name__", Value: "up"}}},
		{StartMs: mid, EndMs: mid + 10*15000, Matchers: []promremote.Matcher{{Type: promremote.MatchEqual, Name: "__name__", Value: "up"}, {Type: promremote.MatchNotEqual, Name: "job", Value: "node"}}},
		{StartMs: base, EndMs: mid, Matchers: []promremote.Matcher{{Type: promremote.MatchRegexp, Name: "__name__", Value: "node_.*|http_.*"}, {Type: promremote.MatchRegexp, Name: "instance", Value: "host-[02]:.*"}}},
		{StartMs: base, EndMs: base + 3600_000, Matchers: []promremote.Matcher{{Type: promremote.MatchNotRegexp, Name: "__name__", Value: "up"}, {Type: promremote.MatchNotRegexp, Name: "job", Value: "n.*"}}},
		{StartMs: base, EndMs: base + 3600_000, Matchers: []promremote.Matcher{{Type: promremote.MatchEqual, Name: "__name__", Value: "up"}, {Type: promremote.MatchEqual, Name: "zone", Value: ""}}},
		{StartMs: base, EndMs: base + 3600_000, Matchers: []promremote.Matcher{{Type: promremote.MatchEqual, Name: "__name__", Value: "up"}, {Type: promremote.MatchNotEqual, Name: "zone", Value: ""}}},
		{StartMs: base, EndMs: base + 3600_000, Matchers: []promremote.Matcher{{Type: promremote.MatchEqual, Name: "__name__", Value: "missing_metric"}}},
	}
	for i, q := range queries {
		if i < 5 {
			require.NotEmpty(t, expect(q), "query %d selects something", i)
		} else {
			require.Empty(t, expect(q), "query %d selects nothing", i)
		}
		check(q)
	}
	code, body := post("/api/v1/prom/read", promremote.AppendReadRequest(nil, []promremote.Query{{StartMs: 0, EndMs: 1, Matchers: []promremote.Matcher{{Type: promremote.MatchRegexp, Name: "job", Value: "("}}}}))
	require.Equal(t, http.StatusBadRequest, code, "%s", body)

	// acknowledged samples survive a kill -9
	srv.Kill()
	srv.Restart()
	for _, q := range queries[:3] {
		check(q)
	}
}
