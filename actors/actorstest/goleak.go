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
