// Package memcache holds a vnode's recent writes in memory, column by column per (series, field,
// type), until a flush turns them into TSM files. One writer, many concurrent readers.
package memcache
