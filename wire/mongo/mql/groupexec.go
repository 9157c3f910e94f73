package mql

import (
	"cmp"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/storage"
)

// ErrNoPushdown is returned by GroupRun.Finish when the data holds something the pushdown cannot
// reproduce exactly (for example $min of a string field); the caller runs the pipeline as usual.
var ErrNoPushdown = errors.New("group pushdown not applicable to this data")

// GroupColumn is the aggregate of one column (a field stored with one BSON type) of one series
// in one time bin; several partial aggregates of the same column and bin may be added. Int32,
// Int64, DateTime, Timestamp and Boolean columns use the integer fields (Boolean: Sum counts
// trues, Min/Max are 0 or 1), Double columns the F fields, other types only Count and
// FirstBytes/LastBytes (the stored value bytes). Times are ns.
type GroupColumn struct {
	Field                           string
	Type                            bson.Type
	Count                           int64
	Sum, Min, Max, First, Last      int64
	SumOverflow                     bool
	FSum, FMin, FMax, FFirst, FLast float64
	FirstBytes, LastBytes           []byte
	FirstTime, LastTime             int64
}

// merge folds a partial aggregate of the same column and bin into c.
func (c *GroupColumn) merge(o *GroupColumn) {
	if o.Count == 0 {
		return
	}
	if c.Count == 0 {
		*c = *o
		c.FirstBytes, c.LastBytes = slices.Clone(o.FirstBytes), slices.Clone(o.LastBytes)
		return
	}
	c.Count += o.Count
	s := c.Sum + o.Sum
	if (o.Sum > 0 && s < c.Sum) || (o.Sum < 0 && s > c.Sum) {
		c.SumOverflow = true
	}
	c.Sum, c.SumOverflow = s, c.SumOverflow || o.SumOverflow
	c.Min, c.Max = min(c.Min, o.Min), max(c.Max, o.Max)
	c.FSum += o.FSum
	if o.FMin < c.FMin || math.IsNaN(o.FMin) {
		c.FMin = o.FMin
	}
	if o.FMax > c.FMax || math.IsNaN(o.FMax) {
		c.FMax = o.FMax
	}
	if o.FirstTime < c.FirstTime {
		c.First, c.FFirst, c.FirstBytes, c.FirstTime = o.First, o.FFirst, slices.Clone(o.FirstBytes), o.FirstTime
	}
	if o.LastTime > c.LastTime {
		c.Last, c.FLast, c.LastBytes, c.LastTime = o.Last, o.FLast, slices.Clone(o.LastBytes), o.LastTime
	}
}

// GroupRun computes the group documents of a GroupPlan from column aggregates.
type GroupRun struct {
	p        *GroupPlan
	cells    map[cellKey]*cell
	series   map[string]bool // series key -> its meta value passes the filter
	last     string          // series of the previous Add
	lastOK   bool
	lastMap  map[int64]*cell
	lastMeta bson.RawValue // the series' meta value, cloned once for all its cells
	colsHint int           // the most columns a cell had so far: capacity of new cells
	slab     []cell        // cells are taken from here, cellSlab at a time
	colSlab  []GroupColumn // and their first columns from here
}

// cellSlab is how many cells (and first columns) GroupRun allocates at once.
const cellSlab = 64

// newCell returns a zero cell with room for hint columns, from the run's slabs.
func (r *GroupRun) newCell(hint int) *cell {
	if len(r.slab) == cap(r.slab) {
		r.slab = make([]cell, 0, cellSlab)
	}
	r.slab = r.slab[:len(r.slab)+1]
	ce := &r.slab[len(r.slab)-1]
	if cap(r.colSlab)-len(r.colSlab) < hint {
		r.colSlab = make([]GroupColumn, 0, max(cellSlab*hint, hint))
	}
	n := len(r.colSlab)
	ce.cols = r.colSlab[n : n : n+hint]
	r.colSlab = r.colSlab[:n+hint]
	return ce
}

type cellKey struct {
	series string
	start  int64
}

// cell is one series in one time bin.
type cell struct {
	series string
	start  int64 // bin start, ms
	meta   bson.RawValue
	cols   []GroupColumn
	// derived in Finish
	first, last, count int64
}

// Start begins a run.
func (p *GroupPlan) Start() *GroupRun {
	return &GroupRun{p: p, cells: map[cellKey]*cell{}, series: map[string]bool{}}
}

// Add folds one column aggregate of the series identified by series (the same bytes for the same
// series key in every bucket), whose meta field value is meta (zero when absent), in the bin
// starting at start (ms; ignored when the plan's Window is 0).
func (r *GroupRun) Add(series []byte, meta bson.RawValue, start int64, c *GroupColumn) (err error) {
	defer recoverErr(&err)
	if r.p.Window == 0 {
		start = 0
	}
	if r.lastMap == nil || string(series) != r.last {
		r.last = string(series)
		ok, seen := r.series[r.last]
		if !seen {
			if ok, err = r.metaMatches(meta); err != nil {
				return err
			}
			r.series[r.last] = ok
		}
		r.lastOK, r.lastMap = ok, map[int64]*cell{}
		if ok {
			r.lastMeta = cloneValue(meta)
		}
	}
	if !r.lastOK || c.Count == 0 {
		return nil
	}
	ce := r.lastMap[start]
	if ce == nil {
		k := cellKey{r.last, start}
		if ce = r.cells[k]; ce == nil {
			ce = r.newCell(max(r.colsHint, 1))
			ce.series, ce.start, ce.meta = r.last, start, r.lastMeta
			r.cells[k] = ce
		}
		r.lastMap[start] = ce
	}
	for i := range ce.cols {
		if ce.cols[i].Field == c.Field && ce.cols[i].Type == c.Type {
			ce.cols[i].merge(c)
			return nil
		}
	}
	ce.cols = append(ce.cols, GroupColumn{})
	ce.cols[len(ce.cols)-1].merge(c)
	r.colsHint = max(r.colsHint, len(ce.cols))
	return nil
}

// metaMatches evaluates the leading $match on a document holding only a time inside the pushed
// down range and the series' meta value: the plan guarantees the filter reads nothing else.
func (r *GroupRun) metaMatches(meta bson.RawValue) (bool, error) {
	if r.p.filter == nil {
		return true, nil
	}
	t := r.p.Pushdown.MinTime
	if t == math.MinInt64 {
		t = min(r.p.Pushdown.MaxTime, 0)
	}
	return r.p.filter.Match(r.p.syntheticDoc(t, meta))
}

// syntheticDoc is {timeField: date(ms), metaField: meta}.
func (p *GroupPlan) syntheticDoc(ms int64, meta bson.RawValue) bson.Raw {
	return p.appendSyntheticDoc(nil, ms, meta)
}

// appendSyntheticDoc is syntheticDoc appended to dst.
func (p *GroupPlan) appendSyntheticDoc(dst []byte, ms int64, meta bson.RawValue) bson.Raw {
	idx, d := bsoncore.AppendDocumentStart(dst)
	d = bsoncore.AppendDateTimeElement(d, p.o.TimeField, ms)
	if meta.Type != 0 && p.o.MetaField != "" {
		d = bsoncore.AppendValueElement(d, p.o.MetaField, bsoncore.Value{Type: bsoncore.Type(meta.Type), Data: meta.Value})
	}
	d, _ = bsoncore.AppendDocumentEnd(d, idx)
	return d
}

// group is the state of one output group.
type group struct {
	key      bson.RawValue // $group _id, or the $timeWindow partition
	start    int64         // $timeWindow bin start
	accs     []accState
	earliest *cell
	latest   *cell
	hasCells bool
}

type accState struct {
	n        int64 // count, or number of numeric values
	iSum     int64
	int64Typ bool
	fSum     float64
	dbl      bool
	best     bson.RawValue
}

// Finish computes the groups and runs them through the stages after the group into out. It
// returns ErrNoPushdown (having called out with nothing) when the data cannot be aggregated
// exactly from column aggregates.
func (r *GroupRun) Finish(out func(bson.Raw) error) (err error) {
	defer recoverErr(&err)
	cells := make([]*cell, 0, len(r.cells))
	for _, c := range r.cells {
		cells = append(cells, c)
	}
	slices.SortFunc(cells, func(a, b *cell) int {
		if c := strings.Compare(a.series, b.series); c != 0 {
			return c
		}
		return cmp.Compare(a.start, b.start)
	})
	groups := map[string]*group{}
	var order []*group
	var kbuf, docBuf []byte
	env := &evalEnv{static: r.p.env}
	for _, c := range cells {
		if err := r.p.derive(c); err != nil {
			return err
		}
		var key bson.RawValue
		// the document is rewritten for every cell: the key is copied (appendKey, cloneValue)
		// before the next one
		docBuf = r.p.appendSyntheticDoc(docBuf[:0], c.start, c.meta)
		*env = evalEnv{root: docBuf, static: r.p.env}
		kbuf = kbuf[:0]
		if r.p.timeWindow {
			key = missing
			if r.p.partition != nil {
				if key, err = r.p.partition.eval(env); err != nil {
					return err
				}
				if isMissing(key) {
					key = vNull()
				}
			}
			kbuf = binary.BigEndian.AppendUint64(kbuf, uint64(c.start))
		} else {
			if key, err = r.p.id.eval(env); err != nil {
				return err
			}
			if isMissing(key) {
				key = vNull()
			}
		}
		kbuf = appendKey(kbuf, key)
		g := groups[string(kbuf)]
		if g == nil {
			g = &group{key: cloneValue(key), start: c.start, accs: make([]accState, len(r.p.accs))}
			groups[string(kbuf)] = g
			order = append(order, g)
		}
		if err := r.p.fold(g, c); err != nil {
			return err
		}
	}
	slices.SortStableFunc(order, func(a, b *group) int {
		if r.p.timeWindow {
			if c := cmp.Compare(a.start, b.start); c != 0 {
				return c
			}
		}
		return CompareValues(a.key, b.key)
	})
	docs := make([]bson.Raw, 0, len(order))
	for _, g := range order {
		d, err := r.p.groupDoc(g)
		if err != nil {
			return err
		}
		docs = append(docs, d)
	}
	in := func(yield func(bson.Raw) error) error {
		for _, d := range docs {
			if err := yield(d); err != nil {
				return err
			}
		}
		return nil
	}
	return r.p.rest.Run(in, out)
}

// derive computes a cell's document count and its first and last document times.
func (p *GroupPlan) derive(c *cell) error {
	c.first, c.last = math.MaxInt64, math.MinInt64
	var idCount, maxCount int64
	for i := range c.cols {
		col := &c.cols[i]
		c.first, c.last = min(c.first, col.FirstTime), max(c.last, col.LastTime)
		if col.Field == "_id" {
			idCount += col.Count
		} else {
			maxCount = max(maxCount, col.Count)
		}
	}
	if !p.needCount {
		return nil
	}
	if idCount > 0 {
		// every document inserted through the wire protocol has an _id
		if maxCount > idCount {
			return ErrNoPushdown
		}
		c.count = idCount
		return nil
	}
	// no _id (line protocol): only when every column has the same points
	for i := range c.cols {
		col := &c.cols[i]
		if col.Count != maxCount || col.FirstTime != c.first || col.LastTime != c.last {
			return ErrNoPushdown
		}
	}
	c.count = maxCount
	return nil
}

// fold adds a cell to a group.
func (p *GroupPlan) fold(g *group, c *cell) error {
	if !g.hasCells || c.first < g.earliest.first {
		g.earliest = c
	}
	if !g.hasCells || c.last > g.latest.last {
		g.latest = c
	}
	g.hasCells = true
	for i, a := range p.accs {
		st := &g.accs[i]
		switch a.kind {
		case accCount:
			st.n += c.count
		case accSum, accAvg:
			for j := range c.cols {
				col := &c.cols[j]
				if col.Field != a.field {
					continue
				}
				switch col.Type {
				case bson.TypeInt32, bson.TypeInt64:
					if col.SumOverflow {
						return ErrNoPushdown
					}
					s := st.iSum + col.Sum
					if (col.Sum > 0 && s < st.iSum) || (col.Sum < 0 && s > st.iSum) {
						return ErrNoPushdown
					}
					st.iSum, st.n = s, st.n+col.Count
					st.int64Typ = st.int64Typ || col.Type == bson.TypeInt64
				case bson.TypeDouble:
					st.fSum += col.FSum
					st.dbl = true
					st.n += col.Count
				case bson.TypeDecimal128:
					return ErrNoPushdown
				}
			}
		case accMin, accMax:
			sign := -1
			if a.kind == accMax {
				sign = 1
			}
			if a.isTime {
				t := c.first
				if a.kind == accMax {
					t = c.last
				}
				v := vDate(storage.FloorDiv(t, 1_000_000))
				if isMissing(st.best) || CompareValues(v, st.best)*sign > 0 {
					st.best = v
				}
				continue
			}
			for j := range c.cols {
				col := &c.cols[j]
				if col.Field != a.field {
					continue
				}
				v, ok := extremeValue(col, a.kind == accMax)
				if !ok {
					return ErrNoPushdown
				}
				if isMissing(st.best) || CompareValues(v, st.best)*sign > 0 {
					st.best = v
				}
			}
		}
	}
	return nil
}

// extremeValue is a column's minimum or maximum as a BSON value, if the engine keeps it.
func extremeValue(c *GroupColumn, isMax bool) (bson.RawValue, bool) {
	n, f := c.Min, c.FMin
	if isMax {
		n, f = c.Max, c.FMax
	}
	switch c.Type {
	case bson.TypeInt32:
		return vInt32(int32(n)), true
	case bson.TypeInt64:
		return vInt64(n), true
	case bson.TypeDateTime:
		return vDate(n), true
	case bson.TypeBoolean:
		return vBool(n != 0), true
	case bson.TypeDouble:
		if math.IsNaN(c.FSum) {
			return missing, false // NaN sorts below every number: the engine's min/max skip it
		}
		return vDouble(f), true
	}
	return missing, false
}

// columnValue converts a stored value of type t to BSON.
func columnValue(t bson.Type, n int64, f float64, b []byte) bson.RawValue {
	switch t {
	case bson.TypeInt32:
		return vInt32(int32(n))
	case bson.TypeInt64:
		return vInt64(n)
	case bson.TypeDateTime:
		return vDate(n)
	case bson.TypeTimestamp:
		return bson.RawValue{Type: t, Value: binary.LittleEndian.AppendUint64(nil, uint64(n))}
	case bson.TypeBoolean:
		return vBool(n != 0)
	case bson.TypeDouble:
		return vDouble(f)
	case bson.TypeString:
		return vString(string(b))
	}
	return bson.RawValue{Type: t, Value: slices.Clone(b)}
}

// docValue is a field's value in the document of cell c at time t (ns), or null if it has none.
func (p *GroupPlan) docValue(a pushedAcc, c *cell, latest bool) bson.RawValue {
	t := c.first
	if latest {
		t = c.last
	}
	if a.isTime {
		return vDate(storage.FloorDiv(t, 1_000_000))
	}
	var best *GroupColumn
	for i := range c.cols {
		col := &c.cols[i]
		if col.Field != a.field || (latest && col.LastTime != t) || (!latest && col.FirstTime != t) {
			continue
		}
		if best == nil || col.Type < best.Type {
			best = col
		}
	}
	if best == nil {
		return vNull()
	}
	if latest {
		return columnValue(best.Type, best.Last, best.FLast, best.LastBytes)
	}
	return columnValue(best.Type, best.First, best.FFirst, best.FirstBytes)
}

// groupDoc builds the output document of a group.
func (p *GroupPlan) groupDoc(g *group) (bson.Raw, error) {
	b := newBuilder(128)
	if p.timeWindow {
		id := newBuilder(48)
		id.add("timestamp", vDate(g.start))
		if p.partition != nil {
			id.add("partition", g.key)
		}
		b.add("_id", id.doc())
	} else {
		b.add("_id", g.key)
	}
	for i, a := range p.accs {
		st := &g.accs[i]
		var v bson.RawValue
		switch a.kind {
		case accCount:
			v = intValue(st.n)
		case accSum:
			switch {
			case st.dbl:
				v = vDouble(float64(st.iSum) + st.fSum)
			case st.int64Typ:
				v = vInt64(st.iSum)
			default:
				v = intValue(st.iSum)
			}
		case accAvg:
			switch {
			case st.n == 0:
				v = vNull()
			case st.dbl:
				v = vDouble((float64(st.iSum) + st.fSum) / float64(st.n))
			default:
				v = vDouble(float64(st.iSum) / float64(st.n))
			}
		case accMin, accMax:
			v = st.best
			if isMissing(v) {
				v = vNull()
			}
		case accEarliest:
			v = p.docValue(a, g.earliest, false)
		case accLatest:
			v = p.docValue(a, g.latest, true)
		}
		b.add(a.name, v)
	}
	return b.finish(), nil
}
