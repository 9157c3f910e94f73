package mql

import (
	"bytes"
	"math"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// $bucketAuto splits the documents, sorted by groupBy, into at most `buckets` buckets of about
// equal counts, never splitting equal values, as MongoDB does: each bucket takes round(n/buckets)
// documents (at least one) plus the following ones with the same value, the last bucket takes
// the rest; _id is {min, max} with max the next bucket's min (the last bucket's own maximum).
// output defaults to {count: {$sum: 1}}. With a granularity (granularity.go) the values must be
// non-negative numbers: a bucket's upper boundary is its last value rounded up in the series, it
// takes the following values below that boundary, the next bucket starts at it, and the first
// bucket's lower boundary is rounded down.
type bucketAutoSpec struct {
	groupBy expr
	buckets int64
	accs    []accSpec
	env     *exprEnv
	mem     int64
	round   rounder // nil: no granularity
}

func compileBucketAuto(arg bson.RawValue, o PipelineOptions, env *exprEnv) (stageSpec, error) {
	if arg.Type != bson.TypeEmbeddedDocument {
		return nil, errf(40240, "The argument to $bucketAuto must be an object, but found type: %s.", typeName(arg.Type))
	}
	s := &bucketAutoSpec{env: env, mem: o.Sort.Memory}
	if s.mem <= 0 {
		s.mem = DefaultSortMemory
	}
	var groupBy, buckets, output bson.RawValue
	els, _ := elements(arg.Value)
	for _, e := range els {
		switch e.key {
		case "groupBy":
			groupBy = e.val
		case "buckets":
			buckets = e.val
		case "output":
			output = e.val
		case "granularity":
			if e.val.Type != bson.TypeString {
				return nil, errf(40261, "The $bucketAuto 'granularity' field must be a string, but found type: %s.", typeName(e.val.Type))
			}
			if s.round = rounderFor(e.val.StringValue()); s.round == nil {
				return nil, errf(40257, "Unknown rounding granularity '%s'", e.val.StringValue())
			}
		default:
			return nil, errf(40245, "Unrecognized option to $bucketAuto: %s.", e.key)
		}
	}
	if groupBy.Type == 0 || buckets.Type == 0 {
		return nil, errf(40246, "$bucketAuto requires 'groupBy' and 'buckets' to be specified")
	}
	if err := groupByExpr(groupBy, 40239, 40239, "The $bucketAuto 'groupBy' field"); err != nil {
		return nil, err
	}
	n, ok := exactInt(buckets)
	if !ok || n > math.MaxInt32 {
		return nil, errf(40241, "The $bucketAuto 'buckets' field must be a numeric value, but found type: %s", typeName(buckets.Type))
	}
	if n <= 0 {
		return nil, errf(40243, "The $bucketAuto 'buckets' field must be greater than 0, but found: %d", n)
	}
	s.buckets = n
	x, err := compileExpr(groupBy, env)
	if err != nil {
		return nil, err
	}
	s.groupBy = x
	outDoc := []byte(nil)
	switch output.Type {
	case 0:
		one := newBuilder(16)
		one.add("$sum", vInt32(1))
		b := newBuilder(32)
		b.add("count", one.doc())
		outDoc = b.finish()
	case bson.TypeEmbeddedDocument:
		outDoc = output.Value
	default:
		return nil, errf(40244, "The $bucketAuto 'output' field must be an object, but found type: %s.", typeName(output.Type))
	}
	fields, _ := elements(outDoc)
	if s.accs, err = compileAccumulators("$bucketAuto", fields, env); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *bucketAutoSpec) start() stage { return &bucketAutoStage{spec: s} }

type keyedDoc struct {
	key bson.RawValue
	doc []byte
}

type bucketAutoStage struct {
	spec *bucketAutoSpec
	docs []keyedDoc
	held int64
}

func (b *bucketAutoStage) process(doc []byte, _ func([]byte) error) error {
	doc = bytes.Clone(doc)
	key, err := b.spec.groupBy.eval(&evalEnv{root: doc, static: b.spec.env})
	if err != nil {
		return err
	}
	if isMissing(key) {
		key = vNull()
	}
	if b.spec.round != nil {
		switch {
		case !isNumber(key.Type):
			return errf(40258, "$bucketAuto can specify a 'granularity' with numeric boundaries only, but found a value with type: %s", typeName(key.Type))
		case math.IsNaN(toFloat(key)):
			return errf(40259, "$bucketAuto can specify a 'granularity' with numeric boundaries only, but found a NaN")
		case toFloat(key) < 0:
			return errf(40260, "$bucketAuto can specify a 'granularity' with numeric boundaries only, but found a negative value: %s", key.String())
		}
	}
	key = cloneValue(key)
	b.held += int64(len(doc) + len(key.Value))
	if b.held > b.spec.mem {
		return errf(mongoerr.QueryExceededMemoryLimitNoDiskUseAllowed, "$bucketAuto holds more than the %d bytes a blocking stage may use", b.spec.mem)
	}
	b.docs = append(b.docs, keyedDoc{key, doc})
	return nil
}

func (b *bucketAutoStage) flush(emit func([]byte) error) error {
	docs := b.docs
	slices.SortStableFunc(docs, func(x, y keyedDoc) int { return CompareValues(x.key, y.key) })
	n := len(docs)
	if n == 0 {
		return nil
	}
	size := max(1, int(math.Round(float64(n)/float64(b.spec.buckets))))
	if b.spec.round != nil {
		return b.flushRounded(docs, size, emit)
	}
	type bucket struct{ from, to int } // docs[from:to]
	var bs []bucket
	for i := 0; i < n; {
		end := n
		if int64(len(bs)) < b.spec.buckets-1 {
			end = min(n, i+size)
			for end < n && CompareValues(docs[end].key, docs[end-1].key) == 0 {
				end++ // equal values stay in one bucket
			}
		}
		bs = append(bs, bucket{i, end})
		i = end
	}
	for k, bk := range bs {
		maxV := docs[bk.to-1].key
		if k+1 < len(bs) {
			maxV = docs[bs[k+1].from].key
		}
		if err := b.emitBucket(docs[bk.from:bk.to], docs[bk.from].key, maxV, emit); err != nil {
			return err
		}
	}
	b.docs = nil
	return nil
}

// emitBucket emits one bucket of docs with _id {min, max} and its accumulators.
func (b *bucketAutoStage) emitBucket(docs []keyedDoc, minV, maxV bson.RawValue, emit func([]byte) error) error {
	id := newBuilder(64)
	id.add("min", minV)
	id.add("max", maxV)
	st := newGroupState(missing, b.spec.accs)
	for _, d := range docs {
		if err := st.add(b.spec.accs, &evalEnv{root: d.doc, static: b.spec.env}); err != nil {
			return err
		}
	}
	out := newBuilder(128)
	out.add("_id", id.doc())
	for i, s := range b.spec.accs {
		out.add(s.name, st.accs[i].result())
	}
	return emit(out.finish())
}

// flushRounded emits the buckets of sorted docs with granularity boundaries: each bucket but the
// last takes size documents, then the following ones below its last value rounded up, which is
// its upper boundary and the next bucket's lower one.
func (b *bucketAutoStage) flushRounded(docs []keyedDoc, size int, emit func([]byte) error) error {
	r := b.spec.round
	lo := r.roundDown(toFloat(docs[0].key))
	for i, k := 0, int64(0); i < len(docs); k++ {
		end := len(docs)
		hi := r.roundUp(toFloat(docs[end-1].key))
		if k < b.spec.buckets-1 {
			end = min(len(docs), i+size)
			hi = r.roundUp(toFloat(docs[end-1].key))
			for end < len(docs) && toFloat(docs[end].key) < hi {
				end++
			}
			if hi == 0 && end < len(docs) { // every value so far is 0: end below the next one
				hi = r.roundDown(toFloat(docs[end].key))
			}
			if end == len(docs) {
				hi = r.roundUp(toFloat(docs[end-1].key))
			}
		}
		if err := b.emitBucket(docs[i:end], vDouble(lo), vDouble(hi), emit); err != nil {
			return err
		}
		lo, i = hi, end
	}
	b.docs = nil
	return nil
}
