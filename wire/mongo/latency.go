package mongo

import (
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// opKind is how MongoDB's Top classes a command for opLatencies and latencyStats.
type opKind int

const (
	kindCommand opKind = iota
	kindRead
	kindWrite
)

// kindOf classes a command as mongod does (each command's ReadWriteType): finds, aggregates,
// counts, distincts and getMores read; inserts, updates, deletes and findAndModify write.
func kindOf(name string) opKind {
	switch name {
	case "find", "aggregate", "count", "distinct", "getMore":
		return kindRead
	case "insert", "update", "delete", "findAndModify", "findandmodify", "bulkWrite":
		return kindWrite
	}
	return kindCommand
}

// opLatency sums the latency (µs) and counts the operations of one kind.
type opLatency struct{ micros, ops atomic.Int64 }

// latencySet is {reads, writes, commands}.
type latencySet [3]opLatency

func (l *latencySet) add(k opKind, d time.Duration) {
	l[k].micros.Add(d.Microseconds())
	l[k].ops.Add(1)
}

// doc is MongoDB's shape: {reads: {latency, ops, queryableEncryptionLatencyMicros}, writes,
// commands, transactions}, latencies in microseconds.
func (l *latencySet) doc() bsoncore.Document {
	one := func(o *opLatency) bsoncore.Document {
		return bsoncore.NewDocumentBuilder().AppendInt64("latency", o.micros.Load()).AppendInt64("ops", o.ops.Load()).
			AppendInt64("queryableEncryptionLatencyMicros", 0).Build()
	}
	var none opLatency
	return bsoncore.NewDocumentBuilder().AppendDocument("reads", one(&l[kindRead])).
		AppendDocument("writes", one(&l[kindWrite])).AppendDocument("commands", one(&l[kindCommand])).
		AppendDocument("transactions", one(&none)).Build()
}

// maxLatencyNamespaces bounds the namespaces latencies are kept for: names come from clients,
// and a client asking about millions of collections must not grow the table without end.
const maxLatencyNamespaces = 10_000

// latencies are serverStatus.opLatencies and, per namespace, $collStats' latencyStats.
type latencies struct {
	global latencySet
	mu     sync.Mutex
	byNS   map[string]*latencySet
}

// record adds one command of req that took d.
func (l *latencies) record(req *request, d time.Duration) {
	k := kindOf(req.name)
	l.global.add(k, d)
	coll, ok := commandCollection(req)
	if !ok {
		return
	}
	ns := req.db + "." + coll
	l.mu.Lock()
	set := l.byNS[ns]
	if set == nil && len(l.byNS) < maxLatencyNamespaces {
		if l.byNS == nil {
			l.byNS = map[string]*latencySet{}
		}
		set = &latencySet{}
		l.byNS[ns] = set
	}
	l.mu.Unlock()
	if set != nil {
		set.add(k, d)
	}
}

// namespace returns the latencies of db.coll (zero when none were recorded).
func (l *latencies) namespace(ns string) *latencySet {
	l.mu.Lock()
	defer l.mu.Unlock()
	if set := l.byNS[ns]; set != nil {
		return set
	}
	return &latencySet{}
}

// forget drops the latencies of a dropped collection (or of every collection of db with coll "").
func (l *latencies) forget(db, coll string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ns := range l.byNS {
		if (coll != "" && ns == db+"."+coll) || (coll == "" && len(ns) > len(db) && ns[:len(db)+1] == db+".") {
			delete(l.byNS, ns)
		}
	}
}

// commandCollection is the collection a command names in its first element (getMore names it
// in "collection"), when it is a collection command.
func commandCollection(req *request) (string, bool) {
	if kindOf(req.name) == kindCommand && req.name != "collStats" && req.name != "listIndexes" {
		return "", false
	}
	field := req.name
	if req.name == "getMore" {
		field = "collection"
	}
	v, err := req.doc.LookupErr(field)
	if err != nil || v.Type != bson.TypeString {
		return "", false
	}
	name := v.StringValue()
	return name, name != ""
}

// OpTotals is one kind's total latency (µs) and operation count since the server started.
type OpTotals struct {
	LatencyMicros int64 `json:"latencyMicros"`
	Ops           int64 `json:"ops"`
}

// OpLatencies are serverStatus.opLatencies' reads, writes and commands (for the console).
func (s *Server) OpLatencies() (reads, writes, commands OpTotals) {
	one := func(o *opLatency) OpTotals { return OpTotals{LatencyMicros: o.micros.Load(), Ops: o.ops.Load()} }
	g := &s.lat.global
	return one(&g[kindRead]), one(&g[kindWrite]), one(&g[kindCommand])
}
