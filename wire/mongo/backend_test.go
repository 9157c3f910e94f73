package mongo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/meta/plain"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/index"
	"github.com/chronogo/chronogo/wire/mongo/tsdoc"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// memBackend is a Backend for the handler tests only: collections in a map, the documents of each
// time-series collection in a slice, plain collections in the real plain store. Real storage is
// tested by the integration tests.
type memBackend struct {
	mu       sync.Mutex
	replaced int                         // ReplaceCollection calls
	colls    map[string]*meta.Collection // "db.name"
	docs     map[string][]bson.Raw
	// failInsert makes Insert fail for batches containing a document with this _id (string)
	failInsert string
	// aggCalls and findCalls count Aggregate (group pushdown) and Find calls
	aggCalls, findCalls int
	valueFields         []string // of the last Aggregate
	plain               memPlain
	consistency         map[string]string // db -> default write level
}

func newMemBackend(t testing.TB) *memBackend {
	m := &memBackend{colls: map[string]*meta.Collection{}, docs: map[string][]bson.Raw{}}
	t.Cleanup(func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.plain.m != nil {
			require.NoError(t, m.plain.m.Close())
		}
	})
	return m
}

func (m *memBackend) ListDatabases(context.Context) ([]DatabaseInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[string]int64{}
	for k := range m.colls {
		db, _, _ := strings.Cut(k, ".")
		seen[db] += int64(len(m.docs[k])) * 100
	}
	var out []DatabaseInfo
	for db, size := range seen {
		out = append(out, DatabaseInfo{Name: db, SizeOnDisk: size, Empty: size == 0, Consistency: m.consistency[db]})
	}
	return out, nil
}

func (m *memBackend) DropDatabase(_ context.Context, db string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.colls {
		if strings.HasPrefix(k, db+".") {
			delete(m.colls, k)
			delete(m.docs, k)
		}
	}
	if m.plain.m != nil {
		if _, err := m.plainPropose(plain.Command{Op: plain.OpDropDatabase, NS: plain.NS{DB: db}}); err != nil {
			return err
		}
	}
	return nil
}

func (m *memBackend) CreateCollection(_ context.Context, c *meta.Collection) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := c.DB + "." + c.Name
	if old, ok := m.colls[k]; ok {
		a, b := *old, *c
		a.CreatedAt, b.CreatedAt, a.Indexes, b.Indexes = 0, 0, nil, nil
		if reflect.DeepEqual(a, b) {
			return nil
		}
		return mongoerr.New(mongoerr.NamespaceExists, "Collection %s already exists.", k)
	}
	cc := *c
	m.colls[k] = &cc
	return nil
}

func (m *memBackend) Collection(_ context.Context, db, name string) (*meta.Collection, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.colls[db+"."+name]
	if !ok {
		return nil, false, nil
	}
	cc := *c
	return &cc, true, nil
}

func (m *memBackend) ListCollections(_ context.Context, db string) ([]*meta.Collection, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*meta.Collection
	for _, c := range m.colls {
		if _, hidden := meta.HiddenKind(c.Name); c.DB == db && !hidden {
			cc := *c
			out = append(out, &cc)
		}
	}
	return out, nil
}

// ReplaceCollection moves staging into target's place in one step, keeping target's indexes.
func (m *memBackend) ReplaceCollection(_ context.Context, db, target, staging string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	from, ok := m.colls[db+"."+staging]
	if !ok {
		return mongoerr.New(mongoerr.NamespaceNotFound, "staging collection %s is gone", staging)
	}
	next := *from
	next.Name = target
	if old, ok := m.colls[db+"."+target]; ok {
		next.Indexes = old.Indexes
	}
	m.colls[db+"."+target], m.docs[db+"."+target] = &next, m.docs[db+"."+staging]
	delete(m.colls, db+"."+staging)
	delete(m.docs, db+"."+staging)
	m.replaced++
	return nil
}

func (m *memBackend) DropCollection(_ context.Context, db, name string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := db + "." + name
	_, ok := m.colls[k]
	delete(m.colls, k)
	delete(m.docs, k)
	if m.plain.m != nil {
		if _, err := m.plainPropose(plain.Command{Op: plain.OpDropCollection, NS: plain.NS{DB: db, Coll: name}}); err != nil {
			return ok, err
		}
	}
	return ok, nil
}

func (m *memBackend) UpdateCollection(_ context.Context, c *meta.Collection) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := c.DB + "." + c.Name
	if _, ok := m.colls[k]; !ok {
		return mongoerr.New(mongoerr.NamespaceNotFound, "ns does not exist: %s", k)
	}
	cc := *c
	m.colls[k] = &cc
	return nil
}

func (m *memBackend) Insert(_ context.Context, c *meta.Collection, docs []bson.Raw) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := c.DB + "." + c.Name
	for _, d := range docs {
		if id, ok := d.Lookup("_id").StringValueOK(); ok && m.failInsert != "" && id == m.failInsert {
			return mongoerr.New(mongoerr.WriteConflict, "injected failure")
		}
	}
	for _, d := range docs {
		m.docs[k] = append(m.docs[k], bson.Raw(bytes.Clone(d)))
	}
	return nil
}

func (m *memBackend) Find(_ context.Context, c *meta.Collection, p *Pushdown, fn func(bson.Raw) error) error {
	m.mu.Lock()
	m.findCalls++
	m.mu.Unlock()
	return m.find(c, p, fn)
}

func (m *memBackend) find(c *meta.Collection, p *Pushdown, fn func(bson.Raw) error) error {
	m.mu.Lock()
	docs := append([]bson.Raw(nil), m.docs[c.DB+"."+c.Name]...)
	m.mu.Unlock()
	for _, d := range docs {
		if !pushdownMatches(c, p, d) {
			continue
		}
		if err := fn(d); err != nil {
			return err
		}
	}
	return nil
}

func (m *memBackend) Delete(_ context.Context, c *meta.Collection, p *Pushdown) (int64, error) {
	if !p.Exact {
		return 0, mongoerr.New(mongoerr.InternalError, "Delete needs an exact pushdown")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := c.DB + "." + c.Name
	var keep []bson.Raw
	for _, d := range m.docs[k] {
		if !pushdownMatches(c, p, d) {
			keep = append(keep, d)
		}
	}
	n := int64(len(m.docs[k]) - len(keep))
	m.docs[k] = keep
	return n, nil
}

// UpdateMeta applies upd to the meta value of every matching document (rebuilding the document
// with the new meta value last).
func (m *memBackend) UpdateMeta(_ context.Context, c *meta.Collection, p *Pushdown, upd *storage.TagUpdate) (int64, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := c.DB + "." + c.Name
	var matched, modified int64
	for i, d := range m.docs[k] {
		if !pushdownMatches(c, p, d) {
			continue
		}
		matched++
		key := storage.SeriesKey{Table: "x"}
		if v, err := d.LookupErr(c.MetaField); err == nil {
			key.Tags, _ = tsdoc.FlattenMeta(nil, c.MetaField, v)
		}
		_ = key.Normalize()
		nk, changed, err := upd.Apply(key)
		if err != nil {
			var pe *storage.PathConflictError
			if errors.As(err, &pe) {
				return matched - 1, modified, mongoerr.New(mongoerr.PathNotViable, "%v", err)
			}
			return matched - 1, modified, err
		}
		if !changed {
			continue
		}
		modified++
		b := bsoncore.NewDocumentBuilder()
		elems, _ := d.Elements()
		for _, e := range elems {
			if e.Key() != c.MetaField {
				b.AppendValue(e.Key(), bsoncore.Value{Type: bsoncore.Type(e.Value().Type), Data: e.Value().Value})
			}
		}
		if len(nk.Tags) > 0 {
			mv, err := tsdoc.MetaValue(c.MetaField, nk.Tags)
			if err != nil {
				return matched, modified, err
			}
			b.AppendValue(c.MetaField, bsoncore.Value{Type: bsoncore.Type(mv.Type), Data: mv.Value})
		}
		m.docs[k][i] = bson.Raw(b.Build())
	}
	return matched, modified, nil
}

func (m *memBackend) count(db, name string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.docs[db+"."+name])
}

// pushdownMatches evaluates a pushdown on one document, as the storage engine would on series.
func pushdownMatches(c *meta.Collection, p *Pushdown, d bson.Raw) bool {
	t := d.Lookup(c.TimeField).DateTime()
	if t < p.MinTime || t > p.MaxTime {
		return false
	}
	if p.Meta == nil {
		return true
	}
	var key storage.SeriesKey
	if c.MetaField != "" {
		if v, err := d.LookupErr(c.MetaField); err == nil {
			key.Tags, _ = tsdoc.FlattenMeta(nil, c.MetaField, v)
		}
	}
	return index.Matches(p.Meta, &key)
}

// memPlain is the plain collections of a memBackend: the real plain-shard state machine
// (meta/plain) in a temporary directory, with commands applied in order as Raft would.
type memPlain struct {
	m   *plain.Machine
	idx uint64
}

// plainMachine opens the backend's plain store on first use (m.mu held).
func (m *memBackend) plainMachine() *plain.Machine {
	if m.plain.m == nil {
		dir, err := os.MkdirTemp(testTempDir, "plain-")
		if err != nil {
			panic(err)
		}
		m.plain.m = plain.NewMachine(dir, plain.DefaultLimits)
		if _, err := m.plain.m.Open(nil); err != nil {
			panic(err)
		}
	}
	return m.plain.m
}

// plainPropose applies one command to the plain store (m.mu held).
func (m *memBackend) plainPropose(cmd plain.Command) (plain.Result, error) {
	id := plain.NewOpID()
	cmd.OpID = id[:]
	b, err := plain.EncodeCommand(cmd)
	if err != nil {
		return plain.Result{}, err
	}
	m.plain.idx++
	out, err := m.plainMachine().Update([]sm.Entry{{Index: m.plain.idx, Cmd: b}})
	if err != nil {
		return plain.Result{}, err
	}
	res, err := plain.DecodeResult(out[0].Result.Data)
	if err == nil && res.Code != plain.CodeOK {
		err = fmt.Errorf("plain %s: %s", cmd.Op, res.Message)
	}
	return res, err
}

func memNS(c *meta.Collection) plain.NS { return plain.NS{DB: c.DB, Coll: c.Name} }

func (m *memBackend) PlainWrite(_ context.Context, c *meta.Collection, items []plain.Item, ordered bool) (plain.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.plainPropose(plain.Command{Op: plain.OpWrite, NS: memNS(c), Items: items, Ordered: ordered})
}

func (m *memBackend) PlainAdmin(_ context.Context, c *meta.Collection, cmd plain.Command) (plain.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cmd.NS = memNS(c)
	return m.plainPropose(cmd)
}

// plainRead runs a query on the plain store.
func (m *memBackend) plainRead(q any) (any, error) {
	m.mu.Lock()
	mach := m.plainMachine()
	m.mu.Unlock()
	return mach.Lookup(q)
}

func (m *memBackend) PlainScan(_ context.Context, c *meta.Collection, preds []plain.Pred, fn func(index string, d *plain.Doc) error) (string, error) {
	q := plain.ScanQuery{NS: memNS(c), Limit: 7, Preds: preds} // small pages: paging is exercised
	for {
		v, err := m.plainRead(q)
		if err != nil {
			return "", err
		}
		page := v.(plain.ScanPage)
		for i := range page.Docs {
			if err := fn(page.Index, &page.Docs[i]); err != nil {
				return page.Index, err
			}
		}
		if !page.More {
			return page.Index, nil
		}
		q.After = page.Docs[len(page.Docs)-1].Pos
	}
}

func (m *memBackend) SetDatabaseConsistency(_ context.Context, db, level string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	found := false
	for k := range m.colls {
		found = found || strings.HasPrefix(k, db+".")
	}
	if !found {
		return mongoerr.New(mongoerr.NamespaceNotFound, "database %s does not exist", db)
	}
	if m.consistency == nil {
		m.consistency = map[string]string{}
	}
	m.consistency[db] = level
	return nil
}

func (m *memBackend) DBStorage(_ context.Context, db string) (DBStorage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := DBStorage{Plain: map[string]PlainStats{}, Consistency: m.consistency[db], ReplicationFactor: 1}
	for k, docs := range m.docs {
		if strings.HasPrefix(k, db+".") {
			for _, d := range docs {
				out.DiskBytes += int64(len(d))
			}
		}
	}
	m.mu.Unlock()
	v, err := m.plainRead(plain.DBStatsQuery{DB: db})
	m.mu.Lock()
	if err != nil {
		return out, err
	}
	for name, st := range v.(map[string]plain.Stats) {
		out.Plain[name] = PlainStats{Count: st.Count, Bytes: st.Bytes}
	}
	return out, nil
}

func (m *memBackend) PlainGet(_ context.Context, c *meta.Collection, key []byte) (plain.Doc, bool, error) {
	v, err := m.plainRead(plain.GetQuery{NS: memNS(c), Key: key})
	if err != nil {
		return plain.Doc{}, false, err
	}
	r := v.(plain.GetResult)
	return r.Doc, r.Found, nil
}

// PeerOps: the in-memory backend is a single node.
func (m *memBackend) PeerOps(context.Context, string, bool) []NodeOps { return nil }

// KillPeerOp: the in-memory backend has no peers.
func (m *memBackend) KillPeerOp(context.Context, string, int64, string, bool) (bool, error) {
	return false, nil
}
