package mongo

import (
	"context"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/meta/plain"
	"github.com/chronogo/chronogo/wire/mongo/mql"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// parseMergeOn reads $merge's on: a field name or a non-empty array of distinct ones.
func parseMergeOn(v bson.RawValue) ([]string, error) {
	if s, ok := v.StringValueOK(); ok {
		return []string{s}, nil
	}
	arr, ok := v.ArrayOK()
	if !ok {
		return nil, mongoerr.New(51186, "$merge 'on' field must be either a string or an array of strings, but found %s", typeName(v.Type))
	}
	vals, _ := arr.Values()
	if len(vals) == 0 {
		return nil, mongoerr.New(51187, "If explicitly specifying $merge 'on', must include at least one field")
	}
	var out []string
	for _, x := range vals {
		s, ok := x.StringValueOK()
		if !ok {
			return nil, mongoerr.New(51134, "$merge 'on' array elements must be strings, but found %s", typeName(x.Type))
		}
		if slices.Contains(out, s) {
			return nil, mongoerr.New(31465, "Found a duplicate field '%s'", s)
		}
		out = append(out, s)
	}
	return out, nil
}

// mergeIndexed reports whether c has a unique index on exactly the fields on (or on is _id).
func mergeIndexed(c *meta.Collection, on []string) bool {
	if len(on) == 0 || (len(on) == 1 && on[0] == "_id") {
		return true
	}
	for _, idx := range c.Indexes {
		if !plainIndexSpec(idx).Unique {
			continue
		}
		elems, _ := bson.Raw(idx.Key).Elements()
		if len(elems) != len(on) {
			continue
		}
		all := true
		for _, e := range elems {
			all = all && slices.Contains(on, e.Key())
		}
		if all {
			return true
		}
	}
	return false
}

// mergeOn runs a $merge that joins on fields other than _id or updates with a pipeline: each
// result finds its target document by the on fields (through their unique index), and the write
// is conditional on that document's revision.
func (s *Server) mergeOn(ctx context.Context, c *meta.Collection, o *outStage, in func(yield func(bson.Raw) error) error) error {
	on := o.on
	if len(on) == 0 {
		on = []string{"_id"}
	}
	if !mergeIndexed(c, on) {
		return mongoerr.New(51183, "Cannot find index to verify that join fields will be unique")
	}
	w := plainWriter{s: s, c: c, ordered: true}
	n := 0
	pending := map[string]bool{} // join values and document keys written in w's unsent batch
	err := in(func(d bson.Raw) error {
		d = bson.Raw(append([]byte(nil), d...))
		filter := bsoncore.NewDocumentBuilder()
		for _, f := range on {
			v, err := d.LookupErr(strings.Split(f, ".")...)
			if err != nil || v.Type == bson.TypeNull || v.Type == bson.TypeUndefined || v.Type == bson.TypeArray {
				return mongoerr.New(51132, "$merge write error: 'on' field '%s' cannot be missing, null, undefined or an array", f)
			}
			filter.AppendValue(f, bsoncore.Value{Type: bsoncore.Type(v.Type), Data: v.Value})
		}
		q := bson.Raw(filter.Build())
		fq, err := mql.CompileFilter(q)
		if err != nil {
			return queryErr(err)
		}
		if pending["q"+string(q)] { // an earlier result of this batch has these values: send it first
			w.flush(ctx)
			clear(pending)
		}
		find := func() (*plain.Doc, error) {
			var target *plain.Doc
			_, err := s.plainDocs(ctx, c, q, func(x *plain.Doc) error {
				if ok, err := matches(fq, x.Doc); err != nil || !ok {
					return err
				}
				cp := plain.Doc{Key: slices.Clone(x.Key), Rev: x.Rev, Doc: slices.Clone(x.Doc)}
				target = &cp
				return errStopScan
			})
			if err != nil && err != errStopScan {
				return nil, err
			}
			return target, nil
		}
		target, err := find()
		if err != nil {
			return err
		}
		if target != nil && pending["k"+string(target.Key)] { // written in the unsent batch: send it, read again
			w.flush(ctx)
			clear(pending)
			if target, err = find(); err != nil {
				return err
			}
		}
		n++
		pending["q"+string(q)] = true
		if target != nil {
			pending["k"+string(target.Key)] = true
		}
		if target == nil {
			switch o.whenNotMatched {
			case "discard":
				return nil
			case "fail":
				return mongoerr.New(13113, "$merge could not find a matching document in the target collection for at least one document in the source collection")
			}
			doc, id, key, err := withID(d)
			if err != nil {
				return err
			}
			w.add(ctx, plainPending{item: plain.Item{Mode: plain.ModeInsert, Key: key, Doc: doc}, idx: n, id: id})
			return w.err()
		}
		targetID := bson.Raw(target.Doc).Lookup("_id")
		if id, err := d.LookupErr("_id"); err == nil && mql.CompareValues(id, targetID) != 0 {
			return mongoerr.New(mongoerr.ImmutableField, "$merge failed to update the matching document, did you attempt to modify the _id or the shard key?")
		}
		var next bson.Raw
		switch o.whenMatched {
		case "keepExisting":
			return nil
		case "fail":
			return mongoerr.New(mongoerr.DuplicateKey, "$merge with whenMatched: fail found an existing document with the same values for the 'on' fields")
		case "replace":
			next = prependID(withoutID(d), targetID)
		case "merge":
			next = mergeFields(target.Doc, d)
		case "pipeline":
			out, err := o.pipeline.Apply(target.Doc, d)
			if err != nil {
				return queryErr(err)
			}
			if id := bson.Raw(out).Lookup("_id"); id.Type == 0 {
				out = prependID(bson.Raw(out), targetID)
			} else if mql.CompareValues(id, targetID) != 0 {
				return mongoerr.New(mongoerr.ImmutableField, "$merge failed to update the matching document, did you attempt to modify the _id or the shard key?")
			}
			next = bson.Raw(out)
		}
		if err := validDoc(next); err != nil || len(next) > MaxBSONObjectSize {
			return mongoerr.New(mongoerr.BSONObjectTooLarge, "$merge: the merged document is too large or invalid")
		}
		w.add(ctx, plainPending{item: plain.Item{Mode: plain.ModeReplace, Key: target.Key, Doc: next, Rev: target.Rev}, idx: n, id: targetID})
		return w.err()
	})
	if err != nil {
		return err
	}
	w.flush(ctx)
	return outErr(&w.out)
}

// withoutID is d without its _id field.
func withoutID(d bson.Raw) bson.Raw {
	b := bsoncore.NewDocumentBuilder()
	elems, _ := d.Elements()
	for _, e := range elems {
		if e.Key() != "_id" {
			b.AppendValue(e.Key(), bsoncore.Value{Type: bsoncore.Type(e.Value().Type), Data: e.Value().Value})
		}
	}
	return bson.Raw(b.Build())
}
