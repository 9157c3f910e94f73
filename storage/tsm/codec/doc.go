// Package codec holds the pure column codecs of the TSM file format: timestamps, ints, uints, floats,
// bools and bytes, each an append-style Encode and a validating Decode. Format: ../../docs/format/codec.md
package codec
