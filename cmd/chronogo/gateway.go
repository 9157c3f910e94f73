package main

import (
	"context"
	"errors"

	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/actors/gateway"
	"github.com/chronogo/chronogo/actors/node"
	"github.com/chronogo/chronogo/wire/backend"
	"github.com/chronogo/chronogo/wire/mongo"
)

// startGateway starts the client gateway of the Go SDK on a node with an actor address (a data
// node, or a standalone server started with --actor-addr); under --auth a session is a user of
// admin with the databases it may write.
func startGateway(cfg config, n *node.Node, b *backend.Backend, ms *mongo.Server, log logrus.FieldLogger) error {
	if cfg.ActorAddr == "" {
		return nil
	}
	gc := gateway.Config{NodeID: cfg.nodeID(), Write: b, Scan: b, Code: backend.ClientErrorCode, Logger: log.WithField("component", "gateway"),
		PlacementVersion: b.PlacementVersion}
	if cfg.Auth {
		gc.Auth = func(ctx context.Context, user, password string) (gateway.Session, error) {
			u, ok, err := ms.CheckPassword(ctx, "admin", user, password)
			if err != nil {
				return gateway.Session{}, err
			}
			if !ok {
				return gateway.Session{}, errors.New("wrong user or password")
			}
			return gateway.Session{Tenant: u.Tenant, MayWrite: func(db string) bool { return mongo.MayWrite(u.Roles, db) },
				MayRead: func(db string) bool { return mongo.MayRead(u.Roles, db) }}, nil
		}
	}
	_, err := gateway.Spawn(n.System(), gc)
	return err
}
