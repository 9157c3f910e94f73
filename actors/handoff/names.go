package handoff

import (
	"fmt"
	"strconv"
	"strings"
)

// On-disk names and magics; they match FORMAT.md.
const (
	// SegmentMagic is the recordfile magic of a queue segment.
	SegmentMagic = "HINT"
	// AckMagic is the recordfile magic of the "acked up to" file.
	AckMagic = "HACK"
	// SegmentSuffix ends every segment file name: <20-digit id>.hints.
	SegmentSuffix = ".hints"
	// AckFileName is the file holding the acknowledged position of a queue.
	AckFileName = "acked"
	// BadSuffix is appended to a segment found corrupt (quarantine): it is no longer read.
	BadSuffix = ".bad"
)

var (
	segmentMagic = [4]byte{'H', 'I', 'N', 'T'}
	ackMagic     = [4]byte{'H', 'A', 'C', 'K'}
)

// SegmentName is the file name of segment id.
func SegmentName(id uint64) string { return fmt.Sprintf("%020d%s", id, SegmentSuffix) }

// parseSegmentName returns the id of a segment file name.
func parseSegmentName(name string) (uint64, bool) {
	s, ok := strings.CutSuffix(name, SegmentSuffix)
	if !ok || len(s) != 20 {
		return 0, false
	}
	id, err := strconv.ParseUint(s, 10, 64)
	return id, err == nil && id > 0
}

// QueueDirName is the directory name of the queue for target node id under the handoff dir.
func QueueDirName(node uint64) string { return strconv.FormatUint(node, 10) }

// parseQueueDirName returns the target node of a queue directory name.
func parseQueueDirName(name string) (uint64, bool) {
	id, err := strconv.ParseUint(name, 10, 64)
	return id, err == nil && id > 0 && QueueDirName(id) == name
}
