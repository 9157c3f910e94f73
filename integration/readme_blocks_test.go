package integration

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/integration/setup"
)

// readmeBlocks returns the fenced code blocks of README.md with the given language, in order.
func readmeBlocks(t *testing.T, lang string) []string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "README.md"))
	require.NoError(t, err)
	re := regexp.MustCompile("(?ms)^```" + lang + "\n(.*?)^```")
	var out []string
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		out = append(out, m[1])
	}
	return out
}

// TestReadmeQuickStart is issue #15's README test: the Quick start's mongosh block, as written in
// README.md, typed into mongosh line by line (stdin, as a user would), gives what the README says;
// and its curl line, as written (the address swapped for the test server's), writes line protocol
// the driver then reads. A README that drifts from what the server does fails here.
func TestReadmeQuickStart(t *testing.T) {
	t.Parallel()
	mongosh(t)
	srv := setup.Start(t, "")
	js := readmeBlocks(t, "js")
	require.NotEmpty(t, js, "README.md has a js block")
	quick := js[0]
	require.Contains(t, quick, "use demo")
	out := runMongosh(t, srv, "test", nil, quick)
	for _, want := range []string{
		"switched to db demo",
		"acknowledged: true",
		"temperature: 25.3",      // the find returns the reading
		"location: 'room1'",      // with its meta field
		"avgTemp: 25.3",          // the $timeWindow aggregate
		"maxTemp: 25.3",          //
		"sensors  [time-series]", // show collections, as the README's comment says
	} {
		require.Contains(t, out, want, "mongosh output of the README's Quick start:\n%s", out)
	}
	require.NotContains(t, out, "Error", "mongosh output:\n%s", out)
	require.Contains(t, quick, "// sensors  [time-series]", "the README shows what show collections prints")

	// the curl line of the Quick start
	var curl string
	for _, b := range readmeBlocks(t, "sh") {
		for _, line := range strings.Split(b, "\n") {
			if strings.HasPrefix(line, "curl ") && curl == "" {
				curl = line
			}
		}
	}
	require.NotEmpty(t, curl, "README.md has a curl example")
	m := regexp.MustCompile(`^curl -XPOST '([^']+)' --data-binary '([^']+)'$`).FindStringSubmatch(curl)
	require.NotNil(t, m, "the curl line has the form this test replays: %s", curl)
	url := "http://" + strings.Replace(m[1], "localhost:8080", srv.HTTPAddr, 1)
	resp, err := http.Post(url, "text/plain", strings.NewReader(m[2]))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	ctx := testCtx(t)
	var doc bson.M
	require.NoError(t, srv.Client().Database("demo").Collection("cpu").FindOne(ctx, bson.D{}).Decode(&doc))
	require.Equal(t, 1.5, doc["usage"])
	require.Equal(t, bson.D{{Key: "host", Value: "a"}}, doc["tags"])
}
