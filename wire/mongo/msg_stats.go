package mongo

import (
	"context"
	"math"
	"os"
	"syscall"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongo/mql"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// DBStorage is what a database takes: its time-series data on this node's vnodes (the whole
// database on a standalone server; a cluster node sees its own replicas) and its plain collections.
type DBStorage struct {
	DiskBytes, CacheBytes int64  // time-series data on disk and in memcaches
	Series                uint64 // series of the database's vnodes
	Plain                 map[string]PlainStats
	Consistency           string // the default write level (any, one, quorum, all); "" if unknown
	ReplicationFactor     int
}

// PlainStats are a plain collection's document count and bytes.
type PlainStats struct{ Count, Bytes int64 }

// collFigures are one collection's statistics.
type collFigures struct {
	count, size, storage int64
	indexes              int
}

// scaleOf reads the scale argument of dbStats and collStats (1 when absent).
func scaleOf(doc bson.Raw, cmd string) (int64, error) {
	v, ok := lookup(doc, "scale")
	if !ok {
		return 1, nil
	}
	n, isNum := asInt64(v)
	if !isNum {
		return 0, typeErr(cmd+".scale", v.Type, numberTypes)
	}
	if n < 1 {
		return 0, mongoerr.New(mongoerr.BadValue, "Scale factor must be greater than zero")
	}
	return n, nil
}

// countDocuments counts a collection's documents: a plain collection's from its shard's count, a
// time series' from block metadata through the group pushdown (a scan when it cannot).
func (s *Server) countDocuments(ctx context.Context, c *meta.Collection, st *DBStorage) (int64, error) {
	if c.Plain() {
		return st.Plain[c.Name].Count, nil
	}
	stages := []bson.Raw{bson.Raw(bsoncore.NewDocumentBuilder().AppendDocument("$group", bsoncore.NewDocumentBuilder().
		AppendNull("_id").AppendDocument("n", bsoncore.NewDocumentBuilder().AppendInt32("$sum", 1).Build()).Build()).Build())}
	opts := mql.PipelineOptions{Now: time.Now(), TimeField: c.TimeField, MetaField: c.MetaField}
	var n int64
	count := func(d bson.Raw) error {
		v := d.Lookup("n")
		n, _ = asInt64(v)
		return nil
	}
	if plan := mql.PlanGroupPushdown(stages, opts); plan != nil {
		done, err := s.aggregatePushdown(ctx, c, plan, count)
		if err != nil || done {
			return n, err
		}
	}
	n = 0
	err := s.scan(ctx, c, nil, func(bson.Raw) error { n++; return nil })
	return n, err
}

// figures computes a collection's statistics. A time-series collection's bytes are its share, by
// documents, of its database's time-series bytes (storage keeps them per database).
func (s *Server) figures(ctx context.Context, c *meta.Collection, st *DBStorage, tsDocs int64) (collFigures, error) {
	n, err := s.countDocuments(ctx, c, st)
	if err != nil {
		return collFigures{}, err
	}
	f := collFigures{count: n, indexes: indexCount(c)}
	if c.Plain() {
		f.size, f.storage = st.Plain[c.Name].Bytes, st.Plain[c.Name].Bytes
		return f, nil
	}
	if tsDocs > 0 {
		f.storage = int64(float64(st.DiskBytes) * float64(n) / float64(tsDocs))
		f.size = int64(float64(st.DiskBytes+st.CacheBytes) * float64(n) / float64(tsDocs))
	}
	return f, nil
}

// dbFigures are the figures of every collection of db, and the database's storage.
func (s *Server) dbFigures(ctx context.Context, db string) ([]*meta.Collection, []collFigures, DBStorage, error) {
	colls, err := s.b.ListCollections(ctx, db)
	if err != nil {
		return nil, nil, DBStorage{}, err
	}
	st, err := s.b.DBStorage(ctx, db)
	if err != nil {
		return nil, nil, DBStorage{}, err
	}
	counts := make([]int64, len(colls))
	var tsDocs int64
	for i, c := range colls {
		if counts[i], err = s.countDocuments(ctx, c, &st); err != nil {
			return nil, nil, st, err
		}
		if !c.Plain() {
			tsDocs += counts[i]
		}
	}
	out := make([]collFigures, len(colls))
	for i, c := range colls {
		if out[i], err = s.figures(ctx, c, &st, tsDocs); err != nil {
			return nil, nil, st, err
		}
	}
	return colls, out, st, nil
}

// msgDBStats answers dbStats: collections, documents and bytes of the database.
func msgDBStats(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	scale, err := scaleOf(req.doc, "dbStats")
	if err != nil {
		return nil, err
	}
	colls, figs, st, err := s.dbFigures(ctx, req.db)
	if err != nil {
		return nil, err
	}
	var objects, size, storage, indexes int64
	for _, f := range figs {
		objects += f.count
		size += f.size
		storage += f.storage
		indexes += int64(f.indexes)
	}
	avg := 0.0
	if objects > 0 {
		avg = float64(size) / float64(objects)
	}
	b := bsoncore.NewDocumentBuilder().
		AppendString("db", req.db).
		AppendInt64("collections", int64(len(colls))).
		AppendInt64("views", 0).
		AppendInt64("objects", objects).
		AppendDouble("avgObjSize", avg).
		AppendDouble("dataSize", float64(size)/float64(scale)).
		AppendDouble("storageSize", float64(storage)/float64(scale)).
		AppendInt64("indexes", indexes).
		AppendDouble("indexSize", 0).
		AppendDouble("totalSize", float64(storage)/float64(scale)).
		AppendDouble("scaleFactor", float64(scale))
	if used, total, ok := s.fsUsage(); ok {
		b.AppendDouble("fsUsedSize", float64(used)/float64(scale)).AppendDouble("fsTotalSize", float64(total)/float64(scale))
	}
	if st.Consistency != "" { // ChronoGo's: the database's default write level and replication
		b.AppendString("consistency", st.Consistency).AppendInt32("replicationFactor", int32(st.ReplicationFactor))
	}
	return b, nil
}

// collStatsFields builds collStats' answer for collection c (also $collStats' storageStats).
func (s *Server) collStatsFields(ctx context.Context, db string, c *meta.Collection, scale int64, b *bsoncore.DocumentBuilder) error {
	colls, figs, _, err := s.dbFigures(ctx, db)
	if err != nil {
		return err
	}
	var f collFigures
	for i, x := range colls {
		if x.Name == c.Name {
			f = figs[i]
		}
	}
	avg := int64(0)
	if f.count > 0 {
		avg = f.size / f.count
	}
	sc := func(n int64) int64 { return int64(math.Round(float64(n) / float64(scale))) }
	b.AppendString("ns", db+"."+c.Name).
		AppendInt64("size", sc(f.size)).
		AppendInt64("count", f.count).
		AppendInt64("avgObjSize", avg).
		AppendInt64("numOrphanDocs", 0).
		AppendInt64("storageSize", sc(f.storage)).
		AppendInt64("freeStorageSize", 0).
		AppendBoolean("capped", false).
		AppendInt32("nindexes", int32(f.indexes)).
		AppendDocument("indexDetails", bsoncore.NewDocumentBuilder().Build()).
		AppendInt64("totalIndexSize", 0).
		AppendInt64("totalSize", sc(f.storage)).
		AppendDocument("indexSizes", indexSizes(c)).
		AppendInt64("scaleFactor", scale)
	if !c.Plain() {
		b.AppendDocument("timeseries", bsoncore.NewDocumentBuilder().
			AppendString("bucketsNs", db+".system.buckets."+c.Name).
			AppendInt64("bucketCount", 0).
			AppendInt64("avgBucketSize", 0).
			AppendInt64("numMeasurementsCommitted", f.count).
			Build())
	}
	return nil
}

// indexSizes lists the collection's indexes with a size of 0 (ChronoGo's series index is shared
// by the database and not counted per index).
func indexSizes(c *meta.Collection) bsoncore.Document {
	b := bsoncore.NewDocumentBuilder()
	if autoIndexKey(c) != nil {
		b.AppendInt64(autoIndexName(c), 0)
	}
	for _, x := range c.Indexes {
		b.AppendInt64(x.Name, 0)
	}
	return b.Build()
}

// msgCollStats answers collStats (deprecated in MongoDB 6.2 for $collStats, still served).
func msgCollStats(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	c, name, err := s.targetCollection(ctx, req)
	if err != nil {
		return nil, err
	}
	scale, err := scaleOf(req.doc, "collStats")
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, mongoerr.New(mongoerr.NamespaceNotFound, "Collection [%s.%s] not found.", req.db, name)
	}
	b := bsoncore.NewDocumentBuilder()
	if err := s.collStatsFields(ctx, req.db, c, scale, b); err != nil {
		return nil, err
	}
	return b, nil
}

// collStatsDoc is the document of a leading $collStats stage: {ns, host, localTime} with the
// sections it asks for (storageStats, count, latencyStats, queryExecStats).
func (s *Server) collStatsDoc(ctx context.Context, db string, c *meta.Collection, name string, arg bson.RawValue) (bson.Raw, error) {
	spec, ok := arg.DocumentOK()
	if !ok {
		return nil, mongoerr.New(mongoerr.FailedToParse, "$collStats must take a nested object but found: %s", arg.String())
	}
	elems, err := spec.Elements()
	if err != nil {
		return nil, mongoerr.New(mongoerr.InvalidBSON, "$collStats: %v", err)
	}
	b := bsoncore.NewDocumentBuilder().AppendString("ns", db+"."+name).
		AppendString("host", s.hostName()).
		AppendDateTime("localTime", time.Now().UnixMilli())
	for _, e := range elems {
		switch e.Key() {
		case "storageStats":
			sub, ok := e.Value().DocumentOK()
			if !ok {
				return nil, typeErr("$collStats.storageStats", e.Value().Type, "object")
			}
			scale, err := scaleOf(sub, "$collStats.storageStats")
			if err != nil {
				return nil, err
			}
			if c == nil {
				return nil, mongoerr.New(mongoerr.NamespaceNotFound, "Unable to retrieve storageStats in $collStats stage :: caused by :: Collection [%s.%s] not found.", db, name)
			}
			sb := bsoncore.NewDocumentBuilder()
			if err := s.collStatsFields(ctx, db, c, scale, sb); err != nil {
				return nil, err
			}
			b.AppendDocument("storageStats", sb.Build())
		case "count":
			if c == nil {
				return nil, mongoerr.New(mongoerr.NamespaceNotFound, "Unable to retrieve count in $collStats stage :: caused by :: Collection [%s.%s] not found.", db, name)
			}
			st, err := s.b.DBStorage(ctx, db)
			if err != nil {
				return nil, err
			}
			n, err := s.countDocuments(ctx, c, &st)
			if err != nil {
				return nil, err
			}
			b.AppendDocument("count", bsoncore.NewDocumentBuilder().AppendInt64("count", n).Build())
		case "latencyStats":
			b.AppendDocument("latencyStats", s.lat.namespace(db+"."+name).doc())
		case "queryExecStats":
			b.AppendDocument("queryExecStats", bsoncore.NewDocumentBuilder().AppendDocument("collectionScans",
				bsoncore.NewDocumentBuilder().AppendInt64("total", 0).AppendInt64("nonTailable", 0).Build()).Build())
		default:
			return nil, mongoerr.New(mongoerr.IDLUnknownField, "BSON field '$collStats.%s' is an unknown field.", e.Key())
		}
	}
	return bson.Raw(b.Build()), nil
}

// hostName is the host field of $collStats: the machine's name.
func (s *Server) hostName() string {
	h, _ := os.Hostname()
	return h
}

// fsUsage is the used and total bytes of the file system of the server's temporary directory
// (inside the data directory).
func (s *Server) fsUsage() (used, total int64, ok bool) {
	if s.cfg.TempDir == "" {
		return 0, 0, false
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(s.cfg.TempDir, &st); err != nil {
		return 0, 0, false
	}
	total = int64(st.Blocks) * st.Bsize
	return total - int64(st.Bfree)*st.Bsize, total, true
}
