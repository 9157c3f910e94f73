package index

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/chronogo/chronogo/storage"
)

// Op is the operator of a Match.
type Op uint8

// Match operators.
const (
	OpEq        Op = iota + 1 // tag == Value (same type and bytes)
	OpNe                      // tag != Value, or the series lacks the tag
	OpLt                      // tag < Value, same FieldType only
	OpLte                     // tag <= Value, same FieldType only
	OpGt                      // tag > Value, same FieldType only
	OpGte                     // tag >= Value, same FieldType only
	OpPrefix                  // string tag whose bytes start with Value.Raw
	OpRegex                   // string tag matched by Regex
	OpExists                  // the series has the tag
	OpNotExists               // the series lacks the tag
	OpIn                      // tag equals one of Values
)

var opNames = [...]string{OpEq: "eq", OpNe: "ne", OpLt: "lt", OpLte: "lte", OpGt: "gt", OpGte: "gte",
	OpPrefix: "prefix", OpRegex: "regex", OpExists: "exists", OpNotExists: "notexists", OpIn: "in"}

func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Expr is a predicate on the tags of a series: Match, And, Or or Not.
type Expr interface{ isExpr() }

// Match is one tag predicate.
type Match struct {
	Key    string
	Op     Op
	Value  storage.TagValue   // OpEq, OpNe, ranges; OpPrefix uses Value.Raw
	Values []storage.TagValue // OpIn
	Regex  *regexp.Regexp     // OpRegex, matched against Raw of string values
}

// And matches series that match every element; an empty And matches every series.
type And []Expr

// Or matches series that match any element; an empty Or matches nothing.
type Or []Expr

// Not matches series of the table that E does not match.
type Not struct{ E Expr }

func (Match) isExpr() {}
func (And) isExpr()   {}
func (Or) isExpr()    {}
func (Not) isExpr()   {}

func validate(e Expr) error {
	switch e := e.(type) {
	case Match:
		if e.Key == "" {
			return errors.New("match: empty tag key")
		}
		if e.Op < OpEq || e.Op > OpIn {
			return fmt.Errorf("match %q: unknown operator %d", e.Key, uint8(e.Op))
		}
		if e.Op == OpRegex && e.Regex == nil {
			return fmt.Errorf("match %q: regex operator without Regex", e.Key)
		}
	case And:
		for _, c := range e {
			if err := validate(c); err != nil {
				return err
			}
		}
	case Or:
		for _, c := range e {
			if err := validate(c); err != nil {
				return err
			}
		}
	case Not:
		return validate(e.E)
	case nil:
		return errors.New("nil expression")
	default:
		return fmt.Errorf("unsupported expression type %T", e)
	}
	return nil
}

// Select returns the ids of the series of table that match e, ascending. A nil e matches every
// series of the table. The result is owned by the caller; it is nil when nothing matches.
func (x *Index) Select(table string, e Expr) ([]storage.SeriesID, error) {
	if e != nil {
		if err := validate(e); err != nil {
			return nil, fmt.Errorf("select %s: %w", table, err)
		}
	}
	x.rlock()
	defer x.mu.RUnlock()
	t := x.s.tables[table]
	if t == nil {
		return nil, nil
	}
	if e == nil {
		return slices.Clone(t.all.ids), nil // never empty: empty tables are removed
	}
	ev := evaluator{t: t}
	r := ev.eval(e)
	if len(r.ids) == 0 {
		return nil, nil
	}
	if !r.owned {
		return slices.Clone(r.ids), nil
	}
	return r.ids, nil
}

// result is an ascending id list; when owned is false it aliases index postings and must not be
// modified.
type result struct {
	ids   []storage.SeriesID
	owned bool
}

type evaluator struct {
	t     *tableIndex
	vkBuf []byte
}

func (ev *evaluator) eval(e Expr) result {
	switch e := e.(type) {
	case Match:
		return ev.match(&e)
	case And:
		return ev.and(e)
	case Or:
		var acc result
		for i, c := range e {
			r := ev.eval(c)
			if i == 0 {
				acc = r
				continue
			}
			acc = result{ids: mergeUnion(make([]storage.SeriesID, 0, len(acc.ids)+len(r.ids)), acc.ids, r.ids), owned: true}
		}
		return acc
	case Not:
		r := ev.eval(e.E)
		return result{ids: difference(nil, ev.t.all.ids, r.ids), owned: true}
	}
	return result{}
}

// and intersects the positive terms, smallest first, and subtracts the Not terms.
func (ev *evaluator) and(e And) result {
	var pos, neg []result
	for _, c := range e {
		if n, ok := c.(Not); ok {
			neg = append(neg, ev.eval(n.E))
			continue
		}
		r := ev.eval(c)
		if len(r.ids) == 0 {
			return result{}
		}
		pos = append(pos, r)
	}
	var acc result
	if len(pos) == 0 {
		acc = result{ids: ev.t.all.ids}
	} else {
		sort.Slice(pos, func(i, j int) bool { return len(pos[i].ids) < len(pos[j].ids) })
		acc = pos[0]
		for _, r := range pos[1:] {
			if acc.owned {
				acc.ids = intersect(acc.ids[:0], acc.ids, r.ids)
			} else {
				acc = result{ids: intersect(make([]storage.SeriesID, 0, len(acc.ids)), acc.ids, r.ids), owned: true}
			}
			if len(acc.ids) == 0 {
				return result{}
			}
		}
	}
	for _, r := range neg {
		if acc.owned {
			acc.ids = difference(acc.ids[:0], acc.ids, r.ids)
		} else {
			acc = result{ids: difference(make([]storage.SeriesID, 0, len(acc.ids)), acc.ids, r.ids), owned: true}
		}
	}
	return acc
}

func (ev *evaluator) match(m *Match) result {
	ti := ev.t.tags[m.Key]
	switch m.Op {
	case OpNe:
		eq := ev.match(&Match{Key: m.Key, Op: OpEq, Value: m.Value})
		return result{ids: difference(nil, ev.t.all.ids, eq.ids), owned: true}
	case OpNotExists:
		ex := ev.match(&Match{Key: m.Key, Op: OpExists})
		return result{ids: difference(nil, ev.t.all.ids, ex.ids), owned: true}
	}
	if ti == nil {
		return result{}
	}
	switch m.Op {
	case OpEq:
		ev.vkBuf = appendValueKey(ev.vkBuf[:0], m.Value)
		if p := ti.values[string(ev.vkBuf)]; p != nil {
			return result{ids: p.ids}
		}
		return result{}
	case OpIn:
		var lists [][]storage.SeriesID
		seen := make(map[string]bool, len(m.Values))
		for _, v := range m.Values {
			ev.vkBuf = appendValueKey(ev.vkBuf[:0], v)
			if seen[string(ev.vkBuf)] {
				continue
			}
			seen[string(ev.vkBuf)] = true
			if p := ti.values[string(ev.vkBuf)]; p != nil {
				lists = append(lists, p.ids)
			}
		}
		return unionDisjoint(lists)
	case OpLt, OpLte, OpGt, OpGte:
		lo, hi := typeRange(ti.keys, m.Value.Type)
		ev.vkBuf = appendValueKey(ev.vkBuf[:0], m.Value)
		i, found := slices.BinarySearch(ti.keys, string(ev.vkBuf))
		switch m.Op {
		case OpLt:
			hi = i
		case OpLte:
			hi = i
			if found {
				hi++
			}
		case OpGt:
			lo = i
			if found {
				lo++
			}
		case OpGte:
			lo = i
		}
		return ev.unionRange(ti, ti.keys[lo:max(lo, hi)], nil)
	case OpPrefix:
		ev.vkBuf = appendValueKey(ev.vkBuf[:0], storage.TagValue{Type: storage.TypeString, Raw: m.Value.Raw})
		lo, _ := slices.BinarySearch(ti.keys, string(ev.vkBuf))
		hi := lo
		for hi < len(ti.keys) && strings.HasPrefix(ti.keys[hi], string(ev.vkBuf)) {
			hi++
		}
		return ev.unionRange(ti, ti.keys[lo:hi], nil)
	case OpRegex:
		lo, hi := typeRange(ti.keys, storage.TypeString)
		return ev.unionRange(ti, ti.keys[lo:hi], func(vk string) bool { return m.Regex.MatchString(vk[1:]) })
	case OpExists:
		return ev.unionRange(ti, ti.keys, nil)
	}
	return result{}
}

// typeRange returns the bounds of the value keys of type t in the sorted keys.
func typeRange(keys []string, t storage.FieldType) (lo, hi int) {
	lo, _ = slices.BinarySearch(keys, string([]byte{byte(t)}))
	if t == 0xFF {
		return lo, len(keys)
	}
	hi, _ = slices.BinarySearch(keys, string([]byte{byte(t) + 1}))
	return lo, hi
}

// unionRange unions the postings of the given value keys (filtered by keep when not nil).
func (ev *evaluator) unionRange(ti *tagIndex, keys []string, keep func(string) bool) result {
	lists := make([][]storage.SeriesID, 0, len(keys))
	for _, vk := range keys {
		if keep == nil || keep(vk) {
			lists = append(lists, ti.values[vk].ids)
		}
	}
	return unionDisjoint(lists)
}

// unionDisjoint unions postings of distinct values of one tag, which never share an id. It merges
// runs pairwise (O(n log k) for k lists), ping-ponging between two buffers.
func unionDisjoint(lists [][]storage.SeriesID) result {
	switch len(lists) {
	case 0:
		return result{}
	case 1:
		return result{ids: lists[0]}
	}
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	buf := make([]storage.SeriesID, 0, n)
	bounds := make([]int, 1, len(lists)+1)
	for _, l := range lists {
		buf = append(buf, l...)
		bounds = append(bounds, len(buf))
	}
	tmp := make([]storage.SeriesID, n)
	for len(bounds) > 2 {
		next := bounds[:1]
		for i := 0; i+1 < len(bounds); i += 2 {
			lo, mid := bounds[i], bounds[i+1]
			if i+2 >= len(bounds) {
				copy(tmp[lo:mid], buf[lo:mid])
				next = append(next, mid)
				continue
			}
			hi := bounds[i+2]
			if len(mergeUnion(tmp[lo:lo], buf[lo:mid], buf[mid:hi])) != hi-lo {
				return unionSort(lists, n) // lists overlap: only with an inconsistent snapshot
			}
			next = append(next, hi)
		}
		bounds = next
		buf, tmp = tmp, buf
	}
	return result{ids: buf[:n], owned: true}
}

// unionSort is the general union: concatenate, sort, drop duplicates.
func unionSort(lists [][]storage.SeriesID, n int) result {
	out := make([]storage.SeriesID, 0, n)
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	return result{ids: slices.Compact(out), owned: true}
}
