package reader

// The repair job actor: one per anti-entropy request, a child of the reader, named repair-<id>.
//
// Owns:       one *engine.Snapshot, released when the job stops.
// Messages:   lifecycle (Started: asks the manager for the snapshot; Stopped: releases it).
// Supervisor: the reader (Stop).
// Children:   none.
//
// It answers one *messages.DigestRequest (digests of the vnode's tables by window, or of one
// table's series) or *messages.RepairReadRequest (points of some series with their versions, as
// write batches), then stops. Like a cursor it reads on its own goroutine, so the vnode and other
// reads keep running while a whole vnode is digested.

import (
	"errors"
	"fmt"
	"slices"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/actors/vnode"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/engine"
)

// Bounds of repair answers, so one stays far below the remote message limit.
const (
	// DefaultRepairPoints is the most points a RepairReadReply carries when the request sets none.
	DefaultRepairPoints = 200_000
	// DefaultDetailDigests is the most series digests one detailed DigestReply carries (about 3
	// MiB of series keys, under the remote message limit); the rest comes in further answers.
	DefaultDetailDigests = 20_000
)

type repairJob struct {
	cfg       Config
	req       proto.Message
	vnode     *messages.VnodeRef
	requester *actor.PID
	log       logrus.FieldLogger
	snap      *engine.Snapshot
}

func newRepairJob(cfg Config, req proto.Message, ref *messages.VnodeRef, requester *actor.PID) *repairJob {
	return &repairJob{cfg: cfg, req: req, vnode: ref, requester: requester,
		log: cfg.Logger.WithFields(logrus.Fields{"vnode_id": ref.GetVnodeId(), "request": fmt.Sprintf("%T", req)})}
}

// Receive implements actor.Actor.
func (j *repairJob) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		f := ctx.RequestFuture(j.cfg.Manager, &vnode.Forward{Spec: vnode.SpecOf(j.vnode), Msg: &vnode.GetSnapshot{}}, j.cfg.SnapshotTimeout)
		ctx.ReenterAfter(f, func(res any, err error) { j.opened(ctx, res, err) })
	case *actor.Stopped:
		if j.snap != nil {
			j.snap.Release()
			j.snap = nil
		}
	}
}

func (j *repairJob) opened(ctx actor.Context, res any, err error) {
	defer ctx.Stop(ctx.Self())
	if err != nil {
		j.reply(ctx, nil, messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "snapshot: "+err.Error())
		return
	}
	switch r := res.(type) {
	case *engine.Snapshot:
		j.snap = r
	case *messages.ErrorReply:
		j.reply(ctx, nil, r.GetCode(), r.GetMessage())
		return
	default:
		j.reply(ctx, nil, messages.ErrorCode_ERROR_CODE_INTERNAL, "snapshot: unexpected reply")
		return
	}
	var out proto.Message
	switch m := j.req.(type) {
	case *messages.DigestRequest:
		out, err = digests(j.snap, m, j.cfg.DetailDigests)
	case *messages.RepairReadRequest:
		out, err = repairRead(j.snap, m)
	}
	if err != nil {
		j.log.WithError(err).Warn("anti-entropy read failed")
		j.reply(ctx, nil, messages.ErrorCode_ERROR_CODE_INTERNAL, err.Error())
		return
	}
	j.reply(ctx, out, 0, "")
}

// reply sends out, or an error answer of the request's type.
func (j *repairJob) reply(ctx actor.Context, out proto.Message, code messages.ErrorCode, msg string) {
	if out == nil {
		switch j.req.(type) {
		case *messages.DigestRequest:
			out = &messages.DigestReply{Code: code, Message: msg}
		default:
			out = &messages.RepairReadReply{Code: code, Message: msg}
		}
	}
	actors.SendReply(ctx, j.requester, out, j.log)
}

// errPageFull stops a detailed digest whose answer is full.
var errPageFull = errors.New("page full")

// digests answers a DigestRequest from the snapshot.
func digests(s *engine.Snapshot, m *messages.DigestRequest, page int) (*messages.DigestReply, error) {
	if m.GetWindowNs() <= 0 {
		return nil, fmt.Errorf("digest window %d ns must be positive", m.GetWindowNs())
	}
	tables := m.GetTables()
	if len(tables) == 0 {
		tables = s.Tables()
	}
	if m.GetDetail() && len(tables) != 1 {
		return nil, fmt.Errorf("a detailed digest names one table, not %d", len(tables))
	}
	minT, maxT := m.GetMinTime(), m.GetMaxTime()
	windows := m.GetWindows()
	out := &messages.DigestReply{}
	var last storage.SeriesID // the series of the last detailed digest answered
	for _, table := range tables {
		byWindow := map[int64]*messages.WindowDigest{}
		q := engine.DigestQuery{Table: table, MinTime: minT, MaxTime: maxT, Window: m.GetWindowNs()}
		if m.GetDetail() {
			q.After = storage.SeriesID(m.GetAfterSeries())
		}
		err := s.Digests(q, func(d *engine.SeriesDigest) error {
			if len(windows) > 0 && !slices.Contains(windows, d.Start) {
				return nil
			}
			if m.GetDetail() {
				if len(out.Digests) >= page && d.Series != last {
					out.NextSeries = uint64(last) // the rest in the next answer
					return errPageFull
				}
				last = d.Series
				k, ok := s.SeriesKey(d.Series)
				if !ok {
					return fmt.Errorf("series %d has no key", d.Series)
				}
				out.Digests = append(out.Digests, &messages.WindowDigest{Table: table, SeriesKey: k.Marshal(nil), Start: d.Start, Points: d.Points, Hash: d.Hash})
				return nil
			}
			w := byWindow[d.Start]
			if w == nil {
				w = &messages.WindowDigest{Table: table, Start: d.Start}
				byWindow[d.Start] = w
			}
			// a series' digest is folded in with its key, so series that swapped points differ
			k, _ := s.SeriesKey(d.Series)
			w.Points += d.Points
			w.Hash += engine.KeyedHash(k.Marshal(nil), d.Hash)
			return nil
		})
		if errors.Is(err, errPageFull) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("digests of %s: %w", table, err)
		}
		starts := make([]int64, 0, len(byWindow))
		for w := range byWindow {
			starts = append(starts, w)
		}
		slices.Sort(starts)
		for _, w := range starts {
			out.Digests = append(out.Digests, byWindow[w])
		}
	}
	return out, nil
}

// repairRead answers a RepairReadRequest from the snapshot.
func repairRead(s *engine.Snapshot, m *messages.RepairReadRequest) (*messages.RepairReadReply, error) {
	limit := int(m.GetMaxPoints())
	if limit <= 0 || limit > DefaultRepairPoints {
		limit = DefaultRepairPoints
	}
	data, err := s.RepairRead(m.GetTable(), m.GetSeriesKeys(), m.GetMinTime(), m.GetMaxTime(), limit)
	if err != nil {
		return nil, err
	}
	out := &messages.RepairReadReply{More: data.More, HiddenSeries: data.Hidden}
	for _, t := range data.Tombstones {
		out.Tombstones = append(out.Tombstones, &messages.RepairTombstone{SeriesKey: t.Key, MinTime: t.MinTime, MaxTime: t.MaxTime, Version: t.Version})
	}
	for _, b := range data.Batches {
		w := &messages.WriteBatch{}
		w.SetBatch(b)
		out.Batches = append(out.Batches, w)
	}
	return out, nil
}
