// Package plainrpc lets a node without a replica of a database's plain shard use one on another
// node: the "plain" actor serves proposals, reads and applied indexes; Call sends them.
package plainrpc
