// Package promremote decodes and encodes Prometheus remote write 1.0 and remote read (SAMPLES)
// messages: snappy block-compressed protobuf, read and written field by field with protowire.
package promremote

import (
	"errors"
	"fmt"
	"math"

	"github.com/golang/snappy"
	"google.golang.org/protobuf/encoding/protowire"
)

// Label is one label of a series.
type Label struct{ Name, Value string }

// Sample is one value at a time in milliseconds.
type Sample struct {
	Value       float64
	TimestampMs int64
}

// TimeSeries is a series' labels and samples.
type TimeSeries struct {
	Labels  []Label
	Samples []Sample
}

// MatchType is a label matcher's operator.
type MatchType int

// Prometheus' matcher types.
const (
	MatchEqual     MatchType = 0 // =
	MatchNotEqual  MatchType = 1 // !=
	MatchRegexp    MatchType = 2 // =~
	MatchNotRegexp MatchType = 3 // !~
)

// Matcher selects series by one label.
type Matcher struct {
	Type        MatchType
	Name, Value string
}

// Query is one query of a remote read: series matching every matcher, samples in [Start, End] ms.
type Query struct {
	StartMs, EndMs int64
	Matchers       []Matcher
}

// ReadRequest is a remote read request.
type ReadRequest struct {
	Queries []Query
	// SamplesAccepted is false when the client lists response types without SAMPLES (only
	// streamed chunks, which ChronoGo does not answer).
	SamplesAccepted bool
}

// ErrMalformed wraps every decoding error.
var ErrMalformed = errors.New("malformed protobuf")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Decompress decodes a snappy block of at most max decoded bytes (checked before anything is
// allocated).
func Decompress(body []byte, max int) ([]byte, error) {
	n, err := snappy.DecodedLen(body)
	if err != nil {
		return nil, fmt.Errorf("snappy: %w", err)
	}
	if n > max {
		return nil, fmt.Errorf("snappy block of %d decoded bytes: more than %d", n, max)
	}
	out, err := snappy.Decode(make([]byte, n), body)
	if err != nil {
		return nil, fmt.Errorf("snappy: %w", err)
	}
	return out, nil
}

// Compress encodes b as a snappy block.
func Compress(b []byte) []byte { return snappy.Encode(nil, b) }

// field reads one field of b: its number, wire type, and value bytes (for bytes fields) or
// number (varints and fixed64), and the rest of b.
type field struct {
	num  protowire.Number
	typ  protowire.Type
	data []byte
	n    uint64
}

func nextField(b []byte) (field, []byte, error) {
	num, typ, k := protowire.ConsumeTag(b)
	if k < 0 {
		return field{}, nil, malformed("tag: %v", protowire.ParseError(k))
	}
	b = b[k:]
	f := field{num: num, typ: typ}
	switch typ {
	case protowire.VarintType:
		f.n, k = protowire.ConsumeVarint(b)
	case protowire.Fixed64Type:
		f.n, k = protowire.ConsumeFixed64(b)
	case protowire.Fixed32Type:
		var v uint32
		v, k = protowire.ConsumeFixed32(b)
		f.n = uint64(v)
	case protowire.BytesType:
		f.data, k = protowire.ConsumeBytes(b)
	default:
		k = protowire.ConsumeFieldValue(num, typ, b)
	}
	if k < 0 {
		return field{}, nil, malformed("field %d: %v", num, protowire.ParseError(k))
	}
	return f, b[k:], nil
}

// each calls fn with every field of message b.
func each(b []byte, fn func(f field) error) error {
	for len(b) > 0 {
		f, rest, err := nextField(b)
		if err != nil {
			return err
		}
		if err := fn(f); err != nil {
			return err
		}
		b = rest
	}
	return nil
}

// want checks a field's wire type.
func want(f field, typ protowire.Type, what string) error {
	if f.typ != typ {
		return malformed("%s has wire type %d", what, f.typ)
	}
	return nil
}

// DecodeWriteRequest calls fn with each series of a remote write request (prometheus.WriteRequest:
// 1 timeseries, 3 metadata), reusing ts between calls. Samples and labels are validated only as
// protobuf; their meaning is the caller's.
func DecodeWriteRequest(b []byte, ts *TimeSeries, fn func(ts *TimeSeries) error) error {
	return each(b, func(f field) error {
		if f.num != 1 {
			return nil // metadata (3) and unknown fields
		}
		if err := want(f, protowire.BytesType, "timeseries"); err != nil {
			return err
		}
		ts.Labels, ts.Samples = ts.Labels[:0], ts.Samples[:0]
		if err := decodeSeries(f.data, ts); err != nil {
			return err
		}
		return fn(ts)
	})
}

// decodeSeries decodes prometheus.TimeSeries: 1 labels, 2 samples (3 exemplars, 4 histograms are
// skipped).
func decodeSeries(b []byte, ts *TimeSeries) error {
	return each(b, func(f field) error {
		switch f.num {
		case 1:
			if err := want(f, protowire.BytesType, "label"); err != nil {
				return err
			}
			var l Label
			err := each(f.data, func(g field) error {
				if g.num != 1 && g.num != 2 {
					return nil
				}
				if err := want(g, protowire.BytesType, "label name or value"); err != nil {
					return err
				}
				if g.num == 1 {
					l.Name = string(g.data)
				} else {
					l.Value = string(g.data)
				}
				return nil
			})
			if err != nil {
				return err
			}
			ts.Labels = append(ts.Labels, l)
		case 2:
			if err := want(f, protowire.BytesType, "sample"); err != nil {
				return err
			}
			var s Sample
			err := each(f.data, func(g field) error {
				switch g.num {
				case 1:
					if err := want(g, protowire.Fixed64Type, "sample value"); err != nil {
						return err
					}
					s.Value = math.Float64frombits(g.n)
				case 2:
					if err := want(g, protowire.VarintType, "sample timestamp"); err != nil {
						return err
					}
					s.TimestampMs = int64(g.n)
				}
				return nil
			})
			if err != nil {
				return err
			}
			ts.Samples = append(ts.Samples, s)
		}
		return nil
	})
}

// maxQueries and maxMatchers bound a read request.
const (
	maxQueries  = 1000
	maxMatchers = 1000
)

// DecodeReadRequest decodes prometheus.ReadRequest: 1 queries, 2 accepted_response_types.
func DecodeReadRequest(b []byte) (ReadRequest, error) {
	var r ReadRequest
	types := 0
	err := each(b, func(f field) error {
		switch f.num {
		case 1:
			if err := want(f, protowire.BytesType, "query"); err != nil {
				return err
			}
			if len(r.Queries) >= maxQueries {
				return malformed("more than %d queries", maxQueries)
			}
			q, err := decodeQuery(f.data)
			if err != nil {
				return err
			}
			r.Queries = append(r.Queries, q)
		case 2:
			// packed or not
			add := func(v uint64) {
				types++
				if v == 0 {
					r.SamplesAccepted = true
				}
			}
			switch f.typ {
			case protowire.VarintType:
				add(f.n)
			case protowire.BytesType:
				p := f.data
				for len(p) > 0 {
					v, k := protowire.ConsumeVarint(p)
					if k < 0 {
						return malformed("accepted_response_types: %v", protowire.ParseError(k))
					}
					add(v)
					p = p[k:]
				}
			default:
				return malformed("accepted_response_types has wire type %d", f.typ)
			}
		}
		return nil
	})
	if types == 0 {
		r.SamplesAccepted = true // an old client: SAMPLES only
	}
	return r, err
}

// decodeQuery decodes prometheus.Query: 1 start_timestamp_ms, 2 end_timestamp_ms, 3 matchers
// (4 hints skipped).
func decodeQuery(b []byte) (Query, error) {
	var q Query
	err := each(b, func(f field) error {
		switch f.num {
		case 1, 2:
			if err := want(f, protowire.VarintType, "query time"); err != nil {
				return err
			}
			if f.num == 1 {
				q.StartMs = int64(f.n)
			} else {
				q.EndMs = int64(f.n)
			}
		case 3:
			if err := want(f, protowire.BytesType, "matcher"); err != nil {
				return err
			}
			if len(q.Matchers) >= maxMatchers {
				return malformed("more than %d matchers", maxMatchers)
			}
			var m Matcher
			err := each(f.data, func(g field) error {
				switch g.num {
				case 1:
					if err := want(g, protowire.VarintType, "matcher type"); err != nil {
						return err
					}
					if g.n > 3 {
						return malformed("matcher type %d", g.n)
					}
					m.Type = MatchType(g.n)
				case 2, 3:
					if err := want(g, protowire.BytesType, "matcher name or value"); err != nil {
						return err
					}
					if g.num == 2 {
						m.Name = string(g.data)
					} else {
						m.Value = string(g.data)
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			q.Matchers = append(q.Matchers, m)
		}
		return nil
	})
	return q, err
}

// AppendSeries appends a prometheus.TimeSeries message body (labels, then samples).
func AppendSeries(dst []byte, ts *TimeSeries) []byte {
	var tmp []byte
	for _, l := range ts.Labels {
		tmp = protowire.AppendTag(tmp[:0], 1, protowire.BytesType)
		tmp = protowire.AppendString(tmp, l.Name)
		tmp = protowire.AppendTag(tmp, 2, protowire.BytesType)
		tmp = protowire.AppendString(tmp, l.Value)
		dst = protowire.AppendTag(dst, 1, protowire.BytesType)
		dst = protowire.AppendBytes(dst, tmp)
	}
	for _, s := range ts.Samples {
		tmp = protowire.AppendTag(tmp[:0], 1, protowire.Fixed64Type)
		tmp = protowire.AppendFixed64(tmp, math.Float64bits(s.Value))
		tmp = protowire.AppendTag(tmp, 2, protowire.VarintType)
		tmp = protowire.AppendVarint(tmp, uint64(s.TimestampMs))
		dst = protowire.AppendTag(dst, 2, protowire.BytesType)
		dst = protowire.AppendBytes(dst, tmp)
	}
	return dst
}

// AppendWriteRequest appends a prometheus.WriteRequest of series.
func AppendWriteRequest(dst []byte, series []TimeSeries) []byte {
	for i := range series {
		dst = protowire.AppendTag(dst, 1, protowire.BytesType)
		dst = protowire.AppendBytes(dst, AppendSeries(nil, &series[i]))
	}
	return dst
}

// AppendReadRequest appends a prometheus.ReadRequest of queries accepting SAMPLES.
func AppendReadRequest(dst []byte, queries []Query) []byte {
	for _, q := range queries {
		var qb []byte
		qb = protowire.AppendTag(qb, 1, protowire.VarintType)
		qb = protowire.AppendVarint(qb, uint64(q.StartMs))
		qb = protowire.AppendTag(qb, 2, protowire.VarintType)
		qb = protowire.AppendVarint(qb, uint64(q.EndMs))
		for _, m := range q.Matchers {
			var mb []byte
			mb = protowire.AppendTag(mb, 1, protowire.VarintType)
			mb = protowire.AppendVarint(mb, uint64(m.Type))
			mb = protowire.AppendTag(mb, 2, protowire.BytesType)
			mb = protowire.AppendString(mb, m.Name)
			mb = protowire.AppendTag(mb, 3, protowire.BytesType)
			mb = protowire.AppendString(mb, m.Value)
			qb = protowire.AppendTag(qb, 3, protowire.BytesType)
			qb = protowire.AppendBytes(qb, mb)
		}
		dst = protowire.AppendTag(dst, 1, protowire.BytesType)
		dst = protowire.AppendBytes(dst, qb)
	}
	dst = protowire.AppendTag(dst, 2, protowire.VarintType)
	return protowire.AppendVarint(dst, 0)
}

// ResponseWriter builds a prometheus.ReadResponse: one QueryResult (field 1) per query, each of
// series (field 1).
type ResponseWriter struct {
	buf    []byte
	result []byte
}

// AddSeries adds a series to the current query's result.
func (w *ResponseWriter) AddSeries(ts *TimeSeries) {
	w.result = protowire.AppendTag(w.result, 1, protowire.BytesType)
	w.result = protowire.AppendBytes(w.result, AppendSeries(nil, ts))
}

// EndQuery closes the current query's result.
func (w *ResponseWriter) EndQuery() {
	w.buf = protowire.AppendTag(w.buf, 1, protowire.BytesType)
	w.buf = protowire.AppendBytes(w.buf, w.result)
	w.result = w.result[:0]
}

// Bytes is the encoded response.
func (w *ResponseWriter) Bytes() []byte { return w.buf }

// DecodeReadResponse decodes a prometheus.ReadResponse into one list of series per query.
func DecodeReadResponse(b []byte) ([][]TimeSeries, error) {
	var out [][]TimeSeries
	err := each(b, func(f field) error {
		if f.num != 1 {
			return nil
		}
		if err := want(f, protowire.BytesType, "query result"); err != nil {
			return err
		}
		var series []TimeSeries
		err := each(f.data, func(g field) error {
			if g.num != 1 {
				return nil
			}
			if err := want(g, protowire.BytesType, "timeseries"); err != nil {
				return err
			}
			var ts TimeSeries
			if err := decodeSeries(g.data, &ts); err != nil {
				return err
			}
			series = append(series, ts)
			return nil
		})
		out = append(out, series)
		return err
	})
	return out, err
}
