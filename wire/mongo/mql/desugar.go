package mql

import (
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// Stages that MongoDB itself defines as other stages ("desugars"): they are compiled as the
// stages they stand for, with MongoDB's own checks and error codes first.
//
//	{$sortByCount: <expr>}  = {$group: {_id: <expr>, count: {$sum: 1}}}, {$sort: {count: -1}}
//	{$bucket: {groupBy, boundaries, default, output}}
//	                        = {$group: {_id: {$switch: {branches: [{case: {$and: [{$gte: [<groupBy>, b_i]},
//	                          {$lt: [<groupBy>, b_i+1]}]}, then: b_i}, ...], default}}, ...output}},
//	                          {$sort: {_id: 1}}
func desugar(name string, arg bson.RawValue) (stages [][]byte, ok bool, err error) {
	switch name {
	case "$sortByCount":
		stages, err = desugarSortByCount(arg)
	case "$bucket":
		stages, err = desugarBucket(arg)
	case "$fill":
		stages, err = desugarFill(arg)
	default:
		return nil, false, nil
	}
	return stages, true, err
}

// stageDoc is {name: arg}.
func stageDoc(name string, arg bson.RawValue) []byte {
	b := newBuilder(len(arg.Value) + 16)
	b.add(name, arg)
	return b.finish()
}

// groupByExpr checks a $sortByCount or $bucket grouping expression: a $-path or an operator
// expression object.
func groupByExpr(arg bson.RawValue, notString, notPath mongoerr.Code, what string) error {
	switch arg.Type {
	case bson.TypeString:
		if !strings.HasPrefix(arg.StringValue(), "$") {
			return errf(notPath, "%s must be defined as a $-prefixed path or an expression", what)
		}
	case bson.TypeEmbeddedDocument:
		els, _ := elements(arg.Value)
		if len(els) != 1 || !strings.HasPrefix(els[0].key, "$") {
			return errf(notPath, "%s must be defined as a $-prefixed path or an expression", what)
		}
	default:
		return errf(notString, "%s must be specified as a string or as an object", what)
	}
	return nil
}

func desugarSortByCount(arg bson.RawValue) ([][]byte, error) {
	if err := groupByExpr(arg, 40149, 40148, "the sortByCount field"); err != nil {
		return nil, err
	}
	one := newBuilder(16)
	one.add("$sum", vInt32(1))
	group := newBuilder(len(arg.Value) + 32)
	group.add("_id", arg)
	group.add("count", one.doc())
	sort := newBuilder(16)
	sort.add("count", vInt32(-1))
	return [][]byte{stageDoc("$group", group.doc()), stageDoc("$sort", sort.doc())}, nil
}

func desugarBucket(arg bson.RawValue) ([][]byte, error) {
	if arg.Type != bson.TypeEmbeddedDocument {
		return nil, errf(40201, "Argument to $bucket stage must be an object, but found type: %s.", typeName(arg.Type))
	}
	var groupBy, boundaries, def, output bson.RawValue
	els, _ := elements(arg.Value)
	for _, e := range els {
		switch e.key {
		case "groupBy":
			groupBy = e.val
		case "boundaries":
			boundaries = e.val
		case "default":
			def = e.val
		case "output":
			output = e.val
		default:
			return nil, errf(40197, "Unrecognized option to $bucket: %s.", e.key)
		}
	}
	if groupBy.Type == 0 || boundaries.Type == 0 {
		return nil, errf(40198, "$bucket requires 'groupBy' and 'boundaries' to be specified.")
	}
	if err := groupByExpr(groupBy, 40202, 40202, "The $bucket 'groupBy' field"); err != nil {
		return nil, err
	}
	if boundaries.Type != bson.TypeArray {
		return nil, errf(40200, "The $bucket 'boundaries' field must be an array, but found type: %s.", typeName(boundaries.Type))
	}
	bs, _ := elements(boundaries.Value)
	if len(bs) < 2 {
		return nil, errf(40192, "The $bucket 'boundaries' field must have at least 2 values, but found %d value(s).", len(bs))
	}
	for i := 1; i < len(bs); i++ {
		a, b := bs[i-1].val, bs[i].val
		if typeRank(a.Type) != typeRank(b.Type) {
			return nil, errf(40193, "All values in the the 'boundaries' option to $bucket must have the same type. Found conflicting types %s and %s.", typeName(a.Type), typeName(b.Type))
		}
		if CompareValues(a, b) >= 0 {
			return nil, errf(40194, "The 'boundaries' option to $bucket must be sorted in ascending order, but elements %d and %d are not in ascending order (%s is not less than %s).", i-1, i, a.String(), b.String())
		}
	}
	if def.Type != 0 && typeRank(def.Type) == typeRank(bs[0].val.Type) &&
		CompareValues(def, bs[0].val) >= 0 && CompareValues(def, bs[len(bs)-1].val) < 0 {
		return nil, errf(40199, "The $bucket 'default' field must be less than the lowest boundary or greater than or equal to the highest boundary.")
	}
	if output.Type != 0 && output.Type != bson.TypeEmbeddedDocument {
		return nil, errf(40196, "The $bucket 'output' field must be an object, but found type: %s.", typeName(output.Type))
	}

	literal := func(v bson.RawValue) bson.RawValue {
		b := newBuilder(len(v.Value) + 16)
		b.add("$literal", v)
		return b.doc()
	}
	branches := newBuilder(256)
	for i := 0; i+1 < len(bs); i++ {
		pair := func(op string, bound bson.RawValue) bson.RawValue {
			args := newBuilder(64)
			args.push(groupBy)
			args.push(literal(bound))
			b := newBuilder(64)
			b.add(op, args.array())
			return b.doc()
		}
		and := newBuilder(128)
		and.push(pair("$gte", bs[i].val))
		and.push(pair("$lt", bs[i+1].val))
		cond := newBuilder(128)
		cond.add("$and", and.array())
		branch := newBuilder(160)
		branch.add("case", cond.doc())
		branch.add("then", literal(bs[i].val))
		branches.push(branch.doc())
	}
	sw := newBuilder(512)
	sw.add("branches", branches.array())
	if def.Type != 0 {
		sw.add("default", literal(def))
	}
	id := newBuilder(512)
	id.add("$switch", sw.doc())
	group := newBuilder(1024)
	group.add("_id", id.doc())
	if output.Type == 0 {
		one := newBuilder(16)
		one.add("$sum", vInt32(1))
		group.add("count", one.doc())
	} else {
		outs, _ := elements(output.Value)
		for _, o := range outs {
			group.add(o.key, o.val)
		}
	}
	sort := newBuilder(16)
	sort.add("_id", vInt32(1))
	return [][]byte{stageDoc("$group", group.doc()), stageDoc("$sort", sort.doc())}, nil
}

// desugarFill turns {$fill: {partitionBy | partitionByFields, sortBy, output: {f: {value: x} |
// {method: "locf" | "linear"}}}} into what MongoDB defines it as: a $setWindowFields of $locf and
// $linearFill for the methods, then an $addFields of {$ifNull: ["$f", x]} for the values.
func desugarFill(arg bson.RawValue) ([][]byte, error) {
	if arg.Type != bson.TypeEmbeddedDocument {
		return nil, errf(mongoerr.TypeMismatch, "BSON field '$fill' is the wrong type '%s', expected type 'object'", typeName(arg.Type))
	}
	var partitionBy, partitionByFields, sortBy, output bson.RawValue
	els, _ := elements(arg.Value)
	for _, e := range els {
		switch e.key {
		case "partitionBy":
			partitionBy = e.val
		case "partitionByFields":
			partitionByFields = e.val
		case "sortBy":
			sortBy = e.val
		case "output":
			output = e.val
		default:
			return nil, errf(mongoerr.IDLUnknownField, "BSON field '$fill.%s' is an unknown field.", e.key)
		}
	}
	if output.Type != bson.TypeEmbeddedDocument {
		return nil, errf(mongoerr.IDLFailedToParse, "BSON field '$fill.output' is missing but a required field")
	}
	if partitionBy.Type != 0 && partitionByFields.Type != 0 {
		return nil, errf(6050204, "Maximum one of 'partitionBy' and 'partitionByFields' can be specified in '$fill'")
	}
	if partitionByFields.Type != 0 {
		if partitionByFields.Type != bson.TypeArray {
			return nil, errf(mongoerr.TypeMismatch, "BSON field '$fill.partitionByFields' is the wrong type '%s', expected type 'array'", typeName(partitionByFields.Type))
		}
		fields, _ := elements(partitionByFields.Value)
		p := newBuilder(64)
		for _, f := range fields {
			if f.val.Type != bson.TypeString || strings.HasPrefix(f.val.StringValue(), "$") {
				return nil, errf(mongoerr.FailedToParse, "'partitionByFields' field values must be field names, found %s", f.val.String())
			}
			p.add(f.val.StringValue(), vString("$"+f.val.StringValue()))
		}
		partitionBy = p.doc()
	}
	windows := newBuilder(256)
	values := newBuilder(256)
	nWin, nVal := 0, 0
	outs, _ := elements(output.Value)
	for _, o := range outs {
		if o.val.Type != bson.TypeEmbeddedDocument {
			return nil, errf(mongoerr.TypeMismatch, "BSON field '$fill.output.%s' is the wrong type '%s', expected type 'object'", o.key, typeName(o.val.Type))
		}
		spec, _ := elements(o.val.Value)
		if len(spec) != 1 || (spec[0].key != "value" && spec[0].key != "method") {
			return nil, errf(6050203, "Exactly one of 'value' and 'method' must be specified in '$fill.output.%s'", o.key)
		}
		if spec[0].key == "value" {
			ifNull := newBuilder(64)
			ifNull.push(vString("$" + o.key))
			ifNull.push(spec[0].val)
			x := newBuilder(64)
			x.add("$ifNull", ifNull.array())
			values.add(o.key, x.doc())
			nVal++
			continue
		}
		method := spec[0].val
		fn := map[string]string{"locf": "$locf", "linear": "$linearFill"}[method.StringValue()]
		if method.Type != bson.TypeString || fn == "" {
			return nil, errf(6050202, "Method must be either locf or linear, found %s", method.String())
		}
		if sortBy.Type == 0 {
			return nil, errf(6050201, "'sortBy' field is required for the '%s' fill method", method.StringValue())
		}
		w := newBuilder(64)
		w.add(fn, vString("$"+o.key))
		windows.add(o.key, w.doc())
		nWin++
	}
	var stages [][]byte
	if nWin > 0 {
		swf := newBuilder(512)
		if partitionBy.Type != 0 {
			swf.add("partitionBy", partitionBy)
		}
		swf.add("sortBy", sortBy)
		swf.add("output", windows.doc())
		stages = append(stages, stageDoc("$setWindowFields", swf.doc()))
	}
	if nVal > 0 {
		stages = append(stages, stageDoc("$addFields", values.doc()))
	}
	if len(stages) == 0 {
		return nil, errf(mongoerr.FailedToParse, "'$fill.output' must specify at least one field")
	}
	return stages, nil
}
