package mongo

import (
	"context"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// maxBulkOps is mongod's maxWriteBatchSize, the most operations one bulkWrite takes.
const maxBulkOps = 100000

// bulkOp is one entry of a bulkWrite's ops: its kind, the namespace it names and its document.
type bulkOp struct {
	kind string // insert, update or delete
	ns   int
	doc  bson.Raw
}

// bulkOutcome is the result of one op: its cursor entry and what it adds to the totals.
type bulkOutcome struct {
	entry                                          bson.Raw
	failed                                         bool
	inserted, matched, modified, upserted, deleted int64
}

// msgBulkWrite runs MongoDB 8.0's bulkWrite (admin database): insert, update and delete ops on
// the namespaces of nsInfo. Each op, or each run of inserts into one namespace, runs as the
// insert/update/delete command it stands for, with the same authorization, write concern and
// errors; the per-op results come back in a cursor.
func msgBulkWrite(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	if req.db != "admin" {
		return nil, mongoerr.New(mongoerr.Unauthorized, "bulkWrite may only be run against the admin database.")
	}
	if err := knownFields(req.doc, "bulkWrite", true, "bulkWrite", "ops", "nsInfo", "ordered", "errorsOnly", "cursor", "bypassDocumentValidation", "let", "comment", "maxTimeMS"); err != nil {
		return nil, err
	}
	ordered, err := optBool(req.doc, "bulkWrite", "ordered", true)
	if err != nil {
		return nil, err
	}
	errorsOnly, err := optBool(req.doc, "bulkWrite", "errorsOnly", false)
	if err != nil {
		return nil, err
	}
	letDoc, err := optDoc(req.doc, "bulkWrite", "let")
	if err != nil {
		return nil, err
	}
	batchSize := int64(-1)
	if cur, err := optDoc(req.doc, "bulkWrite", "cursor"); err != nil {
		return nil, err
	} else if len(cur) > 0 {
		if batchSize, err = cursorBatchSize(bson.Raw(bsoncore.NewDocumentBuilder().AppendDocument("cursor", cur).Build()), "bulkWrite"); err != nil {
			return nil, err
		}
	}
	nss, err := bulkNamespaces(req.doc)
	if err != nil {
		return nil, err
	}
	ops, err := bulkOps(req.doc, len(nss))
	if err != nil {
		return nil, err
	}
	wc, hasWC := lookup(req.doc, "writeConcern")
	var (
		entries []bson.Raw
		total   bulkOutcome
		nErrors int64
		wcErr   bson.Raw
		stopped bool
	)
	record := func(idx int, o bulkOutcome) {
		total.inserted += o.inserted
		total.matched += o.matched
		total.modified += o.modified
		total.upserted += o.upserted
		total.deleted += o.deleted
		if o.failed {
			nErrors++
		}
		if !o.failed && errorsOnly {
			return
		}
		entries = append(entries, o.entry)
	}
	for i := 0; i < len(ops) && !stopped; {
		j := i + 1
		if ops[i].kind == "insert" {
			for j < len(ops) && ops[j].kind == "insert" && ops[j].ns == ops[i].ns {
				j++
			}
		}
		db, coll := nss[ops[i].ns][0], nss[ops[i].ns][1]
		cmd := bulkCommand(ops[i:j], db, coll, ordered, letDoc, wc, hasWC)
		reply := bson.Raw(s.run(ctx, &request{conn: req.conn, doc: cmd}))
		if e, ok := reply.Lookup("writeConcernError").DocumentOK(); ok {
			wcErr = e
		}
		outs := bulkOutcomes(ops[i:j], i, reply)
		for k, o := range outs {
			record(i+k, o)
			if o.failed && ordered {
				stopped = true
				break
			}
		}
		i = j
	}
	nsName := "admin.$cmd.bulkWrite"
	b, err := s.firstBatch(ctx, nsName, entries, batchSize, false)
	if err != nil {
		return nil, err
	}
	b.AppendInt64("nErrors", nErrors).
		AppendInt64("nInserted", total.inserted).
		AppendInt64("nMatched", total.matched).
		AppendInt64("nModified", total.modified).
		AppendInt64("nUpserted", total.upserted).
		AppendInt64("nDeleted", total.deleted)
	if wcErr != nil {
		b.AppendDocument("writeConcernError", wcErr)
	}
	return b, nil
}

// bulkNamespaces reads nsInfo: the [db, collection] of each entry.
func bulkNamespaces(cmd bson.Raw) ([][2]string, error) {
	vals, ok, err := optArray(cmd, "bulkWrite", "nsInfo")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, mongoerr.New(mongoerr.IDLFailedToParse, "BSON field 'bulkWrite.nsInfo' is missing but a required field")
	}
	if len(vals) == 0 {
		return nil, mongoerr.New(mongoerr.BadValue, "'nsInfo' field must be non-empty")
	}
	out := make([][2]string, 0, len(vals))
	for _, v := range vals {
		d, ok := v.DocumentOK()
		if !ok {
			return nil, typeErr("bulkWrite.nsInfo", v.Type, "object")
		}
		if err := knownFields(d, "bulkWrite.nsInfo", false, "ns", "collectionUUID", "encryptionInformation", "isTimeseriesNamespace"); err != nil {
			return nil, err
		}
		nsv, ok := lookup(d, "ns")
		if !ok {
			return nil, mongoerr.New(mongoerr.IDLFailedToParse, "BSON field 'bulkWrite.nsInfo.ns' is missing but a required field")
		}
		ns, ok := nsv.StringValueOK()
		if !ok {
			return nil, typeErr("bulkWrite.nsInfo.ns", nsv.Type, "string")
		}
		db, coll, found := strings.Cut(ns, ".")
		if !found || db == "" || coll == "" {
			return nil, mongoerr.New(mongoerr.InvalidNamespace, "Invalid namespace specified '%s'", ns)
		}
		if err := validDBName(db); err != nil {
			return nil, err
		}
		out = append(out, [2]string{db, coll})
	}
	return out, nil
}

// bulkOpFields are the fields each kind of op may have beside its kind.
var bulkOpFields = map[string][]string{
	"insert": {"document"},
	"update": {"filter", "updateMods", "multi", "upsert", "arrayFilters", "hint", "collation", "sort", "constants"},
	"delete": {"filter", "multi", "hint", "collation"},
}

// bulkOps reads and checks ops before anything runs.
func bulkOps(cmd bson.Raw, nsCount int) ([]bulkOp, error) {
	vals, ok, err := optArray(cmd, "bulkWrite", "ops")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, mongoerr.New(mongoerr.IDLFailedToParse, "BSON field 'bulkWrite.ops' is missing but a required field")
	}
	if len(vals) == 0 || len(vals) > maxBulkOps {
		return nil, mongoerr.New(mongoerr.InvalidLength, "Write batch sizes must be between 1 and %d. Got %d operations.", maxBulkOps, len(vals))
	}
	out := make([]bulkOp, 0, len(vals))
	for i, v := range vals {
		d, ok := v.DocumentOK()
		if !ok {
			return nil, typeErr("bulkWrite.ops", v.Type, "object")
		}
		first, err := d.IndexErr(0)
		if err != nil {
			return nil, mongoerr.New(mongoerr.FailedToParse, "Unrecognized bulkWrite operation: op %d is empty", i)
		}
		kind := first.Key()
		allowed, ok := bulkOpFields[kind]
		if !ok {
			return nil, mongoerr.New(mongoerr.FailedToParse, "Unrecognized bulkWrite operation type: %s", kind)
		}
		nsIdx, ok := asInt64(first.Value())
		if !ok || !isNumber(first.Value()) {
			return nil, typeErr("bulkWrite.ops."+kind, first.Value().Type, "int")
		}
		if nsIdx < 0 || nsIdx >= int64(nsCount) {
			return nil, mongoerr.New(mongoerr.BadValue, "BulkWrite ops entry %d has an invalid nsInfo index %d", i, nsIdx)
		}
		if err := knownFields(d, "bulkWrite.ops", false, append([]string{kind}, allowed...)...); err != nil {
			return nil, err
		}
		switch kind {
		case "insert":
			if doc, ok := lookup(d, "document"); !ok || doc.Type != bson.TypeEmbeddedDocument {
				return nil, mongoerr.New(mongoerr.IDLFailedToParse, "BSON field 'bulkWrite.ops.document' is missing but a required field")
			}
		case "update":
			if _, ok := lookup(d, "updateMods"); !ok {
				return nil, mongoerr.New(mongoerr.IDLFailedToParse, "BSON field 'bulkWrite.ops.updateMods' is missing but a required field")
			}
			fallthrough
		case "delete":
			if _, ok := lookup(d, "filter"); !ok {
				return nil, mongoerr.New(mongoerr.IDLFailedToParse, "BSON field 'bulkWrite.ops.filter' is missing but a required field")
			}
		}
		out = append(out, bulkOp{kind: kind, ns: int(nsIdx), doc: d})
	}
	return out, nil
}

// appendRaw appends v under key.
func appendRaw(b *bsoncore.DocumentBuilder, key string, v bson.RawValue) *bsoncore.DocumentBuilder {
	return b.AppendValue(key, bsoncore.Value{Type: bsoncore.Type(v.Type), Data: v.Value})
}

// bulkCommand is the insert (of every op of ops), update or delete command of ops.
func bulkCommand(ops []bulkOp, db, coll string, ordered bool, letDoc bson.Raw, wc bson.RawValue, hasWC bool) bson.Raw {
	b := bsoncore.NewDocumentBuilder()
	switch ops[0].kind {
	case "insert":
		docs := bsoncore.NewArrayBuilder()
		for _, op := range ops {
			v, _ := lookup(op.doc, "document")
			docs.AppendDocument(v.Value)
		}
		b.AppendString("insert", coll).AppendArray("documents", docs.Build()).AppendBoolean("ordered", ordered)
	case "update":
		st := bsoncore.NewDocumentBuilder()
		elems, _ := ops[0].doc.Elements()
		for _, e := range elems {
			switch e.Key() {
			case "update":
			case "filter":
				appendRaw(st, "q", e.Value())
			case "updateMods":
				appendRaw(st, "u", e.Value())
			case "constants":
				appendRaw(st, "c", e.Value())
			default:
				appendRaw(st, e.Key(), e.Value())
			}
		}
		b.AppendString("update", coll).AppendArray("updates", bsoncore.NewArrayBuilder().AppendDocument(st.Build()).Build())
	case "delete":
		st := bsoncore.NewDocumentBuilder()
		multi := false
		elems, _ := ops[0].doc.Elements()
		for _, e := range elems {
			switch e.Key() {
			case "delete":
			case "filter":
				appendRaw(st, "q", e.Value())
			case "multi":
				multi, _ = truthy(e.Value())
			default:
				appendRaw(st, e.Key(), e.Value())
			}
		}
		limit := int32(1)
		if multi {
			limit = 0
		}
		st.AppendInt32("limit", limit)
		b.AppendString("delete", coll).AppendArray("deletes", bsoncore.NewArrayBuilder().AppendDocument(st.Build()).Build())
	}
	if len(letDoc) > 0 && ops[0].kind != "insert" {
		b.AppendDocument("let", letDoc)
	}
	if hasWC {
		appendRaw(b, "writeConcern", wc)
	}
	return bson.Raw(b.AppendString("$db", db).Build())
}

// bulkErrEntry is the cursor entry of a failed op: ok 0, its index, and the error's fields.
func bulkErrEntry(idx int, e bson.Raw) bson.Raw {
	b := bsoncore.NewDocumentBuilder().AppendDouble("ok", 0).AppendInt32("idx", int32(idx))
	elems, _ := e.Elements()
	for _, el := range elems {
		switch el.Key() {
		case "index", "ok":
		default:
			appendRaw(b, el.Key(), el.Value())
		}
	}
	b.AppendInt32("n", 0)
	return bson.Raw(b.Build())
}

// bulkOutcomes maps the reply of the command that ran ops (the first at index first) to their
// outcomes, stopping after an error as an ordered command does (the rest did not run).
func bulkOutcomes(ops []bulkOp, first int, reply bson.Raw) []bulkOutcome {
	if okv, _ := asInt64(reply.Lookup("ok")); okv == 0 { // the command failed, and each of its ops with it
		out := make([]bulkOutcome, len(ops))
		for k := range ops {
			out[k] = bulkOutcome{entry: bulkErrEntry(first+k, reply), failed: true}
		}
		return out
	}
	errs := map[int]bson.Raw{}
	if arr, ok := reply.Lookup("writeErrors").ArrayOK(); ok {
		vals, _ := arr.Values()
		for _, v := range vals {
			if d, ok := v.DocumentOK(); ok {
				i, _ := asInt64(d.Lookup("index"))
				errs[int(i)] = d
			}
		}
	}
	n, _ := asInt64(reply.Lookup("n"))
	out := make([]bulkOutcome, 0, len(ops))
	for k, op := range ops {
		idx := first + k
		if e, ok := errs[k]; ok {
			out = append(out, bulkOutcome{entry: bulkErrEntry(idx, e), failed: true})
			continue
		}
		b := bsoncore.NewDocumentBuilder().AppendDouble("ok", 1).AppendInt32("idx", int32(idx))
		var o bulkOutcome
		switch op.kind {
		case "insert":
			o.inserted = 1
			b.AppendInt32("n", 1)
		case "update":
			nMod, _ := asInt64(reply.Lookup("nModified"))
			o.modified = nMod
			b.AppendInt32("n", int32(n)).AppendInt32("nModified", int32(nMod))
			if arr, ok := reply.Lookup("upserted").ArrayOK(); ok {
				if vals, _ := arr.Values(); len(vals) > 0 {
					if d, ok := vals[0].DocumentOK(); ok {
						o.upserted = 1
						b.AppendDocument("upserted", bsoncore.NewDocumentBuilder().AppendValue("_id", bsoncore.Value{Type: bsoncore.Type(d.Lookup("_id").Type), Data: d.Lookup("_id").Value}).Build())
					}
				}
			}
			o.matched = n - o.upserted
		case "delete":
			o.deleted = n
			b.AppendInt32("n", int32(n))
		}
		o.entry = bson.Raw(b.Build())
		out = append(out, o)
	}
	return out
}

// knownFields fails with 40415 on a field of d not in allowed (nor, with generic, a field every
// command takes).
func knownFields(d bson.Raw, where string, generic bool, allowed ...string) error {
	elems, err := d.Elements()
	if err != nil {
		return mongoerr.New(mongoerr.InvalidBSON, "%s: %v", where, err)
	}
	for _, e := range elems {
		if slices.Contains(allowed, e.Key()) || (generic && genericFields[e.Key()]) {
			continue
		}
		return mongoerr.New(mongoerr.IDLUnknownField, "BSON field '%s.%s' is an unknown field.", where, e.Key())
	}
	return nil
}
