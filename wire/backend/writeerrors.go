package backend

import (
	"context"
	"errors"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/actors/coordinator"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/wire/mongo"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// writeErr gives a write's error what a MongoDB driver can act on:
//   - BadValue for a batch storage refuses, OutOfDiskSpace (14031) for a full disk,
//     QuotaExceeded (12501) for a tenant quota;
//   - a partial write whose every replica set stored it somewhere (acknowledged by a replica or
//     hinted to one, so the others converge) is applied: a *mongo.WriteConcernError, which the
//     reply turns into writeConcernError (64) with the replica sets that missed the level;
//   - a partial write that some replica set did not store anywhere is not applied there:
//     HostUnreachable (6), labelled RetryableWriteError when every failure was transient;
//   - an overloaded coordinator is IngressRequestRateLimitExceeded (462) with the
//     RetryableWriteError label: nothing was written, and a retry is safe.
func writeErr(err error) error {
	var pwe *coordinator.PartialWriteError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrInvalidBatch):
		return mongoerr.New(mongoerr.BadValue, "%v", err)
	case storage.IsDiskFull(err):
		return mongoerr.New(mongoerr.OutOfDiskSpace, "%v", err)
	case errors.Is(err, meta.ErrQuotaExceeded):
		return mongoerr.Wrap(mongoerr.QuotaExceeded, err)
	case errors.Is(err, coordinator.ErrOverloaded):
		me := mongoerr.Wrap(mongoerr.IngressRequestRateLimitExceeded, err)
		me.Labels = []string{mongoerr.LabelRetryableWrite, "SystemOverloadedError"}
		return me
	case errors.As(err, &pwe):
		if stored(pwe) {
			return &mongo.WriteConcernError{Msg: pwe.Error(), Info: partialInfo(pwe)}
		}
		me := mongoerr.Wrap(mongoerr.HostUnreachable, err)
		if pwe.Retryable() {
			me.Labels = []string{mongoerr.LabelRetryableWrite}
		}
		return me
	}
	return err
}

// levelCtx is ctx asking the coordinator for the level of the command's writeConcern: w 0 is
// Any, 1 One, n > 1 that many replicas, "majority" is Quorum, and ChronoGo's own level names are
// those levels. Without a w, the database's default applies.
func levelCtx(ctx context.Context) context.Context {
	wc := mongo.WriteConcernOf(ctx)
	var l coordinator.Level
	switch {
	case wc.Mode == "majority":
		l = coordinator.Quorum
	case wc.Mode != "":
		l, _ = coordinator.ParseLevel(wc.Mode) // the wire checked the name
	case wc.W == 0:
		l = coordinator.Any
	case wc.W == 1:
		l = coordinator.One
	case wc.W > 1:
		l = coordinator.Replicas(wc.W)
	default:
		return ctx
	}
	return coordinator.WithLevel(ctx, l)
}

// stored reports whether every replica set that missed the level kept the write on some replica.
func stored(e *coordinator.PartialWriteError) bool {
	for _, f := range e.Failed {
		if f.Acks+f.Hinted == 0 {
			return false
		}
	}
	return true
}

// partialInfo is writeConcernError.errInfo: the level asked and each replica set that missed it.
func partialInfo(e *coordinator.PartialWriteError) []byte {
	sets := bsoncore.NewArrayBuilder()
	for _, f := range e.Failed {
		sets.AppendDocument(bsoncore.NewDocumentBuilder().
			AppendInt64("bucket", int64(f.BucketID)).AppendInt64("replicaSet", int64(f.ReplicaSetID)).
			AppendInt32("acks", int32(f.Acks)).AppendInt32("need", int32(f.Need)).AppendInt32("hinted", int32(f.Hinted)).
			Build())
	}
	return bsoncore.NewDocumentBuilder().
		AppendDocument("writeConcern", bsoncore.NewDocumentBuilder().AppendString("w", e.Level.String()).Build()).
		AppendArray("replicaSets", sets.Build()).
		AppendInt32("replicaSetsOK", int32(e.Succeeded)).
		Build()
}
