package coordinator

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/actors/vnode"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/meta"
)

// Anti-entropy: the replicas of each replica set compare digests of what they show, table by
// table and window by window, then series by series in the windows that differ; each replica
// then gets the other replicas' points of the differing series and windows with their original
// versions (as hinted writes), so last-write-wins makes them converge. A replica that lacks a
// delete another one has keeps showing the deleted points (copying points never undoes a
// delete: they stay hidden where the delete is); such windows are reported as still different.

// RepairOptions say what Repair compares.
type RepairOptions struct {
	// Window is the digest window (default 1 h): the unit compared and, when different, copied.
	Window time.Duration
	// MinTime and MaxTime bound the compared range in ns (both 0: everything).
	MinTime, MaxTime int64
	// DryRun compares and reports without copying anything.
	DryRun bool
	// Tables are the collections to repair, each with its creation time (unix ns): points
	// versioned before it belong to a dropped collection of the same name and are never copied.
	// Tables not listed are compared but not repaired.
	Tables map[string]int64
}

// RepairReport says what Repair found and did.
type RepairReport struct {
	ReplicaSets      int      `json:"replica_sets"`      // replica sets of two or more replicas compared
	Skipped          int      `json:"skipped"`           // replica sets skipped: a replica did not answer
	WindowsCompared  int      `json:"windows_compared"`  // (table, window) pairs compared
	WindowsDifferent int      `json:"windows_different"` // of them, those whose replicas differ
	SeriesDifferent  int      `json:"series_different"`  // (series, window) pairs whose replicas differ
	SeriesRepaired   int      `json:"series_repaired"`   // of them, those equal after the copy
	StillDifferent   int      `json:"still_different"`   // those that still differ (a delete a replica lacks)
	PointsCopied     int64    `json:"points_copied"`     // points written to replicas
	DeletesCopied    int      `json:"deletes_copied"`    // deletes given to replicas that lacked them
	PointsWithheld   int64    `json:"points_withheld"`   // points not copied: deleted or expired on the target, replicas disagree, older than the collection`
	Errors           []string `json:"errors,omitempty"`
}

// Anti-entropy metrics of the process.
var (
	aeCompared  = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "chronogo", Name: "antientropy_windows_compared_total", Help: "(table, time window) ranges whose replicas were compared."})
	aeDifferent = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "chronogo", Name: "antientropy_windows_different_total", Help: "Compared ranges whose replicas differed."})
	aeRepaired  = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "chronogo", Name: "antientropy_series_repaired_total", Help: "(series, window) ranges that differed and were made equal by copying points."})
	aeStill     = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "chronogo", Name: "antientropy_series_unrepaired_total", Help: "(series, window) ranges that still differed after the copy."})
	aePoints    = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "chronogo", Name: "antientropy_points_copied_total", Help: "Points written to replicas by anti-entropy repair."})
)

func init() {
	prometheus.MustRegister(aeCompared, aeDifferent, aeRepaired, aeStill, aePoints)
}

// repairTimeout bounds one replica's answer to an anti-entropy request (a digest reads a whole
// vnode: about a second per 100 M values).
const repairTimeout = 30 * time.Second

// repairKeysPerRead is how many series one RepairReadRequest asks for.
const repairKeysPerRead = 256

// Repair compares and repairs the replicas of every replica set of the database.
func (c *Client) Repair(ctx context.Context, tenant, db string, opt RepairOptions) (RepairReport, error) {
	var rep RepairReport
	if opt.Window <= 0 {
		opt.Window = time.Hour
	}
	if opt.MinTime == 0 && opt.MaxTime == 0 {
		opt.MinTime, opt.MaxTime = math.MinInt64, math.MaxInt64
	}
	buckets, err := c.cfg.Placement.BucketsIn(ctx, tenant, db, opt.MinTime, opt.MaxTime)
	if err != nil {
		return rep, fmt.Errorf("repair of %s/%s: %w", tenant, db, err)
	}
	unreachable := map[uint64]error{} // nodes that did not answer in this run: their sets are skipped
	for _, b := range buckets {
		for _, rs := range b.ReplicaSets {
			rs = fullMembers(rs) // a joining vnode is filled by its move, not compared
			if len(rs.Vnodes) < 2 {
				continue
			}
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			r := &setRepair{c: c, b: b, rs: rs, opt: opt, rep: &rep, unreachable: unreachable}
			if err := r.run(ctx); err != nil {
				rep.Skipped++
				rep.Errors = append(rep.Errors, fmt.Sprintf("bucket %d replica set %d: %v", b.ID, rs.ID, err))
				continue
			}
			rep.ReplicaSets++
		}
	}
	return rep, nil
}

// fullMembers is rs without its joining vnodes.
func fullMembers(rs meta.ReplicaSet) meta.ReplicaSet {
	out := meta.ReplicaSet{ID: rs.ID}
	for _, v := range rs.Vnodes {
		if !v.Joining {
			out.Vnodes = append(out.Vnodes, v)
		}
	}
	return out
}

// setRepair repairs one replica set.
type setRepair struct {
	c           *Client
	b           meta.Bucket
	rs          meta.ReplicaSet
	opt         RepairOptions
	rep         *RepairReport
	unreachable map[uint64]error
}

// digestKey names a digest: a table's window, or (with a key) one series' window.
type digestKey struct {
	table, series string
	start         int64
}

type digestVal struct {
	points int64
	hash   uint64
}

func (r *setRepair) run(ctx context.Context) error {
	// 1. every replica's digests by (table, window)
	all, err := r.digests(ctx, &messages.DigestRequest{MinTime: r.opt.MinTime, MaxTime: r.opt.MaxTime, WindowNs: int64(r.opt.Window)})
	if err != nil {
		return err
	}
	compared, differ := differing(all)
	r.rep.WindowsCompared += compared
	r.rep.WindowsDifferent += len(differ)
	aeCompared.Add(float64(compared))
	aeDifferent.Add(float64(len(differ)))
	// 2. in the windows that differ, every replica's digests by series, table by table
	byTable := map[string][]int64{}
	for _, k := range differ {
		byTable[k.table] = append(byTable[k.table], k.start)
	}
	tables := make([]string, 0, len(byTable))
	for t := range byTable {
		tables = append(tables, t)
	}
	slices.Sort(tables)
	for _, table := range tables {
		// one window at a time: its series digests are paged by the replicas
		for _, w := range byTable[table] {
			if err := r.repairWindow(ctx, table, w); err != nil {
				return err
			}
		}
	}
	return nil
}

// repairWindow compares and repairs the series of one table in one window.
func (r *setRepair) repairWindow(ctx context.Context, table string, w int64) error {
	req := &messages.DigestRequest{Tables: []string{table}, MinTime: r.opt.MinTime, MaxTime: r.opt.MaxTime, WindowNs: int64(r.opt.Window), Detail: true, Windows: []int64{w}}
	detail, err := r.digests(ctx, req)
	if err != nil {
		return err
	}
	_, series := differing(detail)
	r.rep.SeriesDifferent += len(series)
	if _, known := r.opt.Tables[table]; r.opt.DryRun || len(series) == 0 || !known {
		return nil
	}
	// 3. copy each replica's points of those series and windows to the others
	if err := r.copy(ctx, table, series); err != nil {
		return err
	}
	// 4. compare again
	after, err := r.digests(ctx, req)
	if err != nil {
		return err
	}
	_, still := differing(after)
	stillSet := map[digestKey]bool{}
	for _, k := range still {
		stillSet[k] = true
	}
	for _, k := range series {
		if stillSet[k] {
			r.rep.StillDifferent++
			aeStill.Inc()
		} else {
			r.rep.SeriesRepaired++
			aeRepaired.Inc()
		}
	}
	return nil
}

// differing returns how many keys the replicas' digests cover and those on which they differ
// (a key some replica lacks differs), sorted.
func differing(all []map[digestKey]digestVal) (int, []digestKey) {
	union := map[digestKey]bool{}
	for _, m := range all {
		for k := range m {
			union[k] = true
		}
	}
	var out []digestKey
	for k := range union {
		first, ok := all[0][k]
		for _, m := range all[1:] {
			if v, has := m[k]; has != ok || v != first {
				out = append(out, k)
				break
			}
		}
	}
	slices.SortFunc(out, func(a, b digestKey) int {
		switch {
		case a.table != b.table:
			return cmpStr(a.table, b.table)
		case a.series != b.series:
			return cmpStr(a.series, b.series)
		}
		return int(min(max(a.start-b.start, -1), 1))
	})
	return len(union), out
}

func cmpStr(a, b string) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

// digests asks every replica for its digests (req without vnode).
func (r *setRepair) digests(ctx context.Context, req *messages.DigestRequest) ([]map[digestKey]digestVal, error) {
	out := make([]map[digestKey]digestVal, len(r.rs.Vnodes))
	for i, v := range r.rs.Vnodes {
		if err := r.unreachable[v.NodeID]; err != nil {
			return nil, fmt.Errorf("node %d did not answer earlier in this repair: %w", v.NodeID, err)
		}
		m := proto.Clone(req).(*messages.DigestRequest)
		m.Vnode = r.ref(v)
		out[i] = map[digestKey]digestVal{}
		for {
			res, err := r.c.askReader(ctx, v.NodeID, m)
			if err != nil {
				if ctx.Err() == nil {
					r.unreachable[v.NodeID] = err
				}
				return nil, fmt.Errorf("digests of vnode %d on node %d: %w", v.ID, v.NodeID, err)
			}
			reply, ok := res.(*messages.DigestReply)
			if !ok {
				return nil, fmt.Errorf("digests of vnode %d on node %d: unexpected answer %T", v.ID, v.NodeID, res)
			}
			if reply.GetCode() != 0 {
				return nil, fmt.Errorf("digests of vnode %d on node %d: %s", v.ID, v.NodeID, reply.GetMessage())
			}
			for _, d := range reply.GetDigests() {
				out[i][digestKey{d.GetTable(), string(d.GetSeriesKey()), d.GetStart()}] = digestVal{d.GetPoints(), d.GetHash()}
			}
			if reply.GetNextSeries() == 0 || reply.GetNextSeries() <= m.GetAfterSeries() {
				break
			}
			m.AfterSeries = reply.GetNextSeries()
		}
	}
	return out, nil
}

// write sends a replica the batches as hinted writes (they keep their versions, however old),
// up to repairWritesInFlight at once, and returns the points of those it acknowledged.
func (r *setRepair) write(ctx context.Context, v meta.Vnode, batches []*messages.WriteBatch) (int64, error) {
	if len(batches) == 0 {
		return 0, nil
	}
	pid, err := r.c.managerOf(ctx, v.NodeID)
	if err != nil {
		return 0, err
	}
	var (
		mu      sync.Mutex
		written int64 // points of the acknowledged batches
		first   error
		wg      sync.WaitGroup
		slots   = make(chan struct{}, repairWritesInFlight)
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
	}
	for _, b := range batches {
		w := &messages.WriteBatch{VnodeId: v.ID, Tenant: r.b.Tenant, Db: r.b.DB, BucketId: r.b.ID, ReplicaSetId: r.rs.ID,
			Version: b.GetVersion(), Batch: b.GetBatch(), Compressed: b.GetCompressed(), Hinted: true}
		decoded, err := w.DecodeBatch()
		if err != nil {
			fail(fmt.Errorf("repair batch: %w", err))
			break
		}
		env, err := messages.Wrap(w)
		if err != nil {
			fail(err)
			break
		}
		slots <- struct{}{}
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed {
			<-slots
			break
		}
		wg.Add(1)
		go func(points int64) {
			defer func() { <-slots; wg.Done() }()
			res, err := r.c.ask(ctx, pid, env)
			if err == nil {
				err = ackError(res)
			}
			if err != nil {
				fail(fmt.Errorf("repair write to vnode %d on node %d: %w", v.ID, v.NodeID, err))
				return
			}
			mu.Lock()
			written += points
			mu.Unlock()
		}(int64(decoded.NumValues()))
	}
	wg.Wait()
	return written, first
}

// repairWritesInFlight bounds the fill batches (one per version) a repair has sent to one
// replica and not yet had acknowledged: they are independent (last-write-wins by version), so
// they go out together instead of one round trip each.
const repairWritesInFlight = 16

func (r *setRepair) ref(v meta.Vnode) *messages.VnodeRef {
	return vnode.Spec{Tenant: r.b.Tenant, DB: r.b.DB, BucketID: r.b.ID, ReplicaSetID: r.rs.ID, VnodeID: v.ID}.VnodeRef()
}

// askReader sends m to the reader actor of node id and returns its unwrapped answer.
func (c *Client) askReader(ctx context.Context, id uint64, m proto.Message) (any, error) {
	pid, err := c.actorOf(ctx, id, actors.ReaderName)
	if err != nil {
		return nil, err
	}
	env, err := messages.Wrap(m)
	if err != nil {
		return nil, err
	}
	res, err := c.ask(ctx, pid, env)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pid, err)
	}
	res, err = messages.Unwrap(res)
	if err != nil {
		return nil, err
	}
	if e, ok := res.(*messages.ErrorReply); ok {
		return nil, errors.New(e.GetMessage())
	}
	return res, nil
}

// ask sends m to pid and waits for the answer: at most repairTimeout, and no longer than ctx (a
// node that stops ends its repairs at once).
func (c *Client) ask(ctx context.Context, pid *actor.PID, m any) (any, error) {
	timeout := repairTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(d))
	}
	return actors.Await(ctx, c.root.RequestFuture(pid, m, timeout))
}

// managerOf is the vnode manager of node id.
func (c *Client) managerOf(ctx context.Context, id uint64) (*actor.PID, error) {
	if id == c.cfg.NodeID {
		return c.cfg.Manager, nil
	}
	return c.actorOf(ctx, id, actors.ManagerName)
}

// actorOf is the well-known actor name on node id (this node's own system when id is this node).
func (c *Client) actorOf(ctx context.Context, id uint64, name string) (*actor.PID, error) {
	if id == c.cfg.NodeID {
		return actor.NewPID(c.root.ActorSystem().Address(), name), nil
	}
	if c.cfg.down(id) {
		return nil, fmt.Errorf("node %d: %w", id, ErrPeerDown)
	}
	node, err := c.cfg.Placement.Node(ctx, id)
	if err != nil {
		return nil, err
	}
	if node.ActorAddr == "" {
		return nil, fmt.Errorf("node %d has no actor address", id)
	}
	return actor.NewPID(node.ActorAddr, name), nil
}
