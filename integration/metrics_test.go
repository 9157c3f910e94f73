package integration

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chronogo/chronogo/integration/setup"
)

// documentedMetrics reads wire/httpapi/METRICS.md: metric name -> its check column.
func documentedMetrics(t *testing.T) map[string]string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "wire", "httpapi", "METRICS.md"))
	require.NoError(t, err)
	row := regexp.MustCompile("(?m)^\\| `(chronogo_[a-z_]+)` \\|.*\\| (nonzero|present|cluster) \\|$")
	out := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = m[2]
	}
	require.Greater(t, len(out), 20, "METRICS.md lists the metrics")
	return out
}

// scrape returns every sample of a server's /metrics: series (name{labels}) -> value.
func scrape(t *testing.T, s *setup.Server) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + s.HTTPAddr + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		out[line[:i]] = v
	}
	return out
}

// seriesName is the metric name of a sample's series (name{labels}).
func seriesName(series string) string {
	if i := strings.IndexByte(series, '{'); i >= 0 {
		return series[:i]
	}
	return series
}

// metricTotal sums the samples of metric (a histogram by its _count) and reports whether any exists.
func metricTotal(samples map[string]float64, metric string) (float64, bool) {
	var sum float64
	found := false
	for series, v := range samples {
		if name := seriesName(series); name == metric || name == metric+"_count" {
			sum, found = sum+v, true
		}
	}
	return sum, found
}

// TestMetricsAfterWorkload is issue #15's metrics check: after a scripted workload (driver inserts,
// finds with a cursor left open, an aggregate, a failing command, line protocol with a bad line,
// a flush and compactions by settling), /metrics holds every metric METRICS.md documents for a
// standalone server, and each one marked nonzero has moved.
func TestMetricsAfterWorkload(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "", "--settle-after", "1s", "--cache-size", "64KiB")
	c := srv.Client()
	coll := createTS(t, c.Database("m"), "cpu")
	for b := range 4 {
		docs := make([]any, 0, 2000)
		for i := range 2000 {
			docs = append(docs, bson.D{{Key: "ts", Value: time.Unix(1_700_000_000+int64(b*2000+i), 0)},
				{Key: "meta", Value: bson.D{{Key: "host", Value: "h" + string(rune('a'+i%4))}}}, {Key: "v", Value: float64(i)}})
		}
		_, err := coll.InsertMany(ctx, docs)
		require.NoError(t, err)
	}
	cur, err := coll.Find(ctx, bson.D{}, options.Find().SetBatchSize(10))
	require.NoError(t, err)
	defer cur.Close(ctx)
	require.True(t, cur.Next(ctx), "a cursor stays open during the scrape")
	_, err = coll.Aggregate(ctx, []bson.D{{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$meta.host"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}}})
	require.NoError(t, err)
	require.Error(t, c.Database("m").RunCommand(ctx, bson.D{{Key: "noSuchCommand", Value: 1}}).Err())
	resp, err := http.Post("http://"+srv.HTTPAddr+"/write?db=m", "text/plain", strings.NewReader("mem,host=a used=1i 1700000000000000000\n"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp, err = http.Post("http://"+srv.HTTPAddr+"/write?db=m", "text/plain", strings.NewReader("not line protocol\n"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)

	docs := documentedMetrics(t)
	var samples map[string]float64
	require.Eventually(t, func() bool { // settling flushes and compacts after a second of quiet
		samples = scrape(t, srv)
		v, _ := metricTotal(samples, "chronogo_compaction_seconds")
		return v > 0
	}, 30*time.Second, 200*time.Millisecond, "a compaction ran")
	for name, check := range docs {
		if check == "cluster" {
			continue
		}
		v, found := metricTotal(samples, name)
		require.True(t, found, "%s is documented but not exported", name)
		if check == "nonzero" {
			require.NotZero(t, v, "%s did not move with the workload", name)
		}
	}
	// and nothing exported by ChronoGo is undocumented
	for series := range samples {
		name := seriesName(series)
		if !strings.HasPrefix(name, "chronogo_") {
			continue
		}
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_count"), "_sum")
		_, ok := docs[name]
		_, okBase := docs[base]
		require.True(t, ok || okBase, "%s is exported but not in METRICS.md", name)
	}
}

// TestGrafanaDashboardMetrics: the sample dashboard is valid JSON and queries only documented
// metrics.
func TestGrafanaDashboardMetrics(t *testing.T) {
	docs := documentedMetrics(t)
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "wire", "httpapi", "grafana-dashboard.json"))
	require.NoError(t, err)
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	require.NoError(t, json.Unmarshal(b, &d))
	require.NotEmpty(t, d.Panels)
	name := regexp.MustCompile(`chronogo_[a-z_]+`)
	for _, p := range d.Panels {
		require.NotEmpty(t, p.Targets, p.Title)
		for _, tg := range p.Targets {
			ms := name.FindAllString(tg.Expr, -1)
			require.NotEmpty(t, ms, "%s: %s", p.Title, tg.Expr)
			for _, m := range ms {
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_count"), "_sum")
				_, ok := docs[base]
				require.True(t, ok, "panel %q queries %s, which METRICS.md does not document", p.Title, m)
			}
		}
	}
}
