package storage

// BatchArena builds the columns of batches from a few large arrays, so that parsing a request
// costs a handful of allocations instead of several per series and field (a column of five values
// used to grow through four arrays). Columns stay dense (nil Rows) while every row of their series
// has a value. Outgrown pieces stay in the arena until the batches are dropped: at most as much
// again as the columns hold. The zero value is ready to use; one arena serves one goroutine.
type BatchArena struct {
	times, ints []int64
	floats      []float64
	bools       []bool
	bytes       [][]byte
	rows        []uint32
	fields      []FieldColumn
}

// An arena's arrays start at arenaFirstChunk elements and double up to arenaChunk, so a request
// of one line or document reserves a few KiB, not what a large batch needs.
const (
	arenaFirstChunk = 64
	arenaChunk      = 4096
)

// growTo returns a copy of s with a capacity of want (> len(s)), carved from *pool (a fresh chunk
// when it has too little left). The copy's capacity ends where its piece does, so appends past it
// reallocate instead of writing into a neighbour's piece.
func growTo[T any](pool *[]T, s []T, want int) []T {
	if cap(*pool)-len(*pool) < want {
		next := min(arenaChunk, max(arenaFirstChunk, 2*cap(*pool)))
		*pool = make([]T, 0, max(next, want))
	}
	p := *pool
	start := len(p)
	out := p[start : start+len(s) : start+want]
	copy(out, s)
	*pool = p[:start+want]
	return out
}

// appendTo appends v to s, growing s through the pool.
func appendTo[T any](pool *[]T, s []T, v T) []T {
	if len(s) == cap(s) {
		s = growTo(pool, s, max(8, 2*cap(s)))
	}
	return append(s, v)
}

// AppendRow appends a row at time t to s and returns its index.
func (a *BatchArena) AppendRow(s *SeriesRows, t int64) uint32 {
	s.Times = appendTo(&a.times, s.Times, t)
	return uint32(len(s.Times) - 1)
}

// AddColumn appends an empty column (name, t) to s. When s must grow, more (called only then)
// says how many more columns to make room for (a series' rows mostly carry the same fields, so
// the rest of the first row tells how many).
func (a *BatchArena) AddColumn(s *SeriesRows, name string, t FieldType, more func() int) *FieldColumn {
	if len(s.Fields) == cap(s.Fields) {
		s.Fields = growTo(&a.fields, s.Fields, max(2*cap(s.Fields), len(s.Fields)+1+more()))
	}
	s.Fields = append(s.Fields, FieldColumn{Name: name, Values: Values{Type: t}})
	return &s.Fields[len(s.Fields)-1]
}

// LastRow is the row of the column's last value (-1 when it has none).
func (c *FieldColumn) LastRow() int {
	if c.Values.Len() == 0 {
		return -1
	}
	return c.RowAt(c.Values.Len() - 1)
}

// TakeRow makes c ready for a value at row (after its last): a dense column stays dense while
// its values fill every row from 0, and gets a row list at its first gap. Append the value next.
func (a *BatchArena) TakeRow(c *FieldColumn, row uint32) {
	n := c.Values.Len()
	if c.Rows == nil && n == int(row) {
		return
	}
	if c.Rows == nil {
		c.Rows = growTo(&a.rows, nil, max(8, 2*(n+1)))[:n]
		for i := range c.Rows {
			c.Rows[i] = uint32(i)
		}
	}
	c.Rows = appendTo(&a.rows, c.Rows, row)
}

// AppendInt appends an int value (also for the other int classes: datetime, timestamp, ...).
func (a *BatchArena) AppendInt(c *FieldColumn, v int64) {
	c.Values.Ints = appendTo(&a.ints, c.Values.Ints, v)
}

// AppendFloat appends a double.
func (a *BatchArena) AppendFloat(c *FieldColumn, v float64) {
	c.Values.Floats = appendTo(&a.floats, c.Values.Floats, v)
}

// AppendBool appends a bool.
func (a *BatchArena) AppendBool(c *FieldColumn, v bool) {
	c.Values.Bools = appendTo(&a.bools, c.Values.Bools, v)
}

// AppendBytes appends a byte value (the batch refers to b: it must stay unchanged).
func (a *BatchArena) AppendBytes(c *FieldColumn, b []byte) {
	c.Values.Bytes = appendTo(&a.bytes, c.Values.Bytes, b)
}

// FinishRows settles the row lists of s once every row is in: a column dense until its field
// stopped appearing gets the rows it covers, and one that covers every row needs none.
func FinishRows(s *SeriesRows) {
	for j := range s.Fields {
		c := &s.Fields[j]
		switch n := c.Values.Len(); {
		case n == len(s.Times):
			c.Rows = nil
		case c.Rows == nil:
			c.Rows = make([]uint32, n)
			for r := range c.Rows {
				c.Rows[r] = uint32(r)
			}
		}
	}
}
