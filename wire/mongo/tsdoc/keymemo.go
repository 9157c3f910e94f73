package tsdoc

import (
	"sync"
)

// keyMemo remembers the encoded series key of (collection name, metaField, meta value): a pure
// function of them, so one memo serves every command and connection. Insert commands each build
// their own batch, and without it every command derived the key of each series it met again
// (flatten, normalize, marshal: about a tenth of a driver insert's server time). It holds at most
// keyMemoBytes of keys and values and starts over when full.
type keyMemo struct {
	mu    sync.RWMutex
	m     map[string][]byte
	bytes int
}

const keyMemoBytes = 8 << 20

var seriesKeys = keyMemo{m: map[string][]byte{}}

// memoKey appends the memo key of a meta value to dst.
func memoKey(dst []byte, name, metaField string, typ byte, meta []byte) []byte {
	dst = append(dst, name...)
	dst = append(dst, 0)
	dst = append(dst, metaField...)
	dst = append(dst, 0, typ)
	return append(dst, meta...)
}

func (m *keyMemo) get(k []byte) ([]byte, bool) {
	m.mu.RLock()
	v, ok := m.m[string(k)]
	m.mu.RUnlock()
	return v, ok
}

// put stores a copy of key under k.
func (m *keyMemo) put(k, key []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.m[string(k)]; ok {
		return
	}
	if m.bytes+len(k)+len(key) > keyMemoBytes {
		clear(m.m)
		m.bytes = 0
	}
	m.m[string(k)] = append([]byte(nil), key...)
	m.bytes += len(k) + len(key)
}
