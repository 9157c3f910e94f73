package actors

import "time"

// LateWriteWindow bounds how old the version of a fresh write, delete or rename can be when a
// vnode applies it, so that a node can name a stable version: one that no write still to come
// is at or below (compaction then stores a column's versions once instead of per point).
//   - Coordinators stamp versions just before sending and give a versioned request at most
//     MaxVersionedTime (a quarter of the window) before it fails or is hinted.
//   - Vnode managers refuse (ERROR_CODE_TOO_LATE, not retried, not hinted) a request that is not
//     a hint replay and was stamped more than half the window ago by their node's clock
//     (TooLate): a request stuck for that long fails instead of landing under data that was
//     compacted meanwhile. Clocks are hybrid logical clocks that observe each other's versions
//     (every write and every liveness probe), so a node whose wall clock lags is not refused.
//   - Hint replays carry versions as old as the hint window: a node that holds hints, or that
//     cannot know whether other nodes do, lags its stable version by the hint window too.
const LateWriteWindow = 40 * time.Second

// MaxVersionedTime is the longest a coordinator works on one versioned request.
const MaxVersionedTime = LateWriteWindow / 4

// HLCOf is the HLC value of a wall-clock time (logical counter 0).
func HLCOf(t time.Time) uint64 { return physical(t) }

// hlcSpan is d in HLC units.
func hlcSpan(d time.Duration) uint64 { return uint64(d.Milliseconds()) << HLCLogicalBits }

// TooLate reports whether a request stamped with version, not a hint replay, arrives too late
// at a node whose clock reads now.
func TooLate(version uint64, hinted bool, now uint64) bool {
	span := hlcSpan(LateWriteWindow / 2)
	return !hinted && now > span && version < now-span
}

// StableVersion is now (an HLC value) minus LateWriteWindow and lag (the hint window when hints
// may be pending): every write still to come has a higher version.
func StableVersion(now uint64, lag time.Duration) uint64 {
	span := hlcSpan(LateWriteWindow + lag)
	if now <= span {
		return 0
	}
	return now - span
}
