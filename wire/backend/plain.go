package backend

import (
	"context"
	"errors"
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

// PlainWrite applies writes to a plain collection through the meta cluster's plain shard. A write
// is acknowledged when a majority of the meta voters have it: a writeConcern asking for more
// replicas gets its result with a *mongo.WriteConcernError.
func (b *Backend) PlainWrite(ctx context.Context, c *meta.Collection, items []plain.Item, ordered bool) (plain.Result, error) {
	res, err := b.meta.PlainWrite(ctx, plain.Command{Op: plain.OpWrite, NS: plainNS(ctx, c), Items: items, Ordered: ordered})
	if err != nil {
		return res, err
	}
	return res, b.plainConcern(ctx)
}

// plainConcern waits, for a writeConcern asking for more replicas than the Raft majority of meta
// voters that acknowledged a plain write, until that many voters applied it (every write this
// node made so far: its replica's applied index), within wtimeout (else the command's deadline,
// at most plainConcernWait); it returns a *mongo.WriteConcernError when they did not.
func (b *Backend) plainConcern(ctx context.Context) error {
	wc := mongo.WriteConcernOf(ctx)
	if wc.W <= 1 && wc.Mode != "all" {
		return nil // w:0, w:1, majority, any, one, quorum: a Raft majority meets them
	}
	voters, err := b.meta.PlainVoters(ctx)
	if err != nil {
		return &mongo.WriteConcernError{Msg: "the write was applied; the meta voters could not be counted: " + err.Error()}
	}
	voters = max(voters, 1)
	majority := voters/2 + 1
	need := wc.W
	if wc.Mode == "all" {
		need = voters
	}
	switch {
	case need <= majority:
		return nil
	case need > voters || b.PlainVoterApplied == nil:
		return &mongo.WriteConcernError{Msg: fmt.Sprintf("w:%d: the plain collections have %d meta voters; the write was applied on a majority (%d)", need, voters, majority)}
	}
	idx, ok := b.meta.PlainApplied()
	if !ok {
		return &mongo.WriteConcernError{Msg: "the write was applied; this node's plain replica cannot say up to where"}
	}
	wait := plainConcernWait
	if wc.WTimeout > 0 {
		wait = wc.WTimeout
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	best := 0 // the most voters seen with the write (a poll cut by the deadline sees fewer)
	for {
		pctx, cancelPoll := context.WithTimeout(wctx, time.Second) // a dead voter costs one poll that long
		have := 0
		for _, applied := range b.PlainVoterApplied(pctx) {
			if applied >= idx {
				have++
			}
		}
		cancelPoll()
		if have >= need {
			return nil
		}
		best = max(best, have)
		select {
		case <-wctx.Done():
			return &mongo.WriteConcernError{Msg: fmt.Sprintf("waiting for replication timed out: %d of the %d meta voters applied the write within %v; w:%d", best, voters, wait, need)}
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// plainConcernWait bounds how long a plain write waits for a w above the Raft majority when
// neither wtimeout nor the command bounds it.
const plainConcernWait = 30 * time.Second

// PlainScan reads a plain collection page by page from this node's replica (linearizable reads).
func (b *Backend) PlainScan(ctx context.Context, c *meta.Collection, preds []plain.Pred, fn func(index string, d *plain.Doc) error) (string, error) {
	q := plain.ScanQuery{NS: plainNS(ctx, c), Limit: plainPageDocs, MaxBytes: plainPageBytes, Preds: preds}
	for {
		v, err := b.meta.PlainRead(ctx, q)
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

// PlainAdmin runs an index command on a plain collection through the plain shard.
func (b *Backend) PlainAdmin(ctx context.Context, c *meta.Collection, cmd plain.Command) (plain.Result, error) {
	cmd.NS = plainNS(ctx, c)
	return b.meta.PlainWrite(ctx, cmd)
}

// dropPlain removes the documents of a plain collection, or of every plain collection of a
// database when c.Name is "".
func (b *Backend) dropPlain(ctx context.Context, tenant, db, name string) error {
	op := plain.OpDropCollection
	if name == "" {
		op = plain.OpDropDatabase
	}
	_, err := b.meta.PlainWrite(ctx, plain.Command{Op: op, NS: plain.NS{Tenant: tenant, DB: db, Coll: name}})
	return err
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
	v, err := b.meta.PlainRead(ctx, plain.DBStatsQuery{Tenant: tenant, DB: db})
	if errors.Is(err, meta.ErrPlainUnavailable) {
		return out, nil
	}
	if err != nil {
		return out, err
	}
	if m, ok := v.(map[string]plain.Stats); ok {
		for name, st := range m {
			out.Plain[name] = mongo.PlainStats{Count: st.Count, Bytes: st.Bytes}
		}
	}
	return out, nil
}

// PlainGet reads one document of a plain collection (linearizable).
func (b *Backend) PlainGet(ctx context.Context, c *meta.Collection, key []byte) (plain.Doc, bool, error) {
	v, err := b.meta.PlainRead(ctx, plain.GetQuery{NS: plainNS(ctx, c), Key: key})
	if err != nil {
		return plain.Doc{}, false, err
	}
	r, ok := v.(plain.GetResult)
	if !ok {
		return plain.Doc{}, false, fmt.Errorf("plain get in %s.%s: answer %T", c.DB, c.Name, v)
	}
	return r.Doc, r.Found, nil
}
