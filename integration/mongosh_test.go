package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/integration/setup"
)

// mongosh returns the mongosh binary installed by `make test` (CHRONOGO_MONGOSH or .cache/mongosh).
func mongosh(t *testing.T) string {
	if p := os.Getenv("CHRONOGO_MONGOSH"); p != "" {
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", ".cache", "mongosh", "node_modules", ".bin", "mongosh")
	if _, err := os.Stat(p); err != nil {
		t.Skip("mongosh is not installed: `make test` installs it into .cache/mongosh")
	}
	return p
}

func runMongosh(t *testing.T, srv *setup.Server, db string, args []string, stdin string) string {
	t.Helper()
	cmd := exec.Command(mongosh(t), append([]string{"--quiet", "--nodb=false", "mongodb://" + srv.MongoAddr + "/" + db}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "MONGOSH_NO_UPDATE_CHECK=1", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "mongosh: %s", out)
	return string(out)
}

// TestMongoshSeedExample runs the seed README's example in mongosh and checks show dbs / show collections.
func TestMongoshSeedExample(t *testing.T) {
	t.Parallel()
	mongosh(t)
	srv := setup.Start(t, "")
	script := `
db.createCollection("sensors", {timeseries: {timeField: "timestamp", metaField: "tags", granularity: "seconds"}, expireAfterSeconds: 2592000});
db.sensors.insertOne({timestamp: ISODate("2023-03-09T12:00:00Z"), tags: {location: "room1", device_id: "dev001"}, temperature: 25.3, humidity: 60.1});
db.sensors.insertOne({timestamp: ISODate("2023-03-09T12:40:00Z"), tags: {location: "room1", device_id: "dev001"}, temperature: 26.3, humidity: 61});
db.sensors.insertOne({timestamp: ISODate("2023-03-09T12:10:00Z"), tags: {location: "room2", device_id: "dev002"}, temperature: 30, humidity: 50});
const found = db.sensors.find({"tags.location": "room1", timestamp: {$gte: ISODate("2023-03-09T00:00:00Z"), $lt: ISODate("2023-03-10T00:00:00Z")}}).toArray();
print("FOUND " + found.length + " " + found.map(d => d.temperature).join(","));
const agg = db.sensors.aggregate([
  {$match: {"tags.location": "room1", timestamp: {$gte: ISODate("2023-03-09T00:00:00Z"), $lt: ISODate("2023-03-10T00:00:00Z")}}},
  {$timeWindow: {timestamp: "$timestamp", window: "1h", output: {avgTemp: {$avg: "$temperature"}, maxTemp: {$max: "$temperature"}}}},
  {$sort: {"_id.timestamp": 1}}]).toArray();
print("AGG " + agg.length + " " + agg[0]._id.timestamp.toISOString() + " " + agg[0].avgTemp + " " + agg[0].maxTemp);
print("COUNT " + db.sensors.countDocuments({}));
`
	out := runMongosh(t, srv, "iot", []string{"--eval", script}, "")
	require.Contains(t, out, "FOUND 2 25.3,26.3")
	require.Contains(t, out, "AGG 1 2023-03-09T12:00:00.000Z 25.8 26.3")
	require.Contains(t, out, "COUNT 3")

	shell := runMongosh(t, srv, "iot", nil, "show dbs\nuse iot\nshow collections\n")
	require.Regexp(t, `iot\s+\d+`, shell, "show dbs lists the database with its size")
	require.Regexp(t, `sensors\s+\[time-series\]`, shell, "show collections shows the time-series badge")
}
