package mongo

import (
	"errors"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// writeError is one entry of writeErrors.
type writeError struct {
	index int
	err   *mongoerr.Error
}

// appendWriteErrors adds writeErrors (sorted by index) to b when there are any.
func appendWriteErrors(b *bsoncore.DocumentBuilder, errs []writeError) {
	if len(errs) == 0 {
		return
	}
	slices.SortStableFunc(errs, func(a, b writeError) int { return a.index - b.index })
	ab := bsoncore.NewArrayBuilder()
	for _, e := range errs {
		d := bsoncore.NewDocumentBuilder().
			AppendInt32("index", int32(e.index)).
			AppendInt32("code", int32(e.err.Code)).
			AppendString("codeName", e.err.Code.Name()).
			AppendString("errmsg", e.err.Msg)
		appendExtra(d, e.err)
		ab.AppendDocument(d.Build())
	}
	b.AppendArray("writeErrors", ab.Build())
}

// appendExtra appends the extra fields of an error (Extra: the elements of a document).
func appendExtra(b *bsoncore.DocumentBuilder, e *mongoerr.Error) {
	if len(e.Extra) == 0 {
		return
	}
	elems, err := bsoncore.Document(e.Extra).Elements()
	if err != nil {
		return
	}
	for _, el := range elems {
		b.AppendValue(el.Key(), el.Value())
	}
}

// WriteConcernError is a write applied where it could be that did not reach its write concern
// (mongod's writeConcernError): its documents count as inserted (n), and the reply's
// writeConcernError (code 64, WriteConcernFailed) says which replicas took them. Backend.Insert
// returns it when every part of a batch is stored on at least one replica or hinted to one, so it
// converges.
type WriteConcernError struct {
	Msg  string
	Info bson.Raw // errInfo; may be nil
}

func (e *WriteConcernError) Error() string { return "write concern not met: " + e.Msg }

// appendWriteConcernError adds writeConcernError to b.
func appendWriteConcernError(b *bsoncore.DocumentBuilder, e *WriteConcernError) {
	d := bsoncore.NewDocumentBuilder().
		AppendInt32("code", int32(mongoerr.WriteConcernFailed)).
		AppendString("codeName", mongoerr.WriteConcernFailed.Name()).
		AppendString("errmsg", e.Msg)
	if len(e.Info) > 0 {
		d.AppendDocument("errInfo", e.Info)
	}
	b.AppendDocument("writeConcernError", d.Build())
}

// stmtOutcomes gathers the outcomes of a write command's statements (or batches) as mongod
// reports them: write errors by index, the last write concern not met (the statement counts as
// applied), and a labelled error (retryable) met before anything was applied, which fails the
// whole command so that a driver sees its errorLabels and may retry it.
type stmtOutcomes struct {
	errs  []writeError
	wce   *WriteConcernError
	fatal *mongoerr.Error
	done  bool // some statement was applied
}

// add records the outcome of statements idx and reports whether they were applied.
func (o *stmtOutcomes) add(err error, idx ...int) (applied bool) {
	var wce *WriteConcernError
	switch {
	case err == nil:
	case errors.As(err, &wce):
		o.wce = wce
	default:
		me := asMongoErr(err)
		if len(me.Labels) > 0 && !o.done && len(o.errs) == 0 {
			o.fatal = me
			return false
		}
		for _, i := range idx {
			o.errs = append(o.errs, writeError{index: i, err: me})
		}
		return false
	}
	o.done = true
	return true
}

// stop reports whether an ordered command stops here.
func (o *stmtOutcomes) stop(ordered bool) bool {
	return o.fatal != nil || (ordered && len(o.errs) > 0)
}

// reply is the command's reply builder with n (and more fields added by fill), writeErrors and
// writeConcernError, or the fatal error.
func (o *stmtOutcomes) reply(fill func(b *bsoncore.DocumentBuilder)) (*bsoncore.DocumentBuilder, error) {
	if o.fatal != nil {
		return nil, o.fatal
	}
	b := bsoncore.NewDocumentBuilder()
	fill(b)
	appendWriteErrors(b, o.errs)
	if o.wce != nil {
		appendWriteConcernError(b, o.wce)
	}
	return b, nil
}
