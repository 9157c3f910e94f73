package node

import (
	"log/slog"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/require"
)

// TestSlogRepeatsAreLimited: an error protoactor logs every second while a node is down is logged
// once per repeatEvery with the count left out; other messages and Info pass as before.
func TestSlogRepeatsAreLimited(t *testing.T) {
	log, hook := test.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	now := time.Unix(0, 0)
	h := &slogHandler{log: log, attrs: logrus.Fields{"component": "protoactor"}, repeats: newRepeatLimiter(func() time.Time { return now })}
	logger := slog.New(h)
	for range 40 { // one a second for 40 s
		logger.Error("EndpointWriter failed to connect", slog.String("address", "10.0.0.2:9000"))
		logger.Info("dead letter")
		now = now.Add(time.Second)
	}
	logger.Error("EndpointWriter failed to connect", slog.String("address", "10.0.0.3:9000"))
	var errs, infos int
	var repeated any
	for _, e := range hook.AllEntries() {
		switch e.Level {
		case logrus.ErrorLevel:
			errs++
			if r, ok := e.Data["repeated"]; ok {
				repeated = r
			}
		case logrus.DebugLevel:
			infos++
		}
	}
	require.Equal(t, 3, errs, "the first, one after 30 s, and the other address's")
	require.Equal(t, 29, repeated, "the 29 left out between them")
	require.Equal(t, 40, infos, "debug messages are not limited")
}
