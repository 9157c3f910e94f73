package plain

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble"
)

// GetQuery reads the document at Key of NS.
type GetQuery struct {
	NS  NS
	Key []byte
}

// Doc is a stored document with its key and revision.
type Doc struct {
	Key []byte
	Pos []byte // where a scan resumes after this document (ScanQuery.After)
	Rev uint64
	Doc []byte
}

// GetResult answers a GetQuery.
type GetResult struct {
	Doc   Doc
	Found bool
}

// ScanQuery reads the documents of NS after the position After (nil: from the first), at most
// Limit documents or about MaxBytes of them (at least one). Without Preds, or when no index
// helps them, it reads every document in key order; otherwise it reads an index's entries in
// their order, where a multikey document may come more than once.
type ScanQuery struct {
	NS       NS
	After    []byte
	Limit    int
	MaxBytes int
	Preds    []Pred
}

// ScanPage answers a ScanQuery; More says documents follow the last one. Index names the index
// read ("" for a collection scan).
type ScanPage struct {
	Docs  []Doc
	More  bool
	Index string
}

// IndexesQuery lists the indexes of NS (answer: []IndexSpec, by name).
type IndexesQuery struct{ NS NS }

// StatsQuery reads a collection's count and bytes.
type StatsQuery struct{ NS NS }

// DBStatsQuery reads the stats of every collection of a database that holds documents.
type DBStatsQuery struct{ Tenant, DB string }

// AppliedQuery reads the last applied index.
type AppliedQuery struct{}

// Lookup answers the queries above.
func (m *Machine) Lookup(q any) (any, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.db == nil {
		return nil, errors.New("plain store is closed")
	}
	switch q := q.(type) {
	case GetQuery:
		v, ok, err := get(m.db, docKey(q.NS, q.Key))
		if err != nil || !ok {
			return GetResult{}, err
		}
		rev, _, doc, ok := decodeValue(v)
		if !ok {
			return nil, fmt.Errorf("document value of %d bytes", len(v))
		}
		return GetResult{Doc: Doc{Key: q.Key, Rev: rev, Doc: doc}, Found: true}, nil
	case ScanQuery:
		if len(q.Preds) > 0 {
			ixs, err := loadIndexes(m.db, q.NS)
			if err != nil {
				return nil, err
			}
			if ix, ranges := planIndex(ixs, q.Preds); ix != nil {
				return m.indexScan(q, ix, ranges)
			}
		}
		return m.scan(q)
	case IndexesQuery:
		ixs, err := loadIndexes(m.db, q.NS)
		if err != nil {
			return nil, err
		}
		out := make([]IndexSpec, len(ixs))
		for i := range ixs {
			out[i] = ixs[i].spec
		}
		return out, nil
	case StatsQuery:
		return readStats(m.db, q.NS)
	case DBStatsQuery:
		out := map[string]Stats{}
		p := dbPrefix(spaceStats, q.Tenant, q.DB)
		it := m.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
		for it.First(); it.Valid(); it.Next() {
			name, ok := readLP(it.Key()[len(p):])
			s, ok2 := decodeStats(it.Value())
			if ok && ok2 {
				out[name] = s
			}
		}
		return out, it.Close()
	case AppliedQuery:
		return m.applied, nil
	}
	return nil, fmt.Errorf("plain store: unknown query %T", q)
}

func (m *Machine) scan(q ScanQuery) (ScanPage, error) {
	p := collPrefix(spaceDocs, q.NS)
	lower := p
	if q.After != nil {
		lower = append(append([]byte(nil), p...), q.After...)
		lower = append(lower, 0) // the smallest key after After
	}
	it := m.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(p)})
	var page ScanPage
	size := 0
	for it.First(); it.Valid(); it.Next() {
		if len(page.Docs) > 0 && ((q.Limit > 0 && len(page.Docs) >= q.Limit) || (q.MaxBytes > 0 && size >= q.MaxBytes)) {
			page.More = true
			break
		}
		rev, _, doc, ok := decodeValue(it.Value())
		if !ok {
			_ = it.Close()
			return ScanPage{}, fmt.Errorf("document value of %d bytes", len(it.Value()))
		}
		k := it.Key()[len(p):]
		k = append([]byte(nil), k...)
		page.Docs = append(page.Docs, Doc{Key: k, Pos: k, Rev: rev, Doc: append([]byte(nil), doc...)})
		size += len(doc)
	}
	return page, it.Close()
}

// readLP reads a uvarint-length-prefixed string that is all of b.
func readLP(b []byte) (string, bool) {
	n, k := uvarint(b)
	if k <= 0 || uint64(len(b)-k) != n {
		return "", false
	}
	return string(b[k:]), true
}
