package main

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// nodeMongoURI is the MongoDB connection string of the node whose HTTP address is addr, for the
// commands that read or write through the MongoDB wire but, like every command that talks to a
// running node, are given its HTTP address (--addr): the node's own entry of GET /api/v1/nodes
// names its MongoDB address; user and password (with --auth) go into the string, with
// authSource admin; an https address means TLS on the MongoDB port too.
func nodeMongoURI(c *cobra.Command, addr, user, password string) (string, error) {
	var r struct {
		Nodes []struct {
			MongoAddr string `json:"mongoAddr"`
			Self      bool   `json:"self"`
		} `json:"nodes"`
	}
	if err := adminCall(c, "GET", addr, "/api/v1/nodes", user, password, 30*time.Second, &r); err != nil {
		return "", fmt.Errorf("ask %s for its MongoDB address: %w", addr, err)
	}
	mongoAddr := ""
	for _, n := range r.Nodes {
		if n.Self {
			mongoAddr = n.MongoAddr
		}
	}
	if mongoAddr == "" {
		return "", fmt.Errorf("the node at %s serves no MongoDB clients (a meta node?): give a data node's address or --uri", addr)
	}
	u := url.URL{Scheme: "mongodb", Host: mongoAddr, Path: "/"}
	q := url.Values{"directConnection": {"true"}}
	if user != "" {
		u.User = url.UserPassword(user, password)
		q.Set("authSource", "admin")
	}
	if strings.HasPrefix(addr, "https://") {
		q.Set("tls", "true")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// mongoTarget is the connection string a wire command uses: --uri when given, else the one of
// the node at --addr.
func mongoTarget(c *cobra.Command, uri, addr, user, password string) (string, error) {
	if c.Flags().Changed("uri") {
		if c.Flags().Changed("addr") {
			return "", fmt.Errorf("give --addr (the node's HTTP address) or --uri, not both")
		}
		return uri, nil
	}
	return nodeMongoURI(c, addr, user, password)
}
