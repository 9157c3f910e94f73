// Package smtest holds the tests every meta shard runs against its smcodec.Machine: determinism,
// snapshots through dragonboat's interface, damaged frames, bad commands and a golden digest.
package smtest
