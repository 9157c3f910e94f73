package meta

import (
	"os"
	"testing"

	"github.com/sirupsen/logrus"
	"go.uber.org/goleak"
)

// TestMain quiets logs and checks that closed hosts leave no goroutines behind.
func TestMain(m *testing.M) {
	l := logrus.New()
	l.SetLevel(logrus.WarnLevel)
	if os.Getenv("META_TEST_DEBUG") != "" {
		l.SetLevel(logrus.DebugLevel)
	}
	installDragonboatLogger(l)
	goleak.VerifyTestMain(m)
}
