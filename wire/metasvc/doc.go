// Package metasvc is the meta nodes' HTTP service for cluster membership: /meta/hello (who is this
// meta node: bootstrap discovery) and /meta/join (add a data node as a non-voting meta replica).
package metasvc
