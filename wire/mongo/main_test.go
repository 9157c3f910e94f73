package mongo

import (
	"os"
	"testing"
)

// testTempDir holds what the tests' backends keep on disk (the plain store); removed at the end.
var testTempDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "chronogo-wire-")
	if err != nil {
		panic(err)
	}
	testTempDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}
