package wal

import (
	"testing"

	"go.uber.org/goleak"
)

// The WAL starts no goroutines: none may outlive a test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
