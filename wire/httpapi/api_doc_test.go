package httpapi

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAPIDocumentsEveryRoute: every route this package registers is in API.md, so the document
// the console, ctl and users rely on cannot fall behind the code.
func TestAPIDocumentsEveryRoute(t *testing.T) {
	doc, err := os.ReadFile("API.md")
	require.NoError(t, err)
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	route := regexp.MustCompile(`mux\.Handle(?:Func)?\("([^"]+)"`)
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range route.FindAllStringSubmatch(string(src), -1) {
			r := m[1]
			if strings.HasPrefix(r, "/debug/pprof/") {
				r = "/debug/pprof/"
			}
			if r == "GET /console" {
				continue // the redirect to /console/
			}
			n++
			// the document writes "METHOD /path" followed by its query, if any
			require.Contains(t, string(doc), "`"+r, "route %s (%s) is not in API.md", r, f)
		}
	}
	require.Greater(t, n, 20, "the routes were found")
}
