package meta

import (
	"fmt"
	"sync"

	"github.com/lni/dragonboat/v4/logger"
	"github.com/sirupsen/logrus"
)

// dragonboatLoggerOnce guards logger.SetLoggerFactory, which panics when called twice per process.
var dragonboatLoggerOnce sync.Once

// installDragonboatLogger routes dragonboat's logs to l; the first Host of the process wins.
// Dragonboat is chatty (elections and votes are warnings, every snapshot and segment is info), so
// its levels move one step down: info becomes debug and warning becomes info.
func installDragonboatLogger(l logrus.FieldLogger) {
	dragonboatLoggerOnce.Do(func() {
		defer func() { _ = recover() }() // another package installed a factory first: keep it
		logger.SetLoggerFactory(func(pkg string) logger.ILogger {
			return dragonboatLogger{l: l.WithFields(logrus.Fields{"component": "dragonboat", "pkg": pkg})}
		})
	})
}

// dragonboatLogger adapts logrus to dragonboat's ILogger.
type dragonboatLogger struct {
	l logrus.FieldLogger
}

// SetLevel is ignored: logrus's level applies.
func (dragonboatLogger) SetLevel(logger.LogLevel) {}

// Debugf logs at trace.
func (d dragonboatLogger) Debugf(format string, args ...any) {
	if e, ok := d.l.(*logrus.Entry); ok {
		e.Tracef(format, args...)
	}
}

// Infof logs at debug.
func (d dragonboatLogger) Infof(format string, args ...any) { d.l.Debugf(format, args...) }

// Warningf logs at info.
func (d dragonboatLogger) Warningf(format string, args ...any) { d.l.Infof(format, args...) }

// Errorf logs at error.
func (d dragonboatLogger) Errorf(format string, args ...any) { d.l.Errorf(format, args...) }

// Panicf logs and panics, as dragonboat expects.
func (d dragonboatLogger) Panicf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	d.l.Error(msg)
	panic(msg)
}
