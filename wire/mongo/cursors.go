package mongo

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"strconv"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

const (
	// defaultFirstBatch is MongoDB's first batch size when the client sets none.
	defaultFirstBatch = 101
	// maxBatchBytes bounds the documents of one reply so it stays under maxBsonObjectSize.
	maxBatchBytes = MaxBSONObjectSize - 64*1024
)

// cursor holds the rest of a result set between getMore calls: either materialized documents
// (sorted finds, aggregations, list commands) or a stream that produces them as they are fetched.
type cursor struct {
	id      int64
	ns      string // "db.collection"
	owner   string // the tenant that opened it: only its connections may use it
	docs    []bson.Raw
	stream  *docStream
	lastUse time.Time
	bytes   int64 // what it holds, counted against the registry's budget
}

// streamCursorBytes is what a streaming cursor is counted for: its producer runs at most
// streamBuffer documents and one scan slice ahead of the client.
const streamCursorBytes = 4 << 20

// size is the memory a cursor holds now.
func (c *cursor) size() int64 {
	if c.stream != nil {
		return streamCursorBytes
	}
	var n int64
	for _, d := range c.docs {
		n += int64(len(d)) + 24
	}
	return n
}

// close releases the cursor's stream, if any.
func (c *cursor) close() {
	if c.stream != nil {
		c.stream.close()
	}
}

// cursorRegistry holds the open cursors of all connections (drivers use pools, so a getMore may
// arrive on another connection than its find).
type cursorRegistry struct {
	mu     sync.Mutex
	m      map[int64]*cursor
	bytes  int64 // held by the cursors in m
	budget int64
}

func newCursorRegistry(budget int64) *cursorRegistry {
	r := &cursorRegistry{m: make(map[int64]*cursor), budget: budget}
	registries.Store(r, struct{}{})
	return r
}

// registries are the cursor registries of the servers of this process, for the cursor metrics.
var registries sync.Map // *cursorRegistry -> struct{}

// cursorTotals sums the open cursors and the memory they hold over every registry.
func cursorTotals() (open, held int64) {
	registries.Range(func(k, _ any) bool {
		r := k.(*cursorRegistry)
		open += int64(r.len())
		held += r.held()
		return true
	})
	return open, held
}

// add registers docs of tenant owner under a new random non-zero id.
func (r *cursorRegistry) add(owner, ns string, docs []bson.Raw) (int64, error) {
	return r.addCursor(&cursor{ns: ns, owner: owner, docs: docs})
}

// addCursor registers c under a new random non-zero id and returns it; ExceededMemoryLimit if the
// open cursors would hold more than the budget (the query's result is dropped, the others stay).
func (r *cursorRegistry) addCursor(c *cursor) (int64, error) {
	c.bytes = c.size()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bytes+c.bytes > r.budget {
		return 0, mongoerr.New(mongoerr.ExceededMemoryLimit,
			"open cursors would hold %d bytes, more than the cursor memory budget of %d: close cursors (or read them to the end) and retry", r.bytes+c.bytes, r.budget)
	}
	r.bytes += c.bytes
	for {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id := int64(binary.LittleEndian.Uint64(b[:]) &^ (1 << 63)) // positive, like mongod's
		if _, dup := r.m[id]; id == 0 || dup {
			continue
		}
		c.id, c.lastUse = id, time.Now()
		r.m[id] = c
		return id, nil
	}
}

// take removes a cursor for the duration of a getMore; put returns it.
func (r *cursorRegistry) take(id int64) (*cursor, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.m[id]
	if ok {
		delete(r.m, id)
		r.bytes -= c.bytes
	}
	return c, ok
}

// put returns a cursor taken for a getMore (never refused: it holds less than before).
func (r *cursorRegistry) put(c *cursor) {
	c.bytes = c.size()
	r.mu.Lock()
	defer r.mu.Unlock()
	c.lastUse = time.Now()
	r.m[c.id] = c
	r.bytes += c.bytes
}

// held is the memory the open cursors hold.
func (r *cursorRegistry) held() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bytes
}

// peek reports the namespace of an open cursor of tenant owner (another tenant's is not found).
func (r *cursorRegistry) peek(owner string, id int64) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.m[id]
	if !ok || c.owner != owner {
		return "", false
	}
	return c.ns, true
}

// kill closes a cursor of tenant owner and namespace ns; it reports whether it existed.
func (r *cursorRegistry) kill(owner, ns string, id int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.m[id]
	if !ok || c.ns != ns || c.owner != owner {
		return false
	}
	delete(r.m, id)
	r.bytes -= c.bytes
	go c.close()
	return true
}

// reap closes cursors unused since before and returns how many.
func (r *cursorRegistry) reap(before time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for id, c := range r.m {
		if c.lastUse.Before(before) {
			delete(r.m, id)
			r.bytes -= c.bytes
			go c.close()
			n++
		}
	}
	return n
}

// closeAll closes every cursor (server shutdown).
func (r *cursorRegistry) closeAll() {
	r.mu.Lock()
	cs := make([]*cursor, 0, len(r.m))
	for id, c := range r.m {
		cs = append(cs, c)
		delete(r.m, id)
	}
	r.bytes = 0
	r.mu.Unlock()
	registries.Delete(r)
	for _, c := range cs {
		c.close()
	}
}

// len is the number of open cursors.
func (r *cursorRegistry) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.m)
}

// splitBatch cuts the next batch off docs: at most limit documents (limit <= 0: no count limit)
// and maxBatchBytes, but always at least one document.
func splitBatch(docs []bson.Raw, limit int) (batch, rest []bson.Raw) {
	size := 0
	n := 0
	for n < len(docs) && (limit <= 0 || n < limit) {
		if n > 0 && size+len(docs[n]) > maxBatchBytes {
			break
		}
		size += len(docs[n])
		n++
	}
	return docs[:n], docs[n:]
}

// cursorReply builds {cursor: {<batchKey>: [...], id, ns}}.
func cursorReply(ns, batchKey string, id int64, batch []bson.Raw) *bsoncore.DocumentBuilder {
	// the array in one allocation of its final size (batches reach 16 MiB: growing by doubling
	// copied each one several times)
	size := 5
	for i, d := range batch {
		size += 2 + decimalLen(i) + len(d)
	}
	arr := make([]byte, 4, size)
	for i, d := range batch {
		arr = append(arr, byte(bson.TypeEmbeddedDocument))
		arr = strconv.AppendInt(arr, int64(i), 10)
		arr = append(arr, 0)
		arr = append(arr, d...)
	}
	arr = append(arr, 0)
	binary.LittleEndian.PutUint32(arr, uint32(len(arr)))
	cur := bsoncore.NewDocumentBuilder().
		AppendArray(batchKey, arr).
		AppendInt64("id", id).
		AppendString("ns", ns).
		Build()
	return bsoncore.NewDocumentBuilder().AppendDocument("cursor", cur)
}

// firstBatch sends the first batch of docs and keeps the rest in a cursor unless singleBatch.
// batchSize < 0 means the client set none.
func (s *Server) firstBatch(ctx context.Context, ns string, docs []bson.Raw, batchSize int64, singleBatch bool) (*bsoncore.DocumentBuilder, error) {
	limit := defaultFirstBatch
	if batchSize >= 0 {
		limit = int(min(batchSize, int64(len(docs)+1)))
	}
	var batch, rest []bson.Raw
	if limit == 0 {
		rest = docs
	} else {
		batch, rest = splitBatch(docs, limit)
	}
	var id int64
	if len(rest) > 0 && !singleBatch {
		var err error
		if id, err = s.cursors.add(meta.TenantOf(ctx), ns, rest); err != nil {
			return nil, err
		}
	}
	return cursorReply(ns, "firstBatch", id, batch), nil
}
