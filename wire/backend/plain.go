package backend

import (
	"context"
	"fmt"
	"time"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/meta/plain"
	"github.com/chronogo/chronogo/wire/mongo"
)

// plainPage bounds one page of a plain collection scan.
const (
	plainPageDocs  = 1000
	plainPageBytes = 4 << 20
)

func plainNS(ctx context.Context, c *meta.Collection) plain.NS {
	return plain.NS{Tenant: collTenant(ctx, c), DB: c.DB, Coll: c.Name}
}

// PlainWrite applies writes to a plain collection through its database's plain shard. A write
// is acknowledged when a majority of the shard's replicas have it: a writeConcern asking for more
// gets its result with a *mongo.WriteConcernError when they do not apply it in time.
func (b *Backend) PlainWrite(ctx context.Context, c *meta.Collection, items []plain.Item, ordered bool) (plain.Result, error) {
	ns := plainNS(ctx, c)
	p, _, err := b.plainShard(ctx, ns.Tenant, ns.DB, true)
	if err != nil {
		return plain.Result{}, err
	}
	res, _, applied, err := b.plainPropose(ctx, p, plain.Command{Op: plain.OpWrite, NS: ns, Items: items, Ordered: ordered})
	if err != nil {
		return res, err
	}
	return res, b.plainConcern(ctx, p, applied)
}

// plainConcern waits, for a writeConcern asking for more replicas than the Raft majority of the
// shard that acknowledged a plain write, until that many replicas applied entry idx (the write,
// and everything before it), within wtimeout (else the command's deadline, at most
// plainConcernWait); it returns a *mongo.WriteConcernError when they did not.
func (b *Backend) plainConcern(ctx context.Context, p meta.PlainShard, idx uint64) error {
	wc := mongo.WriteConcernOf(ctx)
	if wc.W <= 1 && wc.Mode != "all" {
		return nil // w:0, w:1, majority, any, one, quorum: a Raft majority meets them
	}
	voters := max(len(p.Replicas), 1)
	majority := voters/2 + 1
	need := wc.W
	if wc.Mode == "all" {
		need = voters
	}
	switch {
	case need <= majority:
		return nil
	case need > voters:
		return &mongo.WriteConcernError{Msg: fmt.Sprintf("w:%d: the plain collections of %s have %d replicas; the write was applied on a majority (%d)", need, p.DB, voters, majority)}
	}
	wait := plainConcernWait
	if wc.WTimeout > 0 {
		wait = wc.WTimeout
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	best := 0 // the most replicas seen with the write (a poll cut by the deadline sees fewer)
	for {
		pctx, cancelPoll := context.WithTimeout(wctx, time.Second) // a dead replica costs one poll that long
		have := b.replicasAt(pctx, p, idx)
		cancelPoll()
		if have >= need {
			return nil
		}
		best = max(best, have)
		select {
		case <-wctx.Done():
			return &mongo.WriteConcernError{Msg: fmt.Sprintf("waiting for replication timed out: %d of the %d replicas applied the write within %v; w:%d", best, voters, wait, need)}
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// replicasAt counts the replicas of p that applied entry idx, asking them all at once.
func (b *Backend) replicasAt(ctx context.Context, p meta.PlainShard, idx uint64) int {
	ch := make(chan bool, len(p.Replicas))
	for _, id := range p.Replicas {
		go func() {
			applied, err := b.plainApplied(ctx, p, id)
			ch <- err == nil && applied >= idx
		}()
	}
	have := 0
	for range p.Replicas {
		if <-ch {
			have++
		}
	}
	return have
}

// plainConcernWait bounds how long a plain write waits for a w above the Raft majority when
// neither wtimeout nor the command bounds it.
const plainConcernWait = 30 * time.Second

// PlainScan reads a plain collection page by page (linearizable reads of its shard).
func (b *Backend) PlainScan(ctx context.Context, c *meta.Collection, preds []plain.Pred, fn func(index string, d *plain.Doc) error) (string, error) {
	ns := plainNS(ctx, c)
	p, ok, err := b.plainShard(ctx, ns.Tenant, ns.DB, false)
	if err != nil || !ok {
		return "", err // no shard: no document was ever written
	}
	q := plain.ScanQuery{NS: ns, Limit: plainPageDocs, MaxBytes: plainPageBytes, Preds: preds}
	for {
		v, err := b.plainRead(ctx, p, q)
		if err != nil {
			return "", err
		}
		page, ok := v.(plain.ScanPage)
		if !ok {
			return "", fmt.Errorf("plain scan of %s.%s: answer %T", c.DB, c.Name, v)
		}
		for i := range page.Docs {
			if err := fn(page.Index, &page.Docs[i]); err != nil {
				return page.Index, err
			}
		}
		if !page.More || len(page.Docs) == 0 {
			return page.Index, nil
		}
		q.After = page.Docs[len(page.Docs)-1].Pos
	}
}

// PlainAdmin runs an index command on a plain collection through its shard.
func (b *Backend) PlainAdmin(ctx context.Context, c *meta.Collection, cmd plain.Command) (plain.Result, error) {
	cmd.NS = plainNS(ctx, c)
	p, _, err := b.plainShard(ctx, cmd.NS.Tenant, cmd.NS.DB, true)
	if err != nil {
		return plain.Result{}, err
	}
	res, _, _, err := b.plainPropose(ctx, p, cmd)
	return res, err
}

// dropPlain removes the documents of a plain collection. (A dropped database's plain shard goes
// with its placement: every replica removes itself.)
func (b *Backend) dropPlain(ctx context.Context, tenant, db, name string) error {
	p, ok, err := b.plainShard(ctx, tenant, db, false)
	if err != nil || !ok {
		return err
	}
	_, _, _, err = b.plainPropose(ctx, p, plain.Command{Op: plain.OpDropCollection, NS: plain.NS{Tenant: tenant, DB: db, Coll: name}})
	return err
}

// plainDBStats reads the count and bytes of every plain collection of a database that holds
// documents.
func (b *Backend) plainDBStats(ctx context.Context, tenant, db string) (map[string]plain.Stats, error) {
	p, ok, err := b.plainShard(ctx, tenant, db, false)
	if err != nil || !ok {
		return map[string]plain.Stats{}, err
	}
	v, err := b.plainRead(ctx, p, plain.DBStatsQuery{Tenant: tenant, DB: db})
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]plain.Stats)
	if !ok {
		return nil, fmt.Errorf("plain stats of %s: answer %T", db, v)
	}
	return m, nil
}

// DBStorage sums this node's vnodes of database db and reads the stats of its plain collections.
func (b *Backend) DBStorage(ctx context.Context, db string) (mongo.DBStorage, error) {
	tenant := meta.TenantOf(ctx)
	out := mongo.DBStorage{Plain: map[string]mongo.PlainStats{}}
	if d, ok, err := b.meta.GetDatabase(ctx, tenant, db); err == nil && ok {
		out.Consistency, out.ReplicationFactor = d.Consistency, d.ReplicationFactor
	}
	stats, err := b.node.Stats(ctx)
	if err != nil {
		return out, err
	}
	for _, s := range stats {
		if s.Tenant == tenant && s.Db == db {
			out.DiskBytes += s.DiskBytes
			out.CacheBytes += s.CacheBytes
			out.Series += s.Series
		}
	}
	m, err := b.plainDBStats(ctx, tenant, db)
	if err != nil {
		return out, err
	}
	for name, st := range m {
		out.Plain[name] = mongo.PlainStats{Count: st.Count, Bytes: st.Bytes}
	}
	return out, nil
}

// PlainDBStats reads the count and bytes of the plain collections of a database (for the admin
// API).
func (b *Backend) PlainDBStats(ctx context.Context, tenant, db string) (map[string]plain.Stats, error) {
	return b.plainDBStats(ctx, tenant, db)
}

// PlainGet reads one document of a plain collection (linearizable).
func (b *Backend) PlainGet(ctx context.Context, c *meta.Collection, key []byte) (plain.Doc, bool, error) {
	ns := plainNS(ctx, c)
	p, ok, err := b.plainShard(ctx, ns.Tenant, ns.DB, false)
	if err != nil || !ok {
		return plain.Doc{}, false, err
	}
	v, err := b.plainRead(ctx, p, plain.GetQuery{NS: ns, Key: key})
	if err != nil {
		return plain.Doc{}, false, err
	}
	r, ok := v.(plain.GetResult)
	if !ok {
		return plain.Doc{}, false, fmt.Errorf("plain get in %s.%s: answer %T", c.DB, c.Name, v)
	}
	return r.Doc, r.Found, nil
}
