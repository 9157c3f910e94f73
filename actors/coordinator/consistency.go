package coordinator

import (
	"context"
	"fmt"
	"strings"

	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/meta"
)

// Level is a write consistency level: how many replicas of a replica set must acknowledge.
type Level int

// Consistency levels (architecture §9).
const (
	Any    Level = iota + 1 // one acknowledgement or one hinted write
	One                     // one replica
	Quorum                  // a majority of replicas
	All                     // every replica
)

var levelNames = map[Level]string{Any: "any", One: "one", Quorum: "quorum", All: "all"}

// replicasBase + n is the level "n replicas" (a write concern's numeric w).
const replicasBase Level = 1 << 16

// Replicas is the level of n acknowledging replicas (n >= 1): a MongoDB write concern's w: n. A
// replica set with fewer replicas never reaches it (the write is applied, with a write concern
// error).
func Replicas(n int) Level { return replicasBase + Level(max(n, 1)) }

func (l Level) String() string {
	if s, ok := levelNames[l]; ok {
		return s
	}
	if l > replicasBase {
		return fmt.Sprintf("w:%d", int(l-replicasBase))
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// ParseLevel parses meta.Database.Consistency; "" is Quorum, the default.
func ParseLevel(s string) (Level, error) {
	if s == "" {
		return Quorum, nil
	}
	for l, name := range levelNames {
		if strings.EqualFold(s, name) {
			return l, nil
		}
	}
	return 0, fmt.Errorf("unknown consistency level %q", s)
}

// Proto is the level as carried in messages.WriteBatch.
func (l Level) Proto() messages.Consistency {
	switch l {
	case Any:
		return messages.Consistency_CONSISTENCY_ANY
	case One:
		return messages.Consistency_CONSISTENCY_ONE
	case Quorum:
		return messages.Consistency_CONSISTENCY_QUORUM
	case All:
		return messages.Consistency_CONSISTENCY_ALL
	}
	if l > replicasBase {
		return messages.Consistency_CONSISTENCY_ALL // the vnodes do not use it; the nearest level
	}
	return messages.Consistency_CONSISTENCY_UNSPECIFIED
}

// LevelOf is the level a message carries (0 for UNSPECIFIED: the database's own).
func LevelOf(c messages.Consistency) Level {
	switch c {
	case messages.Consistency_CONSISTENCY_ANY:
		return Any
	case messages.Consistency_CONSISTENCY_ONE:
		return One
	case messages.Consistency_CONSISTENCY_QUORUM:
		return Quorum
	case messages.Consistency_CONSISTENCY_ALL:
		return All
	}
	return 0
}

// Required is how many acknowledgements a replica set of n replicas needs at level l.
func (l Level) Required(n int) int {
	switch l {
	case Any, One:
		return min(1, n)
	case Quorum:
		return n/2 + 1
	case All:
		return n
	}
	if l > replicasBase {
		return int(l - replicasBase)
	}
	return n
}

// Outcome is the state of one replica set's write.
type Outcome int

// Outcomes of Decide.
const (
	Pending Outcome = iota // more answers may change the outcome
	Met                    // the level is reached
	Failed                 // the level can no longer be reached
)

func (o Outcome) String() string {
	return [...]string{Pending: "pending", Met: "met", Failed: "failed"}[o]
}

// Members counts the replicas of a set a consistency level is counted over: its vnodes that are
// not joining.
func Members(rs meta.ReplicaSet) int {
	n := 0
	for _, v := range rs.Vnodes {
		if !v.Joining {
			n++
		}
	}
	return n
}

// Decide says whether a write to a replica set of n replicas has reached level l after acks
// acknowledgements and fails failures, hinted of which were stored as hints for hinted handoff.
// Hints count only for Any.
func Decide(l Level, n, acks, fails, hinted int) Outcome {
	need := l.Required(n)
	switch {
	case acks >= need:
		return Met
	case l == Any && acks+hinted >= need:
		return Met
	case n-fails < need:
		return Failed
	}
	return Pending
}

// levelKey keys a write concern's level in a context.
type levelKey struct{}

// WithLevel is ctx asking writes, deletes and renames made with it for level l instead of the
// database's default (a client's write concern).
func WithLevel(ctx context.Context, l Level) context.Context {
	return context.WithValue(ctx, levelKey{}, l)
}

// askedLevel is the level ctx asks for with WithLevel (0: none).
func askedLevel(ctx context.Context) Level {
	l, _ := ctx.Value(levelKey{}).(Level)
	return l
}

// levelOf is asked, or the database's default when nothing was asked.
func levelOf(asked Level, dbDefault string) (Level, error) {
	if asked != 0 {
		return asked, nil
	}
	return ParseLevel(dbDefault)
}
