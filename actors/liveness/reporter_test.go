package liveness

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"
)

// TestReporter: changes reach Report in order, a peer's newer change replaces one not reported
// yet, and a failed report is retried until it succeeds.
func TestReporter(t *testing.T) {
	var (
		mu      sync.Mutex
		got     []string
		failing = 2 // the first two calls fail
		gate    = make(chan struct{})
	)
	report := func(_ context.Context, id uint64, down bool) error {
		<-gate
		mu.Lock()
		defer mu.Unlock()
		if failing > 0 {
			failing--
			return errors.New("meta unavailable")
		}
		s := "up"
		if down {
			s = "down"
		}
		got = append(got, string(rune('0'+id))+" "+s)
		return nil
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	r := startReporter(report, 10*time.Millisecond, log)
	defer r.stop()
	r.send(1, true)
	r.send(2, true)
	r.send(1, false) // replaces 1's pending down
	r.send(3, true)
	close(gate)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 3
	}, 5*time.Second, 5*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{"1 up", "2 down", "3 down"}, got)
}

// TestStatusNil: a node without a watcher sees no peer down.
func TestStatusNil(t *testing.T) {
	var s *Status
	require.False(t, s.Down(1))
	st := newStatus()
	st.set(Peer{ID: 2, Up: false})
	st.set(Peer{ID: 1, Up: true})
	require.True(t, st.Down(2))
	require.False(t, st.Down(1))
	require.False(t, st.Down(3), "unknown peers are not down")
	require.Equal(t, []uint64{1, 2}, []uint64{st.Peers()[0].ID, st.Peers()[1].ID})
}
