package mql

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// $densify (MongoDB 5.1+) adds documents where a sequence of field values has gaps:
//
//	{$densify: {field: "ts", partitionByFields: ["meta"], range: {step: 1, unit: "minute", bounds: "full"}}}
//
// bounds "partition" fills each partition between its own first and last value, "full" between
// the first and last value of the whole input, [lo, hi] from lo (included) to hi (excluded). An
// added document holds only the field and the partition fields. The output is sorted by the
// partitions (in the order they first appear) and the field. Documents without the field pass
// through at the end of their partition. Dates step by fixed units (millisecond to week) or by
// calendar units (month, quarter, year: whole steps, counted from the first value and clamped to
// the end of shorter months, as $dateAdd does). Everything is held in memory, up to the sort
// memory.
type densifySpec struct {
	field      []string
	fieldName  string
	partitions []string
	step       float64
	unitMs     float64 // 0: numbers
	months     int     // calendar units: months per unit (unitMs is then 1)
	boundsKind string  // "full", "partition" or "range"
	lo, hi     float64
	mem        int64
}

func compileDensify(arg bson.RawValue, o PipelineOptions) (stageSpec, error) {
	if arg.Type != bson.TypeEmbeddedDocument {
		return nil, errf(mongoerr.TypeMismatch, "BSON field '$densify' is the wrong type '%s', expected type 'object'", typeName(arg.Type))
	}
	s := &densifySpec{mem: o.Sort.Memory}
	if s.mem <= 0 {
		s.mem = DefaultSortMemory
	}
	var rng bson.RawValue
	els, _ := elements(arg.Value)
	for _, e := range els {
		switch e.key {
		case "field":
			if e.val.Type != bson.TypeString || e.val.StringValue() == "" || strings.HasPrefix(e.val.StringValue(), "$") {
				return nil, errf(mongoerr.FailedToParse, "'field' must be a field name, not %s", e.val.String())
			}
			s.fieldName = e.val.StringValue()
			s.field = strings.Split(s.fieldName, ".")
		case "partitionByFields":
			if e.val.Type != bson.TypeArray {
				return nil, errf(mongoerr.TypeMismatch, "BSON field '$densify.partitionByFields' is the wrong type '%s', expected type 'array'", typeName(e.val.Type))
			}
			ps, _ := elements(e.val.Value)
			for _, p := range ps {
				if p.val.Type != bson.TypeString || strings.HasPrefix(p.val.StringValue(), "$") {
					return nil, errf(mongoerr.FailedToParse, "'partitionByFields' values must be field names")
				}
				s.partitions = append(s.partitions, p.val.StringValue())
			}
		case "range":
			rng = e.val
		default:
			return nil, errf(mongoerr.IDLUnknownField, "BSON field '$densify.%s' is an unknown field.", e.key)
		}
	}
	if s.field == nil {
		return nil, errf(mongoerr.IDLFailedToParse, "BSON field '$densify.field' is missing but a required field")
	}
	if rng.Type != bson.TypeEmbeddedDocument {
		return nil, errf(mongoerr.IDLFailedToParse, "BSON field '$densify.range' is missing but a required field")
	}
	var bounds bson.RawValue
	rs, _ := elements(rng.Value)
	for _, e := range rs {
		switch e.key {
		case "step":
			if !isNumber(e.val.Type) || toFloat(e.val) <= 0 {
				return nil, errf(5733401, "the step parameter in a range statement must be a strictly positive numeric value")
			}
			s.step = toFloat(e.val)
		case "unit":
			if m, ok := calendarMonths[e.val.StringValue()]; ok && e.val.Type == bson.TypeString {
				s.unitMs, s.months = 1, m
				continue
			}
			ms, ok := windowUnits[e.val.StringValue()]
			if e.val.Type != bson.TypeString || !ok {
				return nil, errf(mongoerr.FailedToParse, "unknown time unit value: %s", e.val.String())
			}
			s.unitMs = ms
		case "bounds":
			bounds = e.val
		default:
			return nil, errf(mongoerr.IDLUnknownField, "BSON field '$densify.range.%s' is an unknown field.", e.key)
		}
	}
	if s.step == 0 {
		return nil, errf(mongoerr.IDLFailedToParse, "BSON field '$densify.range.step' is missing but a required field")
	}
	if s.months > 0 && (s.step != math.Trunc(s.step) || s.step > 1e6) {
		return nil, errf(6586400, "The step parameter in a range statement must be a whole number when densifying a date range")
	}
	switch {
	case bounds.Type == bson.TypeString && (bounds.StringValue() == "full" || bounds.StringValue() == "partition"):
		s.boundsKind = bounds.StringValue()
	case bounds.Type == bson.TypeArray:
		bs, _ := elements(bounds.Value)
		if len(bs) != 2 {
			return nil, errf(5733403, "a bounding array in a range statement must have exactly two elements")
		}
		num := func(v bson.RawValue) (float64, bool) {
			switch {
			case s.unitMs > 0 && v.Type == bson.TypeDateTime:
				return float64(v.DateTime()), true
			case s.unitMs == 0 && isNumber(v.Type):
				return toFloat(v), true
			}
			return 0, false
		}
		lo, ok1 := num(bs[0].val)
		hi, ok2 := num(bs[1].val)
		if !ok1 || !ok2 {
			return nil, errf(5733402, "a bounding array must contain either both dates (with a unit) or both numbers (without)")
		}
		if lo > hi {
			return nil, errf(5733404, "the lower bound of a range must not be greater than the upper bound")
		}
		s.boundsKind, s.lo, s.hi = "range", lo, hi
	default:
		return nil, errf(5946800, "bounds must be 'full', 'partition', or an array of two values")
	}
	return s, nil
}

func (s *densifySpec) start() stage { return &densifyStage{spec: s, parts: map[string]*densifyPart{}} }

type densifyPart struct {
	key     bson.D // the partition fields' values, for added documents
	docs    [][]byte
	xs      []float64
	without [][]byte // documents without the field
}

type densifyStage struct {
	spec   *densifySpec
	parts  map[string]*densifyPart
	order  []*densifyPart
	held   int64
	kbuf   []byte
	lo, hi float64 // of the whole input
	any    bool
}

func (d *densifyStage) process(doc []byte, _ func([]byte) error) error {
	d.kbuf = d.kbuf[:0]
	var key bson.D
	for _, p := range d.spec.partitions {
		v := exprPath(vDoc(doc), strings.Split(p, "."))
		d.kbuf = appendKey(d.kbuf, v)
		if !isMissing(v) {
			key = append(key, bson.E{Key: p, Value: cloneValue(v)})
		}
	}
	part := d.parts[string(d.kbuf)]
	if part == nil {
		part = &densifyPart{key: key}
		d.parts[string(d.kbuf)] = part
		d.order = append(d.order, part)
	}
	doc = bytes.Clone(doc)
	d.held += int64(len(doc))
	if d.held > d.spec.mem {
		return errf(mongoerr.QueryExceededMemoryLimitNoDiskUseAllowed, "$densify holds more than the %d bytes a blocking stage may use", d.spec.mem)
	}
	v := exprPath(vDoc(doc), d.spec.field)
	var x float64
	switch {
	case isMissing(v) || v.Type == bson.TypeNull:
		part.without = append(part.without, doc)
		return nil
	case d.spec.unitMs > 0 && v.Type == bson.TypeDateTime:
		x = float64(v.DateTime())
	case d.spec.unitMs == 0 && isNumber(v.Type):
		x = toFloat(v)
	default:
		return errf(5733201, "Densify field type must be numeric or a date matching the unit, found %s", typeName(v.Type))
	}
	part.docs, part.xs = append(part.docs, doc), append(part.xs, x)
	if !d.any || x < d.lo {
		d.lo = x
	}
	if !d.any || x > d.hi {
		d.hi = x
	}
	d.any = true
	return nil
}

// maxDensifyDocs is how many documents one $densify may add (MongoDB's
// internalQueryMaxAllowedDensifyDocs).
const maxDensifyDocs = 500_000

func (d *densifyStage) flush(emit func([]byte) error) error {
	step := d.spec.step
	added := 0
	if d.spec.unitMs > 0 {
		step *= d.spec.unitMs
	}
	for _, p := range d.order {
		idx := make([]int, len(p.docs))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int {
			switch {
			case p.xs[a] < p.xs[b]:
				return -1
			case p.xs[a] > p.xs[b]:
				return 1
			}
			return 0
		})
		lo, hi, inclusive := d.lo, d.hi, true
		switch d.spec.boundsKind {
		case "partition":
			if len(idx) == 0 {
				lo, hi = 0, -1
			} else {
				lo, hi = p.xs[idx[0]], p.xs[idx[len(idx)-1]]
			}
		case "range":
			lo, hi, inclusive = d.spec.lo, d.spec.hi, false
		}
		if !d.any && d.spec.boundsKind != "range" {
			lo, hi = 0, -1
		}
		next := lo // the next value to add where no document has it
		k := int64(0)
		advance := func() {
			if k++; d.spec.months > 0 {
				next = float64(addMonths(int64(lo), k*int64(d.spec.step)*int64(d.spec.months)))
			} else {
				next += step
			}
		}
		emitAdded := func(until float64, stopAtEqual bool) error {
			for next < until || (!stopAtEqual && next == until) {
				if next > hi || (!inclusive && next >= hi) {
					return nil
				}
				if added++; added > maxDensifyDocs {
					return errf(5897900, "Generated %d documents in $densify, which is over the limit of %d", added, maxDensifyDocs)
				}
				if err := emit(d.added(p, next)); err != nil {
					return err
				}
				advance()
			}
			return nil
		}
		for _, i := range idx {
			x := p.xs[i]
			if err := emitAdded(x, true); err != nil {
				return err
			}
			for next <= x {
				advance() // this document stands for the grid value it sits on
			}
			if err := emit(p.docs[i]); err != nil {
				return err
			}
		}
		if err := emitAdded(hi, !inclusive); err != nil {
			return err
		}
		for _, doc := range p.without {
			if err := emit(doc); err != nil {
				return err
			}
		}
	}
	return nil
}

// added is the document added at value x: the field and the partition's fields.
func (d *densifyStage) added(p *densifyPart, x float64) []byte {
	var v bson.RawValue
	if d.spec.unitMs > 0 {
		v = vDate(int64(x))
	} else if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
		v = intValue(int64(x))
	} else {
		v = vDouble(x)
	}
	out := []byte(emptyDoc)
	out = setPath(out, d.spec.field, v)
	for _, e := range p.key {
		out = setPath(out, strings.Split(e.Key, "."), e.Value.(bson.RawValue))
	}
	return out
}

// calendarMonths are the calendar units of $densify, in months.
var calendarMonths = map[string]int{"month": 1, "quarter": 3, "year": 12}

// addMonths adds n months to a UTC date (ms), clamping the day to the end of a shorter month.
func addMonths(ms int64, n int64) int64 {
	t := time.UnixMilli(ms).UTC()
	total := int64(t.Month()-1) + n
	y := int64(t.Year()) + floorDivInt(total, 12)
	m := time.Month(total-12*floorDivInt(total, 12)) + 1
	last := time.Date(int(y), m+1, 0, 0, 0, 0, 0, time.UTC).Day()
	return time.Date(int(y), m, min(t.Day(), last), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC).UnixMilli()
}

func floorDivInt(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
