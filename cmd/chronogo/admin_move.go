package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/chronogo/chronogo/actors/coordinator"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/tlsmode"
)

// MoveVnode runs a whole vnode move from the admin API (the console's action): the same steps
// as ctl move-vnode, driven from this node through its own admin address and the other nodes'.
func (a nodeAdmin) MoveVnode(ctx context.Context, mv meta.VnodeMove, from, to string, user, password string) (coordinator.FillReport, error) {
	if a.httpAddr == "" {
		return coordinator.FillReport{}, fmt.Errorf("%w: this node's admin API takes TLS only: run chronogo ctl move-vnode", meta.ErrInvalid)
	}
	c := &cobra.Command{}
	c.SetContext(ctx)
	c.SetOut(io.Discard)
	c.SetErr(io.Discard)
	m := &mover{c: c, addr: a.httpAddr, user: user, password: password, out: io.Discard, fillTimeout: 6 * time.Hour}
	nodes, err := m.nodes()
	if err != nil {
		return coordinator.FillReport{}, err
	}
	f, err := findNode(nodes, from)
	if err != nil {
		return coordinator.FillReport{}, fmt.Errorf("%w: %v", meta.ErrNotFound, err)
	}
	t, err := findNode(nodes, to)
	if err != nil {
		return coordinator.FillReport{}, fmt.Errorf("%w: %v", meta.ErrNotFound, err)
	}
	if !up(t) {
		return coordinator.FillReport{}, fmt.Errorf("%w: node %s is not an up data node", meta.ErrConflict, t.Name)
	}
	return m.move(moveSpec{tenant: mv.Tenant, db: mv.DB, bucket: mv.BucketID, set: mv.ReplicaSetID, from: f, to: t}, nodes)
}

// adminBase is the address through which this node calls its own admin API (MoveVnode): its
// HTTP listener, "" when that takes TLS connections only.
func adminBase(cfg config, ln net.Listener) string {
	if ln == nil || (cfg.tls != nil && cfg.tls.mode == tlsmode.Require) {
		return ""
	}
	return ln.Addr().String()
}
