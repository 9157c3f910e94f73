package actors

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"
)

// Await waits for a request's answer, or for ctx to end (the future's own timeout ends it too).
func Await(ctx context.Context, f *actor.Future) (any, error) {
	type answer struct {
		res any
		err error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := f.Result()
		done <- answer{res, err}
	}()
	select {
	case a := <-done:
		return a.res, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
