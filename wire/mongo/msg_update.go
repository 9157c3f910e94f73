package mongo

import (
	"context"
	"math"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/wire/mongo/tsdoc"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// msgUpdate runs update statements with MongoDB 5.1's rules for time-series collections: multi
// updates whose query and modification are on the metaField only, operator-style ($set,
// $unset), no upsert. Each statement renames the matching series in storage. Statements on a
// missing collection match nothing.
func msgUpdate(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	ctx, err := withWriteConcern(ctx, req.doc)
	if err != nil {
		return nil, err
	}
	c, _, err := s.targetCollection(ctx, req)
	if err != nil {
		return nil, err
	}
	ordered, err := optBool(req.doc, "update", "ordered", true)
	if err != nil {
		return nil, err
	}
	stmts, ok, err := optArray(req.doc, "update", "updates")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, mongoerr.New(mongoerr.IDLFailedToParse, "BSON field 'update.updates' is missing but a required field")
	}
	s.ops.update.Add(int64(len(stmts)))
	var (
		out               stmtOutcomes
		matched, modified int64
		upserted          []upsertedID
	)
	for i, v := range stmts {
		if c == nil && updateUpserts(v) { // MongoDB creates the collection (a plain one) to upsert into
			if c, err = s.createPlain(ctx, req.db, req.doc.Index(0).Value().StringValue()); err != nil {
				return nil, err
			}
		}
		if c != nil && c.Plain() {
			n, m, id, err := s.plainUpdate(ctx, c, v)
			if out.add(err, i) || err != nil && out.fatal == nil {
				matched += n
				modified += m
			}
			if err == nil && id.Type != 0 {
				upserted = append(upserted, upsertedID{i, id})
			}
			if out.stop(ordered) {
				break
			}
			continue
		}
		n, m, err := s.updateOne(ctx, c, v)
		if out.add(err, i) || err != nil && out.fatal == nil {
			// a statement that failed part way may have changed some series (as in MongoDB,
			// a multi-document update is not atomic): it counts what it did
			matched += n
			modified += m
		}
		if out.stop(ordered) {
			break
		}
	}
	return out.reply(func(b *bsoncore.DocumentBuilder) {
		b.AppendInt32("n", int32(min(matched+int64(len(upserted)), math.MaxInt32))).
			AppendInt32("nModified", int32(min(modified, math.MaxInt32)))
		if len(upserted) > 0 {
			ab := bsoncore.NewArrayBuilder()
			for _, u := range upserted {
				ab.AppendDocument(bsoncore.NewDocumentBuilder().AppendInt32("index", int32(u.index)).
					AppendValue("_id", bsoncore.Value{Type: bsoncore.Type(u.id.Type), Data: u.id.Value}).Build())
			}
			b.AppendArray("upserted", ab.Build())
		}
	})
}

// upsertedID is the _id an update statement upserted.
type upsertedID struct {
	index int
	id    bson.RawValue
}

// updateUpserts reports whether an update statement asks for an upsert.
func updateUpserts(v bson.RawValue) bool {
	d, ok := v.DocumentOK()
	if !ok {
		return false
	}
	u, _ := optBool(d, "update.updates", "upsert", false)
	return u
}

// updateOne runs one statement {q, u, multi, upsert}.
func (s *Server) updateOne(ctx context.Context, c *meta.Collection, v bson.RawValue) (matched, modified int64, err error) {
	if err := updateStmtErr(v); err != nil {
		return 0, 0, err
	}
	stmt := v.Document()
	multi, _ := optBool(stmt, "update.updates", "multi", false)
	upsert, err := optBool(stmt, "update.updates", "upsert", false)
	if err != nil {
		return 0, 0, err
	}
	if c == nil {
		return 0, 0, nil
	}
	switch {
	case !multi:
		return 0, 0, mongoerr.New(mongoerr.InvalidOptions, "Cannot perform a non-multi update on a time-series collection")
	case upsert:
		return 0, 0, mongoerr.New(mongoerr.InvalidOptions, "Cannot perform an upsert on a time-series collection")
	case c.MetaField == "":
		return 0, 0, metaOnlyErr(c)
	}
	q, _ := optDoc(stmt, "update.updates", "q")
	p, err := pushdownOf(c, q)
	if err != nil {
		return 0, 0, err
	}
	if p.MinTime != math.MinInt64 || p.MaxTime != math.MaxInt64 {
		return 0, 0, metaOnlyErr(c) // the query names the time field
	}
	if !p.Exact {
		if err := s.verifyPushdown(ctx, c, p, q); err != nil {
			return 0, 0, err
		}
		p.Exact = true
	}
	u, _ := lookup(stmt, "u")
	upd, err := metaUpdateOf(c, u)
	if err != nil {
		return 0, 0, err
	}
	return s.b.UpdateMeta(ctx, c, p, upd)
}

// notMetaUpdateErr is the error for a modification of anything but the metaField.
func notMetaUpdateErr(c *meta.Collection) error {
	return mongoerr.New(mongoerr.InvalidOptions,
		"Cannot perform an update on a time-series collection which updates a field that is not the metaField '%s'", c.MetaField)
}

// metaUpdateOf turns an update document of $set/$unset on the metaField into a TagUpdate (paths
// are dotted from the meta field, as the stored tags are).
func metaUpdateOf(c *meta.Collection, u bson.RawValue) (*storage.TagUpdate, error) {
	doc, ok := u.DocumentOK()
	if !ok {
		// a pipeline update (an array) may compute anything; MongoDB 5.1 refuses it here
		return nil, notMetaUpdateErr(c)
	}
	elems, err := doc.Elements()
	if err != nil {
		return nil, mongoerr.New(mongoerr.InvalidBSON, "bad update document: %v", err)
	}
	if len(elems) == 0 {
		return nil, mongoerr.New(mongoerr.FailedToParse, "Update document requires atomic operators")
	}
	upd := &storage.TagUpdate{}
	var paths []string
	for _, e := range elems {
		op := e.Key()
		if !strings.HasPrefix(op, "$") {
			return nil, notMetaUpdateErr(c) // a replacement document
		}
		if op != "$set" && op != "$unset" {
			if !knownUpdateOp[op] {
				return nil, mongoerr.New(mongoerr.FailedToParse, "Unknown modifier: %s. Expected a valid update modifier or pipeline-style update specified as an array", op)
			}
			return nil, mongoerr.New(mongoerr.InvalidOptions, "%s on the metaField of a time-series collection is not supported; use $set or $unset", op)
		}
		fields, ok := e.Value().DocumentOK()
		if !ok {
			return nil, mongoerr.New(mongoerr.FailedToParse, "Modifiers operate on fields but we found type %s instead. For example: {$mod: {<field>: ...}} not {%s: %s}",
				typeName(e.Value().Type), op, e.Value())
		}
		fe, err := fields.Elements()
		if err != nil {
			return nil, mongoerr.New(mongoerr.InvalidBSON, "bad update document: %v", err)
		}
		for _, f := range fe {
			path := f.Key()
			if path != c.MetaField && !strings.HasPrefix(path, c.MetaField+".") {
				return nil, notMetaUpdateErr(c)
			}
			if slices.Contains(strings.Split(path, "."), "") || strings.ContainsAny(path, "$") {
				return nil, mongoerr.New(mongoerr.InvalidOptions, "the update path '%s' is not a valid field path", path)
			}
			for _, other := range paths {
				if conflict := pathConflict(path, other); conflict != "" {
					return nil, mongoerr.New(mongoerr.ConflictingUpdateOps, "Updating the path '%s' would create a conflict at '%s'", path, conflict)
				}
			}
			paths = append(paths, path)
			if op == "$unset" {
				upd.Ops = append(upd.Ops, storage.TagOp{Path: path, Unset: true})
				continue
			}
			tags, err := tsdoc.FlattenMeta(nil, path, f.Value())
			if err != nil {
				return nil, mongoerr.New(mongoerr.BadValue, "%v", err)
			}
			upd.Ops = append(upd.Ops, storage.TagOp{Path: path, Tags: tags})
		}
	}
	return upd, nil
}

// pathConflict returns the shorter of two paths when one is the other or a prefix of it.
func pathConflict(a, b string) string {
	switch {
	case a == b:
		return a
	case strings.HasPrefix(a, b+"."):
		return b
	case strings.HasPrefix(b, a+"."):
		return a
	}
	return ""
}

// knownUpdateOp lists MongoDB's update operators (the ones ChronoGo refuses get 72, unknown ones 9).
var knownUpdateOp = map[string]bool{"$set": true, "$unset": true, "$inc": true, "$mul": true, "$rename": true,
	"$min": true, "$max": true, "$currentDate": true, "$setOnInsert": true, "$push": true, "$pull": true,
	"$pop": true, "$addToSet": true, "$pullAll": true, "$bit": true}

// updateStmtErr checks the shape of one update statement {q, u, multi, upsert}.
func updateStmtErr(v bson.RawValue) error {
	stmt, ok := v.DocumentOK()
	if !ok {
		return typeErr("update.updates", v.Type, "object")
	}
	if _, err := optDoc(stmt, "update.updates", "q"); err != nil {
		return err
	}
	if _, ok := lookup(stmt, "q"); !ok {
		return mongoerr.New(mongoerr.IDLFailedToParse, "BSON field 'update.updates.q' is missing but a required field")
	}
	if _, ok := lookup(stmt, "u"); !ok {
		return mongoerr.New(mongoerr.IDLFailedToParse, "BSON field 'update.updates.u' is missing but a required field")
	}
	if _, err := optBool(stmt, "update.updates", "multi", false); err != nil {
		return err
	}
	return nil
}
