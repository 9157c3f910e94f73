package httpapi

import (
	"bytes"
	"sync"
)

// Request bodies are read into pooled buffers: a loader's steady stream of /write requests
// otherwise allocates (and the collector clears) a fresh body of megabytes for each one.
// Buffers grow only as bytes arrive (never to a Content-Length the client merely announced).
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody is the largest buffer kept for reuse; a rare huge body is left to the collector.
const maxPooledBody = 8 << 20

func getBodyBuffer() *bytes.Buffer { return bodyBuffers.Get().(*bytes.Buffer) }

func putBodyBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledBody {
		return
	}
	b.Reset()
	bodyBuffers.Put(b)
}
