package actors

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"
)

// TestMailboxDepth: a mailbox made by CountedMailbox is found by its actor's address and id and
// reports the messages waiting in it; ids of other actors are unknown.
func TestMailboxDepth(t *testing.T) {
	sys := actor.NewActorSystem()
	t.Cleanup(sys.Shutdown)
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	props := actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(string); ok {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-release
		}
	}, actor.WithMailbox(CountedMailbox(actor.Unbounded())))
	pid, err := sys.Root.SpawnNamed(props, "counted")
	require.NoError(t, err)
	for range 5 {
		sys.Root.Send(pid, "m")
	}
	<-entered // the first is being handled: four wait
	require.Eventually(t, func() bool {
		d, ok := MailboxDepth(sys.Address(), "counted")
		return ok && d == 4
	}, 5*time.Second, time.Millisecond)
	close(release)
	require.Eventually(t, func() bool {
		d, ok := MailboxDepth(sys.Address(), "counted")
		return ok && d == 0
	}, 5*time.Second, time.Millisecond)
	_, ok := MailboxDepth(sys.Address(), "other")
	require.False(t, ok)
	_, ok = MailboxDepth("elsewhere", "counted")
	require.False(t, ok, "another actor system's actor of the same name")
	require.NoError(t, sys.Root.StopFuture(pid).Wait())
	_, ok = MailboxDepth(sys.Address(), "counted")
	require.False(t, ok, "a stopped actor leaves the registry")
	mailboxes.mu.Lock()
	left := len(mailboxes.m)
	mailboxes.mu.Unlock()
	require.Zero(t, left)
}

// BenchmarkSpawn: what CountedMailbox adds to spawning and stopping an actor (the coordinator
// spawns one write job per batch).
func BenchmarkSpawn(b *testing.B) {
	sys := actor.NewActorSystem()
	b.Cleanup(sys.Shutdown)
	noop := func(actor.Context) {}
	for _, c := range []struct {
		name  string
		props *actor.Props
	}{
		{"plain", actor.PropsFromFunc(noop, actor.WithMailbox(actor.Unbounded()))},
		{"counted", actor.PropsFromFunc(noop, actor.WithMailbox(CountedMailbox(actor.Unbounded())))},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				pid := sys.Root.Spawn(c.props)
				sys.Root.Stop(pid)
			}
		})
	}
}
