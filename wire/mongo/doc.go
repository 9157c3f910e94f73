// Package mongo is ChronoGo's MongoDB wire protocol server: message framing (OP_MSG, OP_QUERY,
// OP_REPLY), the command handlers of a time-series MongoDB 8.0, and server-side cursors.
package mongo
