package node

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// slogHandler forwards protoactor's log/slog records to logrus. Protoactor logs routine events
// (system started, actor recovering, dead letters) at Info, so Info becomes Debug here. Warnings
// and errors that repeat (an endpoint writer failing to reach a node that is down, every second)
// are logged once per repeatEvery with how many were left out.
type slogHandler struct {
	log     logrus.FieldLogger
	attrs   logrus.Fields
	repeats *repeatLimiter
}

func newSlogLogger(log logrus.FieldLogger) *slog.Logger {
	return slog.New(&slogHandler{log: log, attrs: logrus.Fields{"component": "protoactor"}, repeats: newRepeatLimiter(time.Now)})
}

// repeatEvery is how often one repeating warning or error is logged.
const repeatEvery = 30 * time.Second

// repeatLimiter remembers when each message (with its attributes) was last logged.
type repeatLimiter struct {
	mu   sync.Mutex
	now  func() time.Time
	seen map[string]*repeated
}

type repeated struct {
	at         time.Time
	suppressed int
}

func newRepeatLimiter(now func() time.Time) *repeatLimiter {
	return &repeatLimiter{now: now, seen: map[string]*repeated{}}
}

// allow reports whether a message with key may be logged now, and how many were left out since
// it last was.
func (l *repeatLimiter) allow(key string) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	r := l.seen[key]
	if r == nil {
		if len(l.seen) > 1000 { // many distinct messages: start over rather than grow
			clear(l.seen)
		}
		l.seen[key] = &repeated{at: now}
		return true, 0
	}
	if now.Sub(r.at) < repeatEvery {
		r.suppressed++
		return false, 0
	}
	n := r.suppressed
	r.at, r.suppressed = now, 0
	return true, n
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
	if r.Level >= slog.LevelWarn && h.repeats != nil {
		keys := make([]string, 0, len(fields))
		for k, v := range fields {
			keys = append(keys, fmt.Sprint(k, "=", v))
		}
		sort.Strings(keys)
		ok, left := h.repeats.allow(r.Message + "\x00" + strings.Join(keys, " "))
		if !ok {
			return nil
		}
		if left > 0 {
			fields["repeated"] = left
		}
	}
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
	n := &slogHandler{log: h.log, attrs: make(logrus.Fields, len(h.attrs)+len(attrs)), repeats: h.repeats}
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
