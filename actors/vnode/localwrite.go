package vnode

import (
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage"
)

// LocalWrite is a WriteBatch from a coordinator on the same node: the batch travels as a pointer
// instead of its encoding, saving an encode, lz4 round trip and decode per write. Header is the
// WriteBatch without its payload (routing and version). Local only: never sent across nodes.
// The batch must not be modified after it is sent.
type LocalWrite struct {
	Header *messages.WriteBatch
	Batch  *storage.Batch
}
