package actorstest

import (
	"io"
	"testing"

	"github.com/sirupsen/logrus"
)

// QuietLogger is a logger for tests that discards everything unless the test runs with -v.
func QuietLogger() *logrus.Logger {
	l := logrus.New()
	if !testing.Verbose() {
		l.SetOutput(io.Discard)
	}
	return l
}
