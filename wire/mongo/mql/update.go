package mql

import (
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// Update is a compiled update modification of a plain collection: a replacement document,
// update operators ($set, $unset, $inc, $mul, $min, $max, $rename, $setOnInsert, $currentDate,
// $push, $addToSet, $pop) or an aggregation pipeline.
type Update struct {
	replacement  []byte
	ops          []updateOp
	stages       []bson.Raw
	now          time.Time
	query        *Filter // the statement's query, for "$" (CompileUpdateIn)
	rawQuery     []byte
	arrayFilters map[string]*Filter // by identifier, for "$[id]" (CompileUpdateIn)
}

type updateOp struct {
	op   string
	path []string
	arg  bson.RawValue
}

// updateOps are the operators Update applies, in MongoDB's order within one update they are
// applied in the order given.
var updateOps = map[string]bool{"$set": true, "$unset": true, "$inc": true, "$mul": true, "$min": true, "$max": true,
	"$rename": true, "$setOnInsert": true, "$currentDate": true, "$push": true, "$addToSet": true, "$pop": true,
	"$pull": true, "$pullAll": true, "$bit": true}

// CompileUpdate compiles the u of an update statement.
func CompileUpdate(u bson.RawValue, now time.Time) (up *Update, err error) {
	defer recoverErr(&err)
	up = &Update{now: now}
	switch u.Type {
	case bson.TypeArray:
		for _, st := range values(u.Value) {
			if st.Type != bson.TypeEmbeddedDocument {
				return nil, errf(mongoerr.TypeMismatch, "Each element of the 'pipeline' array must be an object")
			}
			up.stages = append(up.stages, st.Value)
		}
		if _, err := CompilePipeline(up.stages, PipelineOptions{Now: now}); err != nil {
			return nil, err
		}
		return up, nil
	case bson.TypeEmbeddedDocument:
	default:
		return nil, errf(mongoerr.FailedToParse, "Update argument must be either an object or an array")
	}
	els, err := elements(u.Value)
	if err != nil {
		return nil, errf(mongoerr.InvalidBSON, "update: %v", err)
	}
	if len(els) == 0 || !strings.HasPrefix(els[0].key, "$") {
		for _, e := range els {
			if strings.HasPrefix(e.key, "$") {
				return nil, errf(mongoerr.DollarPrefixedFieldName, "The dollar ($) prefixed field '%s' in '%s' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith.", e.key, e.key)
			}
		}
		up.replacement = u.Value
		return up, nil
	}
	var paths []string
	for _, e := range els {
		if !updateOps[e.key] {
			return nil, errf(mongoerr.FailedToParse, "Unknown modifier: %s. Expected a valid update modifier or pipeline-style update specified as an array", e.key)
		}
		if e.val.Type != bson.TypeEmbeddedDocument {
			return nil, errf(mongoerr.FailedToParse, "Modifiers operate on fields but we found type %s instead. For example: {$mod: {<field>: ...}} not {%s: %s}", typeName(e.val.Type), e.key, e.val.String())
		}
		fields, _ := elements(e.val.Value)
		for _, f := range fields {
			if f.key == "" || strings.HasPrefix(f.key, "$") || strings.Contains(f.key, "..") || strings.HasSuffix(f.key, ".") || strings.HasPrefix(f.key, ".") {
				return nil, errf(56, "The update path '%s' contains an empty field name, which is not allowed.", f.key)
			}
			if err := checkUpdateArg(e.key, f.key, f.val); err != nil {
				return nil, err
			}
			if err := checkArrayArg(e.key, f.key, f.val); err != nil {
				return nil, err
			}
			if e.key == "$rename" && (positional(splitPath(f.key)) || positional(splitPath(f.val.StringValue()))) {
				return nil, errf(mongoerr.BadValue, "The source field for $rename may not be dynamic: %s", f.key)
			}
			targets := []string{f.key}
			if e.key == "$rename" {
				targets = append(targets, f.val.StringValue())
			}
			for _, p := range targets {
				for _, q := range paths {
					if p == q || strings.HasPrefix(p, q+".") || strings.HasPrefix(q, p+".") {
						return nil, errf(mongoerr.ConflictingUpdateOps, "Updating the path '%s' would create a conflict at '%s'", p, shorter(p, q))
					}
				}
				paths = append(paths, p)
			}
			up.ops = append(up.ops, updateOp{op: e.key, path: splitPath(f.key), arg: f.val})
		}
	}
	return up, nil
}

func shorter(a, b string) string {
	if len(a) < len(b) {
		return a
	}
	return b
}

// checkUpdateArg checks the argument of one operator's field.
func checkUpdateArg(op, field string, v bson.RawValue) error {
	switch op {
	case "$inc", "$mul":
		if !isNumber(v.Type) {
			verb := map[string]string{"$inc": "increment", "$mul": "multiply"}[op]
			return errf(mongoerr.TypeMismatch, "Cannot %s with non-numeric argument: {%s: %s}", verb, field, v.String())
		}
	case "$rename":
		if v.Type != bson.TypeString {
			return errf(mongoerr.BadValue, "The 'to' field for $rename must be a string: %s: %s", field, v.String())
		}
	case "$pop":
		if !isNumber(v.Type) || (toFloat(v) != 1 && toFloat(v) != -1) {
			return errf(mongoerr.FailedToParse, "$pop expects 1 or -1, found: %s", v.String())
		}
	case "$currentDate":
		switch {
		case v.Type == bson.TypeBoolean:
		case v.Type == bson.TypeEmbeddedDocument:
			t := lookup(v.Value, "$type")
			if t.Type != bson.TypeString || (t.StringValue() != "date" && t.StringValue() != "timestamp") {
				return errf(mongoerr.BadValue, "The '$type' string field is required to be 'date' or 'timestamp': {$currentDate: {field : {$type: 'date'}}}")
			}
		default:
			return errf(mongoerr.BadValue, "%s is not valid type for $currentDate. Please use a boolean ('true') or a $type expression ({$type: 'timestamp/date'}).", typeName(v.Type))
		}
	}
	return nil
}

// Apply returns doc changed by the update; insert says the document is being upserted (only then
// does $setOnInsert apply). The _id cannot change (66).
func (up *Update) Apply(doc []byte, insert bool) (out []byte, err error) {
	defer recoverErr(&err)
	oldID := lookup(doc, "_id")
	switch {
	case up.replacement != nil:
		b := newBuilder(len(up.replacement) + 32)
		if !isMissing(oldID) {
			b.add("_id", oldID)
		}
		_ = forEach(up.replacement, func(k []byte, v bson.RawValue) bool {
			if string(k) != "_id" || isMissing(oldID) {
				b.add(string(k), v)
			}
			return true
		})
		out = b.finish()
		if newID := lookup(up.replacement, "_id"); !isMissing(newID) && !isMissing(oldID) && CompareValues(newID, oldID) != 0 {
			return nil, immutableID()
		}
		return out, nil
	case up.stages != nil:
		p, err := CompilePipeline(up.stages, PipelineOptions{Now: up.now})
		if err != nil {
			return nil, err
		}
		var res [][]byte
		err = p.Run(func(yield func(bson.Raw) error) error { return yield(doc) }, func(d bson.Raw) error {
			res = append(res, append([]byte(nil), d...))
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(res) != 1 {
			return nil, errf(mongoerr.BadValue, "an update pipeline must give one document; it gave %d", len(res))
		}
		out = res[0]
	default:
		out = doc
		for _, op := range up.ops {
			if !positional(op.path) {
				if out, err = up.applyOp(out, op, insert); err != nil {
					return nil, err
				}
				continue
			}
			paths, err := up.expandPath(out, op.path)
			if err != nil {
				return nil, err
			}
			for _, p := range paths {
				if out, err = up.applyOp(out, updateOp{op: op.op, path: p, arg: op.arg}, insert); err != nil {
					return nil, err
				}
			}
		}
	}
	if newID := lookup(out, "_id"); !isMissing(oldID) && (isMissing(newID) || CompareValues(newID, oldID) != 0) {
		return nil, immutableID()
	}
	return out, nil
}

func immutableID() error {
	return errf(mongoerr.ImmutableField, "Performing an update on the path '_id' would modify the immutable field '_id'")
}

func (up *Update) applyOp(doc []byte, op updateOp, insert bool) ([]byte, error) {
	cur := getAt(vDoc(doc), op.path)
	field := strings.Join(op.path, ".")
	set := func(v bson.RawValue) ([]byte, error) { return setAtRoot(doc, op.path, v) }
	switch op.op {
	case "$set":
		return set(op.arg)
	case "$setOnInsert":
		if !insert {
			return doc, nil
		}
		return set(op.arg)
	case "$unset":
		return unsetAt(vDoc(doc), op.path).Value, nil
	case "$inc", "$mul":
		if isMissing(cur) {
			if op.op == "$mul" {
				zero, _ := mulValues("$mul", []bson.RawValue{op.arg, intValue(0)})
				return set(zero)
			}
			return set(op.arg)
		}
		if !isNumber(cur.Type) {
			return nil, errf(mongoerr.TypeMismatch, "Cannot apply %s to a value of non-numeric type. {_id: %s} has the field '%s' of non-numeric type %s",
				op.op, lookup(doc, "_id").String(), field, typeName(cur.Type))
		}
		var v bson.RawValue
		if op.op == "$inc" {
			v, _ = addValues("$inc", []bson.RawValue{cur, op.arg})
		} else {
			v, _ = mulValues("$mul", []bson.RawValue{cur, op.arg})
		}
		return set(v)
	case "$min", "$max":
		c := CompareValues(op.arg, cur)
		if isMissing(cur) || (op.op == "$min" && c < 0) || (op.op == "$max" && c > 0) {
			return set(op.arg)
		}
		return doc, nil
	case "$currentDate":
		v := vDate(up.now.UnixMilli())
		if op.arg.Type == bson.TypeEmbeddedDocument && lookup(op.arg.Value, "$type").StringValue() == "timestamp" {
			v = bson.RawValue{Type: bson.TypeTimestamp, Value: bsoncore.AppendTimestamp(nil, uint32(up.now.Unix()), 1)}
		}
		return set(v)
	case "$rename":
		if isMissing(cur) {
			return doc, nil
		}
		out := unsetAt(vDoc(doc), op.path).Value
		return setAtRoot(out, splitPath(op.arg.StringValue()), cur)
	case "$pull", "$pullAll", "$bit":
		return applyArrayOp(doc, op, cur)
	case "$push", "$addToSet", "$pop":
		if !isMissing(cur) && cur.Type != bson.TypeArray {
			return nil, errf(mongoerr.BadValue, "The field '%s' must be an array but is of type %s in document {_id: %s}", field, typeName(cur.Type), lookup(doc, "_id").String())
		}
		var elems []bson.RawValue
		if !isMissing(cur) {
			elems = values(cur.Value)
		}
		if op.op == "$pop" {
			if len(elems) == 0 {
				return doc, nil
			}
			if toFloat(op.arg) == 1 {
				elems = elems[:len(elems)-1]
			} else {
				elems = elems[1:]
			}
			return set(arrayOf(elems))
		}
		add := []bson.RawValue{op.arg}
		if op.arg.Type == bson.TypeEmbeddedDocument {
			if each := lookup(op.arg.Value, "$each"); !isMissing(each) {
				if each.Type != bson.TypeArray {
					return nil, errf(mongoerr.BadValue, "The argument to $each in %s must be an array but it was of type: %s", op.op, typeName(each.Type))
				}
				add = values(each.Value)
				if op.op == "$push" {
					out, err := pushModifiers(elems, add, op.arg)
					if err != nil {
						return nil, err
					}
					return set(arrayOf(out))
				}
			}
		}
		for _, a := range add {
			if op.op == "$addToSet" && slices.ContainsFunc(elems, func(e bson.RawValue) bool { return CompareValues(e, a) == 0 }) {
				continue
			}
			elems = append(elems, a)
		}
		return set(arrayOf(elems))
	}
	return nil, errf(mongoerr.FailedToParse, "Unknown modifier: %s", op.op)
}

// getAt returns the value at path (array elements by index), or missing.
func getAt(v bson.RawValue, path []string) bson.RawValue {
	for _, p := range path {
		switch v.Type {
		case bson.TypeEmbeddedDocument:
			v = lookup(v.Value, p)
		case bson.TypeArray:
			if !isDigits(p) {
				return missing
			}
			els := values(v.Value)
			i := atoiSmall(p)
			if i < 0 || i >= len(els) {
				return missing
			}
			v = els[i]
		default:
			return missing
		}
		if isMissing(v) {
			return v
		}
	}
	return v
}

// atoiSmall reads a digit string; -1 past a million (no array is that long here).
func atoiSmall(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if n = n*10 + int(s[i]-'0'); n > 1_000_000 {
			return -1
		}
	}
	return n
}

// setAtRoot sets path in document doc, creating documents for missing parts; a part that is
// neither a document nor an array is PathNotViable (28).
func setAtRoot(doc []byte, path []string, x bson.RawValue) ([]byte, error) {
	v, err := setAt(vDoc(doc), path, x)
	if err != nil {
		return nil, err
	}
	return v.Value, nil
}

func setAt(v bson.RawValue, path []string, x bson.RawValue) (bson.RawValue, error) {
	sub := func(cur bson.RawValue) (bson.RawValue, error) {
		if len(path) == 1 {
			return x, nil
		}
		if isMissing(cur) {
			cur = vDoc(emptyDoc)
		}
		return setAt(cur, path[1:], x)
	}
	switch v.Type {
	case bson.TypeEmbeddedDocument:
		b := newBuilder(len(v.Value) + len(x.Value) + 16)
		done := false
		var ferr error
		_ = forEach(v.Value, func(k []byte, cur bson.RawValue) bool {
			if string(k) != path[0] {
				b.add(string(k), cur)
				return true
			}
			done = true
			nv, err := sub(cur)
			if err != nil {
				ferr = err
				return false
			}
			b.add(path[0], nv)
			return true
		})
		if ferr != nil {
			return missing, ferr
		}
		if !done {
			nv, err := sub(missing)
			if err != nil {
				return missing, err
			}
			b.add(path[0], nv)
		}
		return b.doc(), nil
	case bson.TypeArray:
		if !isDigits(path[0]) || atoiSmall(path[0]) < 0 {
			return missing, errf(mongoerr.PathNotViable, "Cannot create field '%s' in element {%s}", path[0], v.String())
		}
		els := values(v.Value)
		i := atoiSmall(path[0])
		for len(els) <= i {
			els = append(els, vNull())
		}
		cur := els[i]
		if isNullish(cur) && len(path) > 1 {
			cur = missing
		}
		nv, err := sub(cur)
		if err != nil {
			return missing, err
		}
		els[i] = nv
		return arrayOf(els), nil
	}
	return missing, errf(mongoerr.PathNotViable, "Cannot create field '%s' in element {%s}", path[0], v.String())
}

// unsetAt removes path (an array element becomes null, as MongoDB's $unset does).
func unsetAt(v bson.RawValue, path []string) bson.RawValue {
	switch v.Type {
	case bson.TypeEmbeddedDocument:
		b := newBuilder(len(v.Value))
		_ = forEach(v.Value, func(k []byte, cur bson.RawValue) bool {
			switch {
			case string(k) != path[0]:
				b.add(string(k), cur)
			case len(path) > 1:
				b.add(string(k), unsetAt(cur, path[1:]))
			}
			return true
		})
		return b.doc()
	case bson.TypeArray:
		if !isDigits(path[0]) {
			return v
		}
		els := values(v.Value)
		i := atoiSmall(path[0])
		if i < 0 || i >= len(els) {
			return v
		}
		if len(path) == 1 {
			els[i] = vNull()
		} else {
			els[i] = unsetAt(els[i], path[1:])
		}
		return arrayOf(els)
	}
	return v
}

// UpsertSeed is the document an upsert starts from: the query's equality conditions on fields
// (top level and under $and), as MongoDB builds it.
func UpsertSeed(q bson.Raw) (out []byte, err error) {
	defer recoverErr(&err)
	doc := emptyDoc
	var walk func(q []byte) error
	walk = func(q []byte) error {
		var ferr error
		_ = forEach(q, func(k []byte, v bson.RawValue) bool {
			key := string(k)
			switch {
			case key == "$and" && v.Type == bson.TypeArray:
				for _, c := range values(v.Value) {
					if c.Type == bson.TypeEmbeddedDocument {
						if ferr = walk(c.Value); ferr != nil {
							return false
						}
					}
				}
			case strings.HasPrefix(key, "$"):
			case isOperatorDoc(v):
				if eq := lookup(v.Value, "$eq"); !isMissing(eq) {
					doc, ferr = setAtRoot(doc, splitPath(key), eq)
				}
			default:
				doc, ferr = setAtRoot(doc, splitPath(key), v)
			}
			return ferr == nil
		})
		return ferr
	}
	if err := walk(q); err != nil {
		return nil, err
	}
	return doc, nil
}
