package plain

import (
	"errors"
	"fmt"
	"io"

	"github.com/cockroachdb/pebble"
)

// getter reads a key: the database, an indexed batch or a snapshot.
type getter interface {
	Get(key []byte) ([]byte, io.Closer, error)
}

// get returns a copy of the value at key, or nil and false.
func get(g getter, key []byte) ([]byte, bool, error) {
	v, closer, err := g.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer closer.Close()
	return append([]byte(nil), v...), true, nil
}

func readStats(g getter, ns NS) (Stats, error) {
	v, ok, err := get(g, collPrefix(spaceStats, ns))
	if err != nil || !ok {
		return Stats{}, err
	}
	s, ok := decodeStats(v)
	if !ok {
		return Stats{}, fmt.Errorf("stats of %s.%s: %d bytes", ns.DB, ns.Coll, len(v))
	}
	return s, nil
}

func writeStats(b *pebble.Batch, ns NS, s Stats) error {
	if s.Count == 0 {
		return b.Delete(collPrefix(spaceStats, ns), nil)
	}
	return b.Set(collPrefix(spaceStats, ns), encodeStats(s), nil)
}

// collSpaces are the key spaces a collection's data lives in.
var collSpaces = []byte{spaceDocs, spaceStats, spaceIndexSpecs, spaceIndex}

// apply runs one decoded command at Raft index idx into batch b. A returned error is a storage
// failure (the replica stops); everything about the command itself is in the Result.
func (m *Machine) apply(b *pebble.Batch, idx uint64, c *Command) (Result, error) {
	var op OpID
	copy(op[:], c.OpID)
	switch c.Op {
	case OpWrite:
		return m.applyWrite(b, idx, op, c)
	case OpDropCollection:
		st, err := readStats(b, c.NS)
		if err != nil {
			return Result{}, err
		}
		for _, space := range collSpaces {
			p := collPrefix(space, c.NS)
			if err := b.DeleteRange(p, prefixEnd(p), nil); err != nil {
				return Result{}, err
			}
		}
		return Result{Removed: st.Count}, nil
	case OpDropDatabase:
		removed := int64(0)
		p := dbPrefix(spaceStats, c.NS.Tenant, c.NS.DB)
		it := b.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
		for it.First(); it.Valid(); it.Next() {
			if s, ok := decodeStats(it.Value()); ok {
				removed += s.Count
			}
		}
		if err := it.Close(); err != nil {
			return Result{}, err
		}
		for _, space := range collSpaces {
			p := dbPrefix(space, c.NS.Tenant, c.NS.DB)
			if err := b.DeleteRange(p, prefixEnd(p), nil); err != nil {
				return Result{}, err
			}
		}
		return Result{Removed: removed}, nil
	case OpCreateIndexes:
		return createIndexes(b, c.NS, c.Indexes)
	case OpDropIndexes:
		return dropIndexes(b, c.NS, c.Names)
	case OpReplaceFrom:
		return replaceFrom(b, c.NS, c.From)
	}
	return Result{Code: CodeInvalid, Message: fmt.Sprintf("unknown op %q", c.Op)}, nil
}

// applyWrite applies the items of a write in order; a document written by this same op (a retried
// proposal) counts as written.
func (m *Machine) applyWrite(b *pebble.Batch, idx uint64, op OpID, c *Command) (Result, error) {
	st, err := readStats(b, c.NS)
	if err != nil {
		return Result{}, err
	}
	ixs, err := loadIndexes(b, c.NS)
	if err != nil {
		return Result{}, err
	}
	res := Result{Statuses: make([]Status, len(c.Items)), Revs: make([]uint64, len(c.Items))}
	failed := false
	for i := range c.Items {
		it := &c.Items[i]
		if failed && c.Ordered {
			res.Statuses[i] = StatusSkipped
			continue
		}
		status, rev, prob, err := m.applyItem(b, idx, op, c.NS, ixs, it, &st)
		if err != nil {
			return Result{}, err
		}
		if prob != nil {
			prob.Item = i
			res.Problems = append(res.Problems, *prob)
		}
		res.Statuses[i], res.Revs[i] = status, rev
		failed = failed || status != StatusOK
	}
	return res, writeStats(b, c.NS, st)
}

// applyItem applies one write item and maintains the collection's indexes.
func (m *Machine) applyItem(b *pebble.Batch, idx uint64, op OpID, ns NS, ixs []compiledIndex, it *Item, st *Stats) (Status, uint64, *Problem, error) {
	key := docKey(ns, it.Key)
	cur, found, err := get(b, key)
	if err != nil {
		return 0, 0, nil, err
	}
	var curRev uint64
	var curOp OpID
	var curDoc []byte
	if found {
		var ok bool
		if curRev, curOp, curDoc, ok = decodeValue(cur); !ok {
			return 0, 0, nil, fmt.Errorf("document value of %d bytes at %x", len(cur), key)
		}
		if curOp == op && curRev != idx && it.Mode != ModeDelete {
			return StatusOK, curRev, nil, nil // this op wrote it at an earlier index: a retried proposal
		}
	}
	switch it.Mode {
	case ModeInsert:
		if found {
			return StatusExists, 0, nil, nil
		}
	case ModeReplace:
		if !found {
			return StatusMissing, 0, nil, nil
		}
		if it.Rev != 0 && it.Rev != curRev {
			return StatusConflict, 0, nil, nil
		}
	case ModeDelete:
		if !found {
			return StatusMissing, 0, nil, nil
		}
		if it.Rev != 0 && it.Rev != curRev {
			return StatusConflict, 0, nil, nil
		}
		if _, _, err := reindex(b, ixs, it.Key, curDoc, nil); err != nil {
			return 0, 0, nil, err
		}
		st.Count--
		st.Bytes -= int64(len(curDoc))
		return StatusOK, 0, nil, b.Delete(key, nil)
	}
	next := *st
	if !found {
		next.Count++
	}
	next.Bytes += int64(len(it.Doc)) - int64(len(curDoc))
	if next.Count > m.limits.MaxDocs || (next.Bytes > m.limits.MaxBytes && next.Bytes > st.Bytes) {
		return StatusFull, 0, nil, nil
	}
	if status, prob, err := reindex(b, ixs, it.Key, curDoc, it.Doc); err != nil || status != StatusOK {
		return status, 0, prob, err
	}
	*st = next
	return StatusOK, idx, nil, b.Set(key, encodeValue(idx, op, it.Doc), nil)
}
