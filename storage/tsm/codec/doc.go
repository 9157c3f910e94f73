// Package codec holds the pure column codecs of the TSM file format (timestamps, ints, uints, floats,
// bools, bytes): append-style Encode*, validating Decode*. Format: storage/docs/format/codec.md
package codec
