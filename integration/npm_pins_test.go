package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNpmPinsAgree checks that every npm tool the tests use is pinned to an exact version in
// integration/npm/package.json, that package-lock.json records the same version, and that the mongosh
// `make test` installed is that version (so no test ever runs a tool resolved at run time).
func TestNpmPinsAgree(t *testing.T) {
	t.Parallel()
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	var lock struct {
		LockfileVersion int `json:"lockfileVersion"`
		Packages        map[string]struct {
			Version      string            `json:"version"`
			Dependencies map[string]string `json:"dependencies"`
		} `json:"packages"`
	}
	readJSON(t, filepath.Join("npm", "package.json"), &pkg)
	readJSON(t, filepath.Join("npm", "package-lock.json"), &lock)
	require.GreaterOrEqual(t, lock.LockfileVersion, 2, "package-lock.json must list every package with its version")
	require.Contains(t, pkg.Dependencies, "mongosh")
	for name, pin := range pkg.Dependencies {
		for _, c := range pin {
			require.True(t, c == '.' || (c >= '0' && c <= '9'), "%s is pinned to %q: use an exact version", name, pin)
		}
		require.Equal(t, pin, lock.Packages[""].Dependencies[name], "package-lock.json's root disagrees with package.json on %s", name)
		require.Equal(t, pin, lock.Packages["node_modules/"+name].Version, "package-lock.json installs another %s", name)
	}
	if os.Getenv("CHRONOGO_MONGOSH") == "" {
		return
	}
	cmd := exec.Command(mongosh(t), "--version")
	cmd.Env = append(os.Environ(), "MONGOSH_NO_UPDATE_CHECK=1", "HOME="+t.TempDir())
	out, err := cmd.Output()
	require.NoError(t, err)
	require.Equal(t, pkg.Dependencies["mongosh"], strings.TrimSpace(string(out)), "installed mongosh is not the pinned one")
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v), "parse %s", path)
}
