package mongo

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/meta/plain"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/index"
	"github.com/chronogo/chronogo/wire/mongo/tsdoc"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// memBackend is an in-memory Backend for the handler tests only: collections in a map and the
// documents of each in a slice. Real storage is tested by the integration tests.
type memBackend struct {
	mu    sync.Mutex
	colls map[string]*meta.Collection // "db.name"
	docs  map[string][]bson.Raw
	// failInsert makes Insert fail for batches containing a document with this _id (string)
	failInsert string
	// aggCalls and findCalls count Aggregate (group pushdown) and Find calls
	aggCalls, findCalls int
	plain               memPlain
}

func newMemBackend() *memBackend {
	return &memBackend{colls: map[string]*meta.Collection{}, docs: map[string][]bson.Raw{}}
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
		out = append(out, DatabaseInfo{Name: db, SizeOnDisk: size, Empty: size == 0})
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
			delete(m.plain.docs, k)
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
		if c.DB == db {
			cc := *c
			out = append(out, &cc)
		}
	}
	return out, nil
}

func (m *memBackend) DropCollection(_ context.Context, db, name string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := db + "." + name
	_, ok := m.colls[k]
	delete(m.colls, k)
	delete(m.docs, k)
	delete(m.plain.docs, k)
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

// memPlain is the plain collections of a memBackend: documents by key with a revision.
type memPlain struct {
	rev  uint64
	docs map[string]map[string]plain.Doc // "db.coll" -> key -> doc
}

func (m *memBackend) PlainWrite(_ context.Context, c *meta.Collection, items []plain.Item, ordered bool) (plain.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.plain.docs == nil {
		m.plain.docs = map[string]map[string]plain.Doc{}
	}
	ns := c.DB + "." + c.Name
	coll := m.plain.docs[ns]
	if coll == nil {
		coll = map[string]plain.Doc{}
		m.plain.docs[ns] = coll
	}
	m.plain.rev++
	res := plain.Result{Statuses: make([]plain.Status, len(items)), Revs: make([]uint64, len(items))}
	failed := false
	for i, it := range items {
		cur, found := coll[string(it.Key)]
		st := plain.StatusOK
		switch {
		case failed && ordered:
			st = plain.StatusSkipped
		case it.Mode == plain.ModeInsert && found:
			st = plain.StatusExists
		case (it.Mode == plain.ModeReplace || it.Mode == plain.ModeDelete) && !found:
			st = plain.StatusMissing
		case (it.Mode == plain.ModeReplace || it.Mode == plain.ModeDelete) && it.Rev != 0 && it.Rev != cur.Rev:
			st = plain.StatusConflict
		case it.Mode == plain.ModeDelete:
			delete(coll, string(it.Key))
		default:
			coll[string(it.Key)] = plain.Doc{Key: bytes.Clone(it.Key), Rev: m.plain.rev, Doc: bytes.Clone(it.Doc)}
			res.Revs[i] = m.plain.rev
		}
		res.Statuses[i] = st
		failed = failed || st != plain.StatusOK
	}
	return res, nil
}

func (m *memBackend) PlainScan(_ context.Context, c *meta.Collection, fn func(d *plain.Doc) error) error {
	m.mu.Lock()
	coll := m.plain.docs[c.DB+"."+c.Name]
	keys := make([]string, 0, len(coll))
	for k := range coll {
		keys = append(keys, k)
	}
	docs := make([]plain.Doc, 0, len(keys))
	slices.Sort(keys)
	for _, k := range keys {
		docs = append(docs, coll[k])
	}
	m.mu.Unlock()
	for i := range docs {
		if err := fn(&docs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (m *memBackend) DBStorage(_ context.Context, db string) (DBStorage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := DBStorage{Plain: map[string]PlainStats{}}
	for k, docs := range m.docs {
		if strings.HasPrefix(k, db+".") {
			for _, d := range docs {
				out.DiskBytes += int64(len(d))
			}
		}
	}
	for k, coll := range m.plain.docs {
		name, ok := strings.CutPrefix(k, db+".")
		if !ok || len(coll) == 0 {
			continue
		}
		st := PlainStats{Count: int64(len(coll))}
		for _, d := range coll {
			st.Bytes += int64(len(d.Doc))
		}
		out.Plain[name] = st
	}
	return out, nil
}

func (m *memBackend) PlainGet(_ context.Context, c *meta.Collection, key []byte) (plain.Doc, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.plain.docs[c.DB+"."+c.Name][string(key)]
	return d, ok, nil
}
