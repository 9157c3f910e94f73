package mongo

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/sirupsen/logrus"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// streamBuffer is how many documents a streaming cursor's producer may run ahead of the client.
const streamBuffer = 256

// docStream produces a query's documents in a goroutine while the client fetches batches, so a
// find without a sort never holds its whole result in memory. The goroutine lives as long as the
// cursor: it ends when the result is exhausted or the stream is closed (cursor exhausted, killed,
// reaped, or the server shut down).
type docStream struct {
	ch     chan bson.Raw
	cancel context.CancelFunc
	done   chan struct{} // closed when the producer returned; err is set before
	err    error
	once   sync.Once
}

// startStream runs produce in a goroutine; produce calls emit for each document (emit returns an
// error once the stream is closed).
func startStream(parent context.Context, log logrus.FieldLogger, produce func(ctx context.Context, emit func(bson.Raw) error) error) *docStream {
	ctx, cancel := context.WithCancel(parent)
	st := &docStream{ch: make(chan bson.Raw, streamBuffer), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(st.done)
		defer close(st.ch)
		defer func() {
			// the producer runs outside the command handler: a panic becomes the query's error
			if p := recover(); p != nil {
				log.WithFields(logrus.Fields{"panic": fmt.Sprint(p), "stack": string(debug.Stack())}).Error("query stream panicked")
				st.err = mongoerr.New(mongoerr.InternalError, "internal error in query: %v", p)
			}
		}()
		st.err = produce(ctx, func(d bson.Raw) error {
			select {
			case st.ch <- d:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if ctx.Err() != nil {
			st.err = nil // closed by the consumer: not a query error
		}
	}()
	return st
}

// next returns up to limit documents (limit <= 0: no count limit) within maxBatchBytes, blocking
// until they are there or the result ends; exhausted reports that nothing follows.
func (st *docStream) next(limit int) (batch []bson.Raw, exhausted bool, err error) {
	size := 0
	for limit <= 0 || len(batch) < limit {
		d, ok := <-st.ch
		if !ok {
			<-st.done
			return batch, true, st.err
		}
		batch = append(batch, d)
		size += len(d)
		if size >= maxBatchBytes-len(d) {
			break
		}
	}
	// exhausted only if the producer is known to be done and nothing is buffered
	select {
	case <-st.done:
		if len(st.ch) == 0 {
			return batch, true, st.err
		}
	default:
	}
	return batch, false, nil
}

// close stops the producer and waits for it.
func (st *docStream) close() {
	st.once.Do(func() {
		st.cancel()
		for range st.ch { // unblock and drain
		}
		<-st.done
	})
}

// streamReply answers a command with the first batch of st and keeps the rest in a cursor
// (unless singleBatch or the stream ended). batchSize < 0 means the client set none.
func (s *Server) streamReply(ctx context.Context, ns string, st *docStream, batchSize int64, singleBatch bool) (*bsoncore.DocumentBuilder, error) {
	first := defaultFirstBatch
	if batchSize >= 0 {
		first = int(batchSize)
	}
	var batch []bson.Raw
	exhausted := false
	if first > 0 || batchSize < 0 {
		var err error
		stop := context.AfterFunc(ctx, st.cancel) // killOp of the command stops the query
		batch, exhausted, err = st.next(first)
		stop()
		if err != nil {
			st.close()
			return nil, err
		}
	}
	var id int64
	if exhausted || singleBatch {
		st.close()
	} else {
		var err error
		if id, err = s.cursors.addCursor(&cursor{ns: ns, owner: meta.TenantOf(ctx), stream: st}); err != nil {
			st.close()
			return nil, err
		}
	}
	return cursorReply(ns, "firstBatch", id, batch), nil
}
