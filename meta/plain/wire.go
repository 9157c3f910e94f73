package plain

import (
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Queries and their answers travel between nodes (a node without a replica of a database's plain
// shard asks one that has one): each is one BSON document {k: kind, q: body} after a version
// byte, as commands are. The formats are in meta/docs/plain.md ("Calls from other nodes").

const wireVersion byte = 1

// The query kinds.
const (
	kindGet     = "get"
	kindScan    = "scan"
	kindIndexes = "indexes"
	kindStats   = "stats"
	kindDBStats = "dbStats"
	kindApplied = "applied"
)

// wireValue is a bson.RawValue whose zero (no value) encodes too: type 0.
type wireValue struct {
	T int32  `bson:"t"`
	V []byte `bson:"v,omitempty"`
}

type wirePred struct {
	Path string      `bson:"path"`
	Eq   []wireValue `bson:"eq,omitempty"`
	Lo   wireValue   `bson:"lo"`
	Hi   wireValue   `bson:"hi"`
}

type wireQuery struct {
	K        string     `bson:"k"`
	NS       NS         `bson:"ns"`
	Key      []byte     `bson:"key,omitempty"`
	After    []byte     `bson:"after,omitempty"`
	Limit    int64      `bson:"limit,omitempty"`
	MaxBytes int64      `bson:"maxBytes,omitempty"`
	Preds    []wirePred `bson:"preds,omitempty"`
}

func toWire(v bson.RawValue) wireValue { return wireValue{T: int32(v.Type), V: v.Value} }

func fromWire(w wireValue) (bson.RawValue, error) {
	if w.T == 0 {
		return bson.RawValue{}, nil
	}
	v := bson.RawValue{Type: bson.Type(w.T), Value: w.V}
	if err := v.Validate(); err != nil {
		return bson.RawValue{}, fmt.Errorf("value of type %#x: %w", w.T, err)
	}
	return v, nil
}

// EncodeQuery frames a query (GetQuery, ScanQuery, IndexesQuery, StatsQuery, DBStatsQuery or
// AppliedQuery) for another node.
func EncodeQuery(q any) ([]byte, error) {
	var w wireQuery
	switch q := q.(type) {
	case GetQuery:
		w = wireQuery{K: kindGet, NS: q.NS, Key: q.Key}
	case ScanQuery:
		w = wireQuery{K: kindScan, NS: q.NS, After: q.After, Limit: int64(q.Limit), MaxBytes: int64(q.MaxBytes)}
		for _, p := range q.Preds {
			wp := wirePred{Path: p.Path, Lo: toWire(p.Lo), Hi: toWire(p.Hi)}
			for _, e := range p.Eq {
				wp.Eq = append(wp.Eq, toWire(e))
			}
			w.Preds = append(w.Preds, wp)
		}
	case IndexesQuery:
		w = wireQuery{K: kindIndexes, NS: q.NS}
	case StatsQuery:
		w = wireQuery{K: kindStats, NS: q.NS}
	case DBStatsQuery:
		w = wireQuery{K: kindDBStats, NS: NS{Tenant: q.Tenant, DB: q.DB}}
	case AppliedQuery:
		w = wireQuery{K: kindApplied}
	default:
		return nil, fmt.Errorf("encoding plain query: unknown query %T", q)
	}
	body, err := bson.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("encoding plain query: %w", err)
	}
	return append([]byte{wireVersion}, body...), nil
}

// DecodeQuery decodes what EncodeQuery framed.
func DecodeQuery(b []byte) (any, error) {
	var w wireQuery
	if len(b) == 0 || b[0] != wireVersion {
		return nil, errors.New("decoding plain query: bad version byte")
	}
	if err := bson.Unmarshal(b[1:], &w); err != nil {
		return nil, fmt.Errorf("decoding plain query: %w", err)
	}
	switch w.K {
	case kindGet:
		return GetQuery{NS: w.NS, Key: w.Key}, nil
	case kindScan:
		if w.Limit < 0 || w.MaxBytes < 0 || w.Limit > 1<<31 || w.MaxBytes > 1<<31 {
			return nil, fmt.Errorf("decoding plain query: scan limit %d, max bytes %d", w.Limit, w.MaxBytes)
		}
		q := ScanQuery{NS: w.NS, After: w.After, Limit: int(w.Limit), MaxBytes: int(w.MaxBytes)}
		for _, wp := range w.Preds {
			p := Pred{Path: wp.Path}
			var err error
			if p.Lo, err = fromWire(wp.Lo); err != nil {
				return nil, fmt.Errorf("decoding plain query: pred %s lo: %w", wp.Path, err)
			}
			if p.Hi, err = fromWire(wp.Hi); err != nil {
				return nil, fmt.Errorf("decoding plain query: pred %s hi: %w", wp.Path, err)
			}
			for _, e := range wp.Eq {
				v, err := fromWire(e)
				if err != nil || v.Type == 0 {
					return nil, fmt.Errorf("decoding plain query: pred %s eq: %v", wp.Path, err)
				}
				p.Eq = append(p.Eq, v)
			}
			q.Preds = append(q.Preds, p)
		}
		return q, nil
	case kindIndexes:
		return IndexesQuery{NS: w.NS}, nil
	case kindStats:
		return StatsQuery{NS: w.NS}, nil
	case kindDBStats:
		return DBStatsQuery{Tenant: w.NS.Tenant, DB: w.NS.DB}, nil
	case kindApplied:
		return AppliedQuery{}, nil
	}
	return nil, fmt.Errorf("decoding plain query: unknown kind %q", w.K)
}

type wireDoc struct {
	Key []byte `bson:"key"`
	Pos []byte `bson:"pos,omitempty"`
	Rev int64  `bson:"rev"`
	Doc []byte `bson:"doc"`
}

type wireAnswer struct {
	K       string           `bson:"k"`
	Found   bool             `bson:"found,omitempty"`
	Docs    []wireDoc        `bson:"docs,omitempty"`
	More    bool             `bson:"more,omitempty"`
	Index   string           `bson:"index,omitempty"`
	Indexes []IndexSpec      `bson:"indexes,omitempty"`
	Stats   Stats            `bson:"stats"`
	DBStats map[string]Stats `bson:"dbStats,omitempty"`
	Applied int64            `bson:"applied,omitempty"`
}

// EncodeAnswer frames the answer to a query (what Machine.Lookup returned for it).
func EncodeAnswer(v any) ([]byte, error) {
	var w wireAnswer
	switch v := v.(type) {
	case GetResult:
		w = wireAnswer{K: kindGet, Found: v.Found}
		if v.Found {
			w.Docs = []wireDoc{{Key: v.Doc.Key, Pos: v.Doc.Pos, Rev: int64(v.Doc.Rev), Doc: v.Doc.Doc}}
		}
	case ScanPage:
		w = wireAnswer{K: kindScan, More: v.More, Index: v.Index, Docs: make([]wireDoc, len(v.Docs))}
		for i, d := range v.Docs {
			w.Docs[i] = wireDoc{Key: d.Key, Pos: d.Pos, Rev: int64(d.Rev), Doc: d.Doc}
		}
	case []IndexSpec:
		w = wireAnswer{K: kindIndexes, Indexes: v}
	case Stats:
		w = wireAnswer{K: kindStats, Stats: v}
	case map[string]Stats:
		w = wireAnswer{K: kindDBStats, DBStats: v}
	case uint64:
		w = wireAnswer{K: kindApplied, Applied: int64(v)}
	default:
		return nil, fmt.Errorf("encoding plain answer: unknown answer %T", v)
	}
	body, err := bson.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("encoding plain answer: %w", err)
	}
	return append([]byte{wireVersion}, body...), nil
}

// DecodeAnswer decodes what EncodeAnswer framed, as the type Lookup returns.
func DecodeAnswer(b []byte) (any, error) {
	var w wireAnswer
	if len(b) == 0 || b[0] != wireVersion {
		return nil, errors.New("decoding plain answer: bad version byte")
	}
	if err := bson.Unmarshal(b[1:], &w); err != nil {
		return nil, fmt.Errorf("decoding plain answer: %w", err)
	}
	docs := make([]Doc, len(w.Docs))
	for i, d := range w.Docs {
		docs[i] = Doc{Key: d.Key, Pos: d.Pos, Rev: uint64(d.Rev), Doc: d.Doc}
	}
	switch w.K {
	case kindGet:
		if !w.Found {
			return GetResult{}, nil
		}
		if len(docs) != 1 {
			return nil, fmt.Errorf("decoding plain answer: get found %d documents", len(docs))
		}
		return GetResult{Doc: docs[0], Found: true}, nil
	case kindScan:
		return ScanPage{Docs: docs, More: w.More, Index: w.Index}, nil
	case kindIndexes:
		if w.Indexes == nil {
			w.Indexes = []IndexSpec{}
		}
		return w.Indexes, nil
	case kindStats:
		return w.Stats, nil
	case kindDBStats:
		if w.DBStats == nil {
			w.DBStats = map[string]Stats{}
		}
		return w.DBStats, nil
	case kindApplied:
		return uint64(w.Applied), nil
	}
	return nil, fmt.Errorf("decoding plain answer: unknown kind %q", w.K)
}
