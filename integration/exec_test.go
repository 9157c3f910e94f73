package integration

import (
	"os/exec"
	"testing"
)

// run executes bin and returns its combined output.
func run(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}
