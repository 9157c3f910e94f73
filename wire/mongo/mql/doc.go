// Package mql evaluates MongoDB's query language on BSON documents: filters, projections, sorts,
// aggregation expressions and pipeline stages, and extracts the part of a filter storage can push down.
//
// The $timeWindow stage (a ChronoGo extension) groups documents into fixed windows:
//
//	{$timeWindow: {timestamp: "$<timeField>", window: "1h", offset: "15m",
//	               partitionBy: <expr>, output: {<name>: {<accumulator>: <expr>}, ...}}}
//
// timestamp defaults to the collection's timeField; window and offset are durations made of
// numbers with units ms, s, m, h, d, w ("1h30m", "-15m") or a number of milliseconds. Windows are
// [start, start+window) with start = floor((t-offset)/window)*window + offset, aligned to the Unix
// epoch. Documents whose timestamp is null or missing are skipped; other non-dates are an error.
// It emits one document per non-empty window (and partition), ordered by window start then
// partition:
//
//	{_id: {timestamp: <window start date>, partition: <partitionBy value>}, <name>: <result>, ...}
//
// where partition is present only with partitionBy. Accumulators are those of $group.
package mql
