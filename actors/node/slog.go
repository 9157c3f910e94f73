package node

import (
	"context"
	"log/slog"

	"github.com/sirupsen/logrus"
)

// slogHandler forwards protoactor's log/slog records to logrus. Protoactor logs routine events
// (system started, actor recovering, dead letters) at Info, so Info becomes Debug here.
type slogHandler struct {
	log   logrus.FieldLogger
	attrs logrus.Fields
}

func newSlogLogger(log logrus.FieldLogger) *slog.Logger {
	return slog.New(&slogHandler{log: log, attrs: logrus.Fields{"component": "protoactor"}})
}

// Enabled implements slog.Handler.
func (h *slogHandler) Enabled(context.Context, slog.Level) bool { return true }

// Handle implements slog.Handler.
func (h *slogHandler) Handle(_ context.Context, r slog.Record) error {
	fields := make(logrus.Fields, len(h.attrs)+r.NumAttrs())
	for k, v := range h.attrs {
		fields[k] = v
	}
	r.Attrs(func(a slog.Attr) bool {
		fields[a.Key] = a.Value.String()
		return true
	})
	e := h.log.WithFields(fields)
	switch {
	case r.Level >= slog.LevelError:
		e.Error(r.Message)
	case r.Level >= slog.LevelWarn:
		e.Warn(r.Message)
	default:
		e.Debug(r.Message)
	}
	return nil
}

// WithAttrs implements slog.Handler.
func (h *slogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := &slogHandler{log: h.log, attrs: make(logrus.Fields, len(h.attrs)+len(attrs))}
	for k, v := range h.attrs {
		n.attrs[k] = v
	}
	for _, a := range attrs {
		n.attrs[a.Key] = a.Value.String()
	}
	return n
}

// WithGroup implements slog.Handler; groups are flattened.
func (h *slogHandler) WithGroup(string) slog.Handler { return h }
