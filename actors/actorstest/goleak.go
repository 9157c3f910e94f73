package actorstest

import "go.uber.org/goleak"

// ProtoactorGoroutines are goleak options for protoactor's known background goroutines that may
// outlive an ActorSystem briefly:
//   - the dead-letter log throttle (actor/throttler.go) sleeps for DeadLetterThrottleInterval (1 s)
//     after the first dead letter, then ends.
func ProtoactorGoroutines() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
	}
}

// RemoteGoroutines are goleak options for the gRPC client connections protoactor remote leaks when
// it cannot reach a peer: at the pinned version, endpoint_writer.go initializeInternal dials, fails
// to open the stream and retries without closing the connection, which then keeps reconnecting in
// the background. Tests that stop a node while others still send to it need them.
func RemoteGoroutines() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreTopFunction("google.golang.org/grpc.(*addrConn).resetTransport"),
		goleak.IgnoreTopFunction("google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run"),
	}
}
