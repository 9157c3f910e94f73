package mongo

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongo/mql"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// runningOp is a command being handled, as currentOp shows it and killOp interrupts it.
type runningOp struct {
	id     int64
	conn   *conn
	tenant string
	db     string
	name   string
	cmd    bson.Raw // valid while the op runs
	start  time.Time
	cancel context.CancelFunc
	killed bool // under opRegistry.mu
}

// opRegistry holds the running commands of a server.
type opRegistry struct {
	mu   sync.Mutex
	next int64
	ops  map[int64]*runningOp
}

// begin registers req's command and returns its context, which killOp cancels.
func (r *opRegistry) begin(ctx context.Context, req *request) (context.Context, *runningOp) {
	ctx, cancel := context.WithCancel(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ops == nil {
		r.ops = map[int64]*runningOp{}
	}
	r.next++
	op := &runningOp{id: r.next, conn: req.conn, tenant: meta.TenantOf(ctx), db: req.db, name: req.name, cmd: req.doc, start: time.Now(), cancel: cancel}
	r.ops[op.id] = op
	return ctx, op
}

// end unregisters op and reports whether killOp interrupted it.
func (r *opRegistry) end(op *runningOp) (killed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.ops, op.id)
	op.cancel()
	return op.killed
}

// kill interrupts op id (of tenant, unless tenant is ""); it reports whether there was one.
func (r *opRegistry) kill(id int64, tenant string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	op, ok := r.ops[id]
	if !ok || (tenant != "" && op.tenant != tenant) {
		return false
	}
	op.killed = true
	op.cancel()
	return true
}

// snapshot returns copies of the running ops, oldest first.
func (r *opRegistry) snapshot() []runningOp {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]runningOp, 0, len(r.ops))
	for _, op := range r.ops {
		out = append(out, *op)
	}
	slices.SortFunc(out, func(a, b runningOp) int { return int(a.id - b.id) })
	return out
}

// interruptedErr is MongoDB's error for an operation killed by killOp.
func interruptedErr() error {
	return mongoerr.New(mongoerr.Interrupted, "operation was interrupted")
}

// maxOpCommand bounds the command currentOp shows whole; bigger ones (inserts) are summarised.
const maxOpCommand = 1024

// opDoc is one currentOp entry.
func opDoc(op *runningOp, now time.Time) bson.Raw {
	cmd := op.cmd
	if len(cmd) > maxOpCommand {
		b := bsoncore.NewDocumentBuilder()
		if first, err := cmd.IndexErr(0); err == nil {
			b.AppendValue(first.Key(), bsoncore.Value{Type: bsoncore.Type(first.Value().Type), Data: first.Value().Value})
		}
		cmd = bson.Raw(b.AppendString("$truncated", "the command is larger than 1 KiB").Build())
	}
	ns := op.db + ".$cmd"
	if first, err := op.cmd.IndexErr(0); err == nil && first.Value().Type == bson.TypeString {
		ns = op.db + "." + first.Value().StringValue()
	}
	kind := "command"
	switch op.name {
	case "getMore":
		kind = "getmore"
	case "insert", "update", "delete":
		kind = op.name
	case "find":
		kind = "query"
	}
	running := now.Sub(op.start)
	b := bsoncore.NewDocumentBuilder().
		AppendString("type", "op").
		AppendString("desc", "conn"+strconv.Itoa(int(op.conn.id))).
		AppendInt32("connectionId", op.conn.id).
		AppendString("client", op.conn.nc.RemoteAddr().String()).
		AppendBoolean("active", true).
		AppendDateTime("currentOpTime", now.UnixMilli()).
		AppendInt64("opid", op.id).
		AppendInt64("secs_running", int64(running/time.Second)).
		AppendInt64("microsecs_running", int64(running/time.Microsecond)).
		AppendString("op", kind).
		AppendString("ns", ns).
		AppendDocument("command", cmd)
	if op.killed {
		b.AppendBoolean("killPending", true)
	}
	return bson.Raw(b.Build())
}

// currentOpFields are the options of currentOp besides filters on the entries.
var currentOpFields = map[string]bool{"$all": true, "$ownOps": true, "comment": true}

// msgCurrentOp lists the running commands of the tenant (every tenant's for a cluster
// administrator of the default tenant); other fields of the command filter the entries, as in
// MongoDB (for example {op: "query"} or {secs_running: {$gte: 5}}).
func msgCurrentOp(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	elems, err := req.doc.Elements()
	if err != nil {
		return nil, mongoerr.New(mongoerr.InvalidBSON, "currentOp: %v", err)
	}
	fb := bsoncore.NewDocumentBuilder()
	for _, e := range elems[1:] {
		if currentOpFields[e.Key()] || genericFields[e.Key()] {
			continue
		}
		fb.AppendValue(e.Key(), bsoncore.Value{Type: bsoncore.Type(e.Value().Type), Data: e.Value().Value})
	}
	f, err := mql.CompileFilter(bson.Raw(fb.Build()))
	if err != nil {
		return nil, queryErr(err)
	}
	ab := bsoncore.NewArrayBuilder()
	for _, d := range s.currentOps(ctx) {
		if ok, err := f.Match(d); err != nil {
			return nil, queryErr(err)
		} else if ok {
			ab.AppendDocument(d)
		}
	}
	return bsoncore.NewDocumentBuilder().AppendArray("inprog", ab.Build()), nil
}

// currentOps are the entries of the running commands the caller may see: its tenant's (every
// tenant's for the default tenant), on this node (opid a number) and on the cluster's other
// nodes (opid "node:id" and shard naming the node, as mongos shows its shards' operations).
func (s *Server) currentOps(ctx context.Context) []bson.Raw {
	tenant := meta.TenantOf(ctx)
	all := tenant == meta.DefaultTenant
	out := []bson.Raw{}
	for _, b := range s.CurrentOps(tenant, all) {
		out = append(out, bson.Raw(b))
	}
	for _, n := range s.b.PeerOps(ctx, tenant, all) {
		for _, op := range n.Ops {
			out = append(out, peerOpDoc(n.Node, op))
		}
	}
	return out
}

// CurrentOps returns the currentOp entries of the commands running on this listener: tenant's,
// or every tenant's with all (opsrpc.Provider, for other nodes' currentOp).
func (s *Server) CurrentOps(tenant string, all bool) [][]byte {
	now := time.Now()
	var out [][]byte
	for _, op := range s.running.snapshot() {
		if !all && op.tenant != tenant {
			continue
		}
		out = append(out, opDoc(&op, now))
	}
	return out
}

// KillOp interrupts command id of tenant (any tenant's with all) on this listener
// (opsrpc.Provider, for other nodes' killOp).
func (s *Server) KillOp(id int64, tenant string, all bool) bool {
	if all {
		tenant = ""
	}
	return s.running.kill(id, tenant)
}

// peerOpDoc is another node's entry as this node shows it: opid "node:id", shard the node.
func peerOpDoc(node string, op bson.Raw) bson.Raw {
	elems, err := op.Elements()
	if err != nil {
		return op
	}
	b := bsoncore.NewDocumentBuilder().AppendString("shard", node)
	for _, e := range elems {
		if e.Key() == "opid" {
			if id, ok := e.Value().Int64OK(); ok {
				b.AppendString("opid", node+":"+strconv.FormatInt(id, 10))
				continue
			}
		}
		if e.Key() == "shard" {
			continue
		}
		b.AppendValue(e.Key(), bsoncore.Value{Type: bsoncore.Type(e.Value().Type), Data: e.Value().Value})
	}
	return bson.Raw(b.Build())
}

// msgKillOp interrupts a running command by its opid: it fails with Interrupted (11601), and a
// query's stream stops.
func msgKillOp(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	v, ok := lookup(req.doc, "op")
	if !ok {
		return nil, mongoerr.New(mongoerr.IDLFailedToParse, "BSON field 'killOp.op' is missing but a required field")
	}
	tenant := meta.TenantOf(ctx)
	all := tenant == meta.DefaultTenant
	if v.Type == bson.TypeString {
		// another node's command, as currentOp shows it: "node:id"
		node, idStr, ok := strings.Cut(v.StringValue(), ":")
		id, err := strconv.ParseInt(idStr, 10, 64)
		if !ok || node == "" || err != nil {
			return nil, mongoerr.New(mongoerr.BadValue, "invalid op : %s. Op ID must be an integer, or a string \"node:id\" naming another node's", v.StringValue())
		}
		if _, err := s.b.KillPeerOp(ctx, node, id, tenant, all); err != nil {
			return nil, err
		}
		return bsoncore.NewDocumentBuilder().AppendString("info", "attempting to kill op"), nil
	}
	id, isNum := asInt64(v)
	if !isNum {
		return nil, typeErr("killOp.op", v.Type, numberTypes)
	}
	s.KillOp(id, tenant, all)
	return bsoncore.NewDocumentBuilder().AppendString("info", "attempting to kill op"), nil
}
