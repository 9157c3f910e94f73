package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/chronogo/chronogo/actors/coordinator"
	"github.com/chronogo/chronogo/wire/httpapi"
)

// A move is driven from here through the admin API of the node at --addr and the barrier
// endpoint of every data node:
//  1. join: the replica set gets a joining vnode on the target (written to, not counted, not read);
//  2. barrier: every data node that is up routes by that placement and has finished the writes it
//     started before, so from now on every write reaches the joining vnode (or its hint queue);
//     Then, when the source node is up, no data node may hold hints for it any more (a write it
//     took only as a hint reaches it before the copy).
//  3. fill: the node at --addr copies the source's points and deletes with their versions into
//     it and checks point by point that it shows everything the source shows;
//  4. promote: the joining vnode becomes a full member and (for a move) the source leaves the set;
//  5. barrier again, then the source node's sweep removes the source vnode's files.
// A failure before the promote takes the joining vnode back out (abort); running the same move
// again starts over from the join.

// mover runs moves against a cluster.
type mover struct {
	c                    *cobra.Command
	addr, user, password string
	out                  io.Writer
	fillTimeout          time.Duration
	hintWait             time.Duration // how long a move waits for the hints held for its source (default 2 min)
}

// waitHints waits until no data node that is up holds hints for node n (they are replayed to
// it), at most wait.
func (m *mover) waitHints(n httpapi.NodeInfo, wait time.Duration) error {
	if wait <= 0 {
		wait = 2 * time.Minute
	}
	deadline := time.Now().Add(wait)
	for {
		nodes, err := m.nodes()
		if err != nil {
			return err
		}
		pending := 0
		for _, o := range nodes {
			if !up(o) || o.ID == n.ID {
				continue
			}
			var a httpapi.ActorsInfo
			if err := m.call(o.HTTPAddr, http.MethodGet, "/api/v1/actors", time.Minute, &a); err != nil {
				return fmt.Errorf("hint queues of node %s: %w", o.Name, err)
			}
			for _, h := range a.Hints {
				if h.Target == n.ID {
					pending += h.Hints
				}
			}
		}
		if pending == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d hints for node %s are still waiting to be replayed after %s: retry once they are", pending, n.Name, wait)
		}
		select {
		case <-m.c.Context().Done():
			return m.c.Context().Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (m *mover) call(addr, method, path string, timeout time.Duration, out any) error {
	return adminCall(m.c, method, addr, path, m.user, m.password, timeout, out)
}

// nodes lists the cluster's nodes as the node at --addr has them.
func (m *mover) nodes() ([]httpapi.NodeInfo, error) {
	var r struct{ Nodes []httpapi.NodeInfo }
	if err := m.call(m.addr, http.MethodGet, "/api/v1/nodes", time.Minute, &r); err != nil {
		return nil, err
	}
	return r.Nodes, nil
}

// up reports whether a data node is up and reachable by HTTP.
func up(n httpapi.NodeInfo) bool {
	return n.Role != "mnode" && n.HTTPAddr != "" && n.DownSince == "" && n.Seen != "down"
}

// barrier waits until every data node that is up routes by placement version v; a node that
// does not answer stops the move (it could still route writes by an older placement).
func (m *mover) barrier(v uint64) error {
	nodes, err := m.nodes()
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if !up(n) {
			continue
		}
		var r struct{ Version uint64 }
		if err := m.call(n.HTTPAddr, http.MethodPost, fmt.Sprintf("/api/v1/placement/barrier?version=%d", v), time.Minute, &r); err != nil {
			return fmt.Errorf("node %s did not reach placement version %d: %w", n.Name, v, err)
		}
	}
	return nil
}

// findNode resolves a node given by id or name.
func findNode(nodes []httpapi.NodeInfo, s string) (httpapi.NodeInfo, error) {
	for _, n := range nodes {
		if n.Name == s || strconv.FormatUint(n.ID, 10) == s {
			return n, nil
		}
	}
	return httpapi.NodeInfo{}, fmt.Errorf("no node %q in the cluster", s)
}

// moveSpec names one vnode move.
type moveSpec struct {
	tenant, db       string
	bucket, set      uint64
	from, to         httpapi.NodeInfo
	copyOnly, silent bool
}

func (s moveSpec) query() url.Values {
	return url.Values{"tenant": {s.tenant}, "db": {s.db}, "bucket": {strconv.FormatUint(s.bucket, 10)}, "replicaSet": {strconv.FormatUint(s.set, 10)}}
}

// replicaSet finds the replica set of a move in the placement.
func (m *mover) replicaSet(s moveSpec) (httpapi.ReplicaSetInfo, error) {
	var info httpapi.VnodesInfo
	q := url.Values{"tenant": {s.tenant}, "db": {s.db}}.Encode()
	if err := m.call(m.addr, http.MethodGet, "/api/v1/vnodes?"+q, time.Minute, &info); err != nil {
		return httpapi.ReplicaSetInfo{}, err
	}
	for _, b := range info.Buckets {
		if b.ID != s.bucket {
			continue
		}
		for _, rs := range b.ReplicaSets {
			if rs.ID == s.set {
				return rs, nil
			}
		}
	}
	return httpapi.ReplicaSetInfo{}, fmt.Errorf("no replica set %d in bucket %d of %s", s.set, s.bucket, s.db)
}

// move runs one move (or copy) and returns the fill's report.
func (m *mover) move(s moveSpec, nodes []httpapi.NodeInfo) (coordinator.FillReport, error) {
	var rep coordinator.FillReport
	rs, err := m.replicaSet(s)
	if err != nil {
		return rep, err
	}
	byNode := map[uint64]httpapi.NodeInfo{}
	for _, n := range nodes {
		byNode[n.ID] = n
	}
	// the vnode leaving, and the source of the copy: the leaving one if its node is up, else
	// another full member on a node that is up
	var leaving, source *httpapi.VnodeInfo
	for i, v := range rs.Vnodes {
		if v.Node == s.from.ID && !v.Joining {
			leaving = &rs.Vnodes[i]
		}
	}
	if leaving == nil {
		return rep, fmt.Errorf("replica set %d has no vnode on node %s", s.set, s.from.Name)
	}
	if up(s.from) {
		source = leaving
	}
	for i, v := range rs.Vnodes {
		if source == nil && !v.Joining && up(byNode[v.Node]) {
			source = &rs.Vnodes[i]
		}
	}
	if source == nil {
		return rep, fmt.Errorf("replica set %d has no full member on a node that is up to copy from", s.set)
	}
	q := s.query()
	q.Set("node", strconv.FormatUint(s.to.ID, 10))
	var joined struct {
		Vnode   httpapi.VnodeInfo
		Version uint64
	}
	if err := m.call(m.addr, http.MethodPost, "/api/v1/vnodes/join?"+q.Encode(), time.Minute, &joined); err != nil {
		return rep, fmt.Errorf("join: %w", err)
	}
	abort := func(cause error) error {
		q := s.query()
		q.Set("vnode", strconv.FormatUint(joined.Vnode.ID, 10))
		var r struct{ Version uint64 }
		if err := m.call(m.addr, http.MethodPost, "/api/v1/vnodes/abort?"+q.Encode(), time.Minute, &r); err != nil {
			return fmt.Errorf("%w (and taking joining vnode %d back out failed: %v)", cause, joined.Vnode.ID, err)
		}
		return fmt.Errorf("%w (joining vnode %d taken back out)", cause, joined.Vnode.ID)
	}
	if err := m.barrier(joined.Version); err != nil {
		return rep, abort(err)
	}
	if up(s.from) {
		// a write the source took only as a hint (level any) must reach it before it is copied
		if err := m.waitHints(s.from, m.hintWait); err != nil {
			return rep, abort(err)
		}
	}
	q = s.query()
	q.Set("from", strconv.FormatUint(source.ID, 10))
	q.Set("to", strconv.FormatUint(joined.Vnode.ID, 10))
	var filled struct{ Report coordinator.FillReport }
	if err := m.call(m.addr, http.MethodPost, "/api/v1/vnodes/fill?"+q.Encode(), m.fillTimeout, &filled); err != nil {
		return rep, abort(fmt.Errorf("fill: %w", err))
	}
	rep = filled.Report
	q = s.query()
	q.Set("vnode", strconv.FormatUint(joined.Vnode.ID, 10))
	if !s.copyOnly {
		q.Set("remove", strconv.FormatUint(leaving.ID, 10))
	}
	var promoted struct{ Version uint64 }
	if err := m.call(m.addr, http.MethodPost, "/api/v1/vnodes/promote?"+q.Encode(), time.Minute, &promoted); err != nil {
		return rep, abort(fmt.Errorf("promote: %w", err))
	}
	if err := m.barrier(promoted.Version); err != nil {
		// the move is done; only the old vnode's files wait for the source node's own sweep
		fmt.Fprintf(m.out, "warning: %v; node %s removes vnode %d's files at its next sweep\n", err, s.from.Name, leaving.ID)
		return rep, nil
	}
	if !s.copyOnly && up(s.from) {
		var swept struct{ Removed int }
		if err := m.call(s.from.HTTPAddr, http.MethodPost, "/api/v1/sweep", time.Minute, &swept); err != nil {
			fmt.Fprintf(m.out, "warning: the sweep of node %s failed (%v); it removes vnode %d's files at its next sweep\n", s.from.Name, err, leaving.ID)
		}
	}
	if !s.silent {
		verb := "moved"
		if s.copyOnly {
			verb = "copied"
		}
		fmt.Fprintf(m.out, "%s vnode %d of replica set %d (bucket %d) from node %s to node %s as vnode %d: %d points and %d deletes copied, %d recopied after the check, verified, in %.1f s\n",
			verb, leaving.ID, s.set, s.bucket, s.from.Name, s.to.Name, joined.Vnode.ID, rep.PointsCopied, rep.DeletesCopied, rep.PointsRecopied, rep.Seconds)
	}
	return rep, nil
}

// abortJoining takes the joining vnode of a replica set back out.
func (m *mover) abortJoining(s moveSpec) error {
	rs, err := m.replicaSet(s)
	if err != nil {
		return err
	}
	for _, v := range rs.Vnodes {
		if !v.Joining {
			continue
		}
		q := s.query()
		q.Set("vnode", strconv.FormatUint(v.ID, 10))
		var r struct{ Version uint64 }
		if err := m.call(m.addr, http.MethodPost, "/api/v1/vnodes/abort?"+q.Encode(), time.Minute, &r); err != nil {
			return err
		}
		fmt.Fprintf(m.out, "took joining vnode %d (node %d) out of replica set %d\n", v.ID, v.Node, s.set)
		return nil
	}
	return fmt.Errorf("replica set %d has no joining vnode", s.set)
}

// moveCommands adds ctl move-vnode, copy-vnode, drain and remove-node.
func moveCommands(cmd *cobra.Command, addr, user, password *string) {
	for _, copyOnly := range []bool{false, true} {
		var tenant, db, from, to string
		var bucket, set uint64
		var fillTimeout time.Duration
		var abort bool
		use, short, long := "move-vnode", "Move a replica of a replica set to another node, online",
			"The replica set gets a new vnode on --to that takes every write from then on; once every data node\n"+
				"routes by that placement, the node at --addr copies what the replica on --from shows into it (points\n"+
				"and deletes with their versions) and checks that nothing is missing; then the new vnode becomes a full\n"+
				"member, the one on --from leaves the set and node --from removes its files. Writes and reads go on\n"+
				"throughout. A failure before the switch takes the new vnode back out; nothing else changes. If the\n"+
				"command itself is interrupted, run it again (it resumes with the same new vnode) or take the new\n"+
				"vnode out with --abort."
		if copyOnly {
			use, short, long = "copy-vnode", "Add a replica of a replica set on another node, online (the replication factor of that set grows by one)",
				"As move-vnode, but the replica on --from stays: the set ends with one more full member, on --to."
		}
		c := &cobra.Command{
			Use:   use,
			Short: short,
			Long:  long,
			Example: fmt.Sprintf("  chronogo ctl vnodes --db metrics   # find the bucket and replica set\n"+
				"  chronogo ctl %s --db metrics --bucket 12 --replica-set 13 --from dnode1 --to dnode4", use),
			Args: cobra.NoArgs,
			RunE: func(c *cobra.Command, _ []string) error {
				m := &mover{c: c, addr: *addr, user: *user, password: *password, out: c.OutOrStdout(), fillTimeout: fillTimeout}
				if abort {
					if db == "" || bucket == 0 || set == 0 {
						return fmt.Errorf("%s --abort: --db, --bucket and --replica-set are required", use)
					}
					if err := m.abortJoining(moveSpec{tenant: tenant, db: db, bucket: bucket, set: set}); err != nil {
						return fmt.Errorf("%s --abort: %w", use, err)
					}
					return nil
				}
				if db == "" || bucket == 0 || set == 0 || from == "" || to == "" {
					return fmt.Errorf("%s: --db, --bucket, --replica-set, --from and --to are required", use)
				}
				nodes, err := m.nodes()
				if err != nil {
					return fmt.Errorf("%s: %w", use, err)
				}
				f, err := findNode(nodes, from)
				if err != nil {
					return fmt.Errorf("%s: %w", use, err)
				}
				t, err := findNode(nodes, to)
				if err != nil {
					return fmt.Errorf("%s: %w", use, err)
				}
				if !up(t) {
					return fmt.Errorf("%s: node %s is not an up data node", use, t.Name)
				}
				if _, err := m.move(moveSpec{tenant: tenant, db: db, bucket: bucket, set: set, from: f, to: t, copyOnly: copyOnly}, nodes); err != nil {
					return fmt.Errorf("%s: %w", use, err)
				}
				return nil
			},
		}
		c.Flags().StringVar(&db, "db", "", "the database (required)")
		c.Flags().StringVar(&tenant, "tenant", "default", "its tenant")
		c.Flags().Uint64Var(&bucket, "bucket", 0, "the bucket id (ctl vnodes lists them)")
		c.Flags().Uint64Var(&set, "replica-set", 0, "the replica set id")
		c.Flags().StringVar(&from, "from", "", "the node (id or name) whose replica moves")
		c.Flags().StringVar(&to, "to", "", "the node (id or name) that gets the new replica")
		c.Flags().DurationVar(&fillTimeout, "fill-timeout", 6*time.Hour, "how long the copy may take")
		c.Flags().BoolVar(&abort, "abort", false, "take the replica set's joining vnode (of an interrupted move) back out")
		cmd.AddCommand(c)
	}
	cmd.AddCommand(drainCommand(addr, user, password), removeNodeCommand(addr, user, password))
}

// drainCommand is ctl drain NODE: no new vnodes on it, and every vnode it holds moved away.
func drainCommand(addr, user, password *string) *cobra.Command {
	var fillTimeout time.Duration
	var undo bool
	c := &cobra.Command{
		Use:   "drain NODE",
		Short: "Move every vnode of a data node to the others, online, so that it can be removed",
		Long: "Marks the node draining (new buckets place no vnode on it), then moves each of its vnodes, one\n" +
			"replica set at a time, to the up data node with the fewest vnodes that the set does not use yet\n" +
			"(preferring a zone the set does not use), as move-vnode does; then each replica of a database's\n" +
			"plain shard it holds, to a node that never held one of that shard (the new replica joins the\n" +
			"Raft group and catches up before the node leaves it). Run it again to resume; --undo lets new\n" +
			"buckets use the node again.",
		Example: "  chronogo ctl drain dnode3\n  chronogo ctl remove-node dnode3   # once it holds nothing\n  chronogo ctl drain dnode3 --undo",
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			m := &mover{c: c, addr: *addr, user: *user, password: *password, out: c.OutOrStdout(), fillTimeout: fillTimeout}
			if err := m.drain(args[0], undo); err != nil {
				return fmt.Errorf("drain: %w", err)
			}
			return nil
		},
	}
	c.Flags().DurationVar(&fillTimeout, "fill-timeout", 6*time.Hour, "how long the copy of one vnode may take")
	c.Flags().BoolVar(&undo, "undo", false, "stop draining: new buckets may place vnodes on the node again")
	return c
}

// drain marks the node draining and moves its vnodes away.
func (m *mover) drain(name string, undo bool) error {
	nodes, err := m.nodes()
	if err != nil {
		return err
	}
	node, err := findNode(nodes, name)
	if err != nil {
		return err
	}
	var r struct{}
	q := url.Values{"node": {strconv.FormatUint(node.ID, 10)}, "undo": {strconv.FormatBool(undo)}}
	if err := m.call(m.addr, http.MethodPost, "/api/v1/nodes/drain?"+q.Encode(), time.Minute, &r); err != nil {
		return err
	}
	if undo {
		fmt.Fprintf(m.out, "node %s takes new vnodes again\n", node.Name)
		return nil
	}
	var info httpapi.VnodesInfo
	if err := m.call(m.addr, http.MethodGet, "/api/v1/vnodes", time.Minute, &info); err != nil {
		return err
	}
	load := map[uint64]int{} // vnodes per node, kept up to date as moves are planned
	for _, b := range info.Buckets {
		for _, rs := range b.ReplicaSets {
			for _, v := range rs.Vnodes {
				load[v.Node]++
			}
		}
	}
	type job struct {
		b  httpapi.BucketInfo
		rs httpapi.ReplicaSetInfo
	}
	var jobs []job
	for _, b := range info.Buckets {
		for _, rs := range b.ReplicaSets {
			if slices.ContainsFunc(rs.Vnodes, func(v httpapi.VnodeInfo) bool { return v.Node == node.ID }) {
				jobs = append(jobs, job{b, rs})
			}
		}
	}
	fmt.Fprintf(m.out, "node %s is draining: %d vnodes to move\n", node.Name, len(jobs))
	bar := newProgressOf(m.c.ErrOrStderr(), int64(len(jobs)), "moving vnodes", "vnodes", false)
	var points int64
	for _, j := range jobs {
		target, err := pickTarget(nodes, j.rs, node.ID, load)
		if err != nil {
			return fmt.Errorf("bucket %d replica set %d: %w", j.b.ID, j.rs.ID, err)
		}
		rep, err := m.move(moveSpec{tenant: j.b.Tenant, db: j.b.DB, bucket: j.b.ID, set: j.rs.ID, from: node, to: target, silent: true}, nodes)
		if err != nil {
			return fmt.Errorf("bucket %d replica set %d to node %s: %w", j.b.ID, j.rs.ID, target.Name, err)
		}
		load[target.ID]++
		load[node.ID]--
		points += rep.PointsCopied
		_ = bar.Add(1)
	}
	_ = bar.Finish()
	moved, err := m.drainPlain(node, nodes)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.out, "drained node %s: %d vnodes moved, %d points copied, %d plain shard replicas moved; it holds no vnode now\n",
		node.Name, len(jobs), points, moved)
	return nil
}

// drainPlain moves every replica of a database's plain shard on node away, one after the
// other, to the node pickTarget chooses.
func (m *mover) drainPlain(node httpapi.NodeInfo, nodes []httpapi.NodeInfo) (int, error) {
	var list struct{ Shards []httpapi.PlainShardInfo }
	if err := m.call(m.addr, http.MethodGet, "/api/v1/plain", time.Minute, &list); err != nil {
		return 0, err
	}
	load := map[uint64]int{} // plain replicas per node, kept up to date as moves are made
	for _, p := range list.Shards {
		for _, id := range p.Replicas {
			load[id]++
		}
	}
	moved := 0
	for _, p := range list.Shards {
		if !slices.Contains(p.Replicas, node.ID) {
			continue
		}
		set := httpapi.ReplicaSetInfo{ID: p.ID}
		for _, id := range p.Replicas {
			set.Vnodes = append(set.Vnodes, httpapi.VnodeInfo{Node: id})
		}
		target, err := pickTarget(nodes, set, node.ID, load)
		if err != nil {
			return moved, fmt.Errorf("plain shard of %s.%s: %w", p.Tenant, p.DB, err)
		}
		q := url.Values{"tenant": {p.Tenant}, "db": {p.DB}, "from": {strconv.FormatUint(node.ID, 10)}, "to": {strconv.FormatUint(target.ID, 10)}}
		var r struct{ Seconds float64 }
		if err := m.call(m.addr, http.MethodPost, "/api/v1/plain/move?"+q.Encode(), 10*time.Minute, &r); err != nil {
			return moved, fmt.Errorf("plain shard of %s.%s to node %s: %w", p.Tenant, p.DB, target.Name, err)
		}
		fmt.Fprintf(m.out, "moved the plain shard replica of %s.%s to node %s in %.2f s\n", p.Tenant, p.DB, target.Name, r.Seconds)
		load[target.ID]++
		load[node.ID]--
		moved++
	}
	return moved, nil
}

// pickTarget chooses where a replica set's vnode on node from goes: an up data node, not
// draining, without a vnode of the set, in a zone the set does not use if there is one, with
// the fewest vnodes, then the lowest id.
func pickTarget(nodes []httpapi.NodeInfo, rs httpapi.ReplicaSetInfo, from uint64, load map[uint64]int) (httpapi.NodeInfo, error) {
	used, zones := map[uint64]bool{}, map[string]bool{}
	byID := map[uint64]httpapi.NodeInfo{}
	for _, n := range nodes {
		byID[n.ID] = n
	}
	for _, v := range rs.Vnodes {
		used[v.Node] = true
		if v.Node != from {
			zones[byID[v.Node].Zone] = true
		}
	}
	var best *httpapi.NodeInfo
	better := func(a, b httpapi.NodeInfo) bool {
		if za, zb := !zones[a.Zone], !zones[b.Zone]; za != zb {
			return za
		}
		if load[a.ID] != load[b.ID] {
			return load[a.ID] < load[b.ID]
		}
		return a.ID < b.ID
	}
	for i, n := range nodes {
		if !up(n) || n.Draining || used[n.ID] {
			continue
		}
		if best == nil || better(n, *best) {
			best = &nodes[i]
		}
	}
	if best == nil {
		return httpapi.NodeInfo{}, errors.New("no up data node outside the replica set to move to")
	}
	return *best, nil
}

// removeNodeCommand is ctl remove-node NODE.
func removeNodeCommand(addr, user, password *string) *cobra.Command {
	return &cobra.Command{
		Use:   "remove-node NODE",
		Short: "Forget a data node that holds no vnode (drain it first)",
		Long: "Removes the node from the placement and its non-voting replicas from the meta shards. Refused while\n" +
			"it holds a vnode, for a meta node, and for the node at --addr itself. Stop the node's process first:\n" +
			"a node that starts again registers again.",
		Example: "  chronogo ctl drain dnode3 && chronogo ctl remove-node dnode3",
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			m := &mover{c: c, addr: *addr, user: *user, password: *password, out: c.OutOrStdout()}
			nodes, err := m.nodes()
			if err != nil {
				return fmt.Errorf("remove-node: %w", err)
			}
			node, err := findNode(nodes, args[0])
			if err != nil {
				return fmt.Errorf("remove-node: %w", err)
			}
			var r struct{}
			if err := m.call(m.addr, http.MethodPost, fmt.Sprintf("/api/v1/nodes/remove?node=%d", node.ID), time.Minute, &r); err != nil {
				return fmt.Errorf("remove-node: %w", err)
			}
			fmt.Fprintf(m.out, "removed node %s\n", node.Name)
			return nil
		},
	}
}
