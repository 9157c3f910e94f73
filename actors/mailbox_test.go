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
}
