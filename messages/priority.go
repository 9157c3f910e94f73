package messages

// Priorities for protoactor's priority mailbox (0–7, default 4): control messages jump ahead of
// queued writes so a vnode under write load still answers flush, compaction and stats requests.
const (
	// PriorityControl is the priority of control requests.
	PriorityControl int8 = 6
)

// GetPriority puts flush requests ahead of writes.
func (*FlushRequest) GetPriority() int8 { return PriorityControl }

// GetPriority puts compaction requests ahead of writes.
func (*CompactRequest) GetPriority() int8 { return PriorityControl }

// GetPriority puts stats requests ahead of writes.
func (*StatsRequest) GetPriority() int8 { return PriorityControl }
