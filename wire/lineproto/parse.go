package lineproto

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/chronogo/chronogo/storage"
)

// MetaField is the meta field of collections written through line protocol: tag k becomes the
// tag "tags.k", i.e. the document field tags.k.
const MetaField = "tags"

// TimeField is the time field of collections written through line protocol.
const TimeField = "time"

// precisions maps the precision parameter to nanoseconds per unit.
var precisions = map[string]int64{"": 1, "n": 1, "ns": 1, "u": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}

// Multiplier returns the nanoseconds per timestamp unit of a precision, or an error.
func Multiplier(precision string) (int64, error) {
	m, ok := precisions[precision]
	if !ok {
		return 0, fmt.Errorf("invalid precision %q (want ns, u, ms, s, m or h)", precision)
	}
	return m, nil
}

// Batches groups parsed lines by measurement.
type Batches struct {
	ByMeasurement map[string]*storage.Batch
	bySeries      map[string]map[string]int
	byHead        map[string]seriesRef // raw "measurement,tags" bytes of a line -> its series
	// wide maps the columns of a series with many fields (name, type -> index in Fields), so a line
	// of 100k fields costs linear time, not quadratic.
	wide   map[seriesRef]map[colKey]int
	arena  storage.BatchArena
	Lines  int
	Values int
}

type colKey struct {
	name string
	typ  storage.FieldType
}

var comma = []byte{','}

// wideFields is the field count past which a series' columns are found through a map.
const wideFields = 16

// seriesRef locates a series in the batches.
type seriesRef struct {
	batch *storage.Batch
	index int
}

// ParseError says which line is bad and why.
type ParseError struct {
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Parse parses a request body. now (ns) is used for lines without a timestamp. Any bad line makes
// the whole request fail (InfluxDB 1.x rejects partial writes of unparsable lines the same way);
// the error names the first bad line.
func Parse(data []byte, precision string, now int64) (*Batches, error) {
	mult, err := Multiplier(precision)
	if err != nil {
		return nil, err
	}
	out := &Batches{ByMeasurement: map[string]*storage.Batch{}, bySeries: map[string]map[string]int{}, byHead: map[string]seriesRef{}}
	p := parser{}
	lineNo := 0
	for len(data) > 0 {
		lineNo++
		nl := bytes.IndexByte(data, '\n')
		var line []byte
		if nl < 0 {
			line, data = data, nil
		} else {
			line, data = data[:nl], data[nl+1:]
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if err := p.line(out, line, mult, now); err != nil {
			return nil, &ParseError{Line: lineNo, Msg: err.Error()}
		}
		out.Lines++
	}
	out.finish()
	return out, nil
}

type parser struct {
	key   []byte
	tags  []storage.Tag
	field []byte
}

// scanToken returns the token up to the first unescaped stop byte (stop2 may equal stop1), the
// rest after it and the stop byte found (0 at the end).
func scanToken(s []byte, stop1, stop2 byte) (tok []byte, rest []byte, stop byte) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			i++
			continue
		}
		if c == stop1 || c == stop2 {
			return s[:i], s[i+1:], c
		}
	}
	return s, nil, 0
}

func unescape(b []byte) string {
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+1 < len(b) && strings.IndexByte(`,= "\`, b[i+1]) >= 0 {
			i++
		}
		out = append(out, b[i])
	}
	return string(out)
}

func (p *parser) line(out *Batches, line []byte, mult, now int64) error {
	head, rest, stop := scanToken(line, ' ', ' ')
	if stop != ' ' {
		return errors.New("missing fields")
	}
	ref, ok := out.byHead[string(head)]
	if !ok {
		var err error
		if ref, err = p.newSeries(out, head); err != nil {
			return err
		}
		out.byHead[string(head)] = ref
	}
	fieldPart, tsPart := splitFields(rest)
	ts := now
	if len(tsPart) > 0 {
		n, ok := parseInt(tsPart)
		if !ok {
			return fmt.Errorf("bad timestamp %q", tsPart)
		}
		ts = n * mult
		if mult != 1 && ts/mult != n {
			return fmt.Errorf("timestamp %d overflows at precision", n)
		}
	}
	s := &ref.batch.Series[ref.index]
	row := out.arena.AppendRow(s, ts)
	nfields := 0
	for len(fieldPart) > 0 {
		var kv []byte
		kv, fieldPart = scanField(fieldPart)
		k, v, st := scanToken(kv, '=', '=')
		if st != '=' || len(k) == 0 || len(v) == 0 {
			rollback(s, row)
			return fmt.Errorf("bad field %q", kv)
		}
		if err := addField(out, ref, s, k, v, row, fieldPart); err != nil {
			rollback(s, row)
			return err
		}
		nfields++
	}
	if nfields == 0 {
		rollback(s, row)
		return errors.New("missing fields")
	}
	out.Values += nfields
	return nil
}

// rollback removes row (the last one) from s after a bad line.
func rollback(s *storage.SeriesRows, row uint32) {
	s.Times = s.Times[:row]
	for i := range s.Fields {
		c := &s.Fields[i]
		switch n := len(c.Rows); {
		case c.Rows == nil && c.Values.Len() > int(row):
			truncateValues(&c.Values, int(row))
		case n > 0 && c.Rows[n-1] == row:
			c.Rows = c.Rows[:n-1]
			truncateValues(&c.Values, len(c.Rows))
		}
	}
}

func truncateValues(v *storage.Values, n int) {
	switch v.Type.Class() {
	case storage.ClassFloat:
		v.Floats = v.Floats[:n]
	case storage.ClassInt:
		v.Ints = v.Ints[:n]
	case storage.ClassBool:
		v.Bools = v.Bools[:n]
	case storage.ClassBytes:
		v.Bytes = v.Bytes[:n]
	}
}

// newSeries parses "measurement,tag=value,..." and adds the series.
func (p *parser) newSeries(out *Batches, head []byte) (seriesRef, error) {
	name, rest, stop := scanToken(head, ',', ',')
	if len(name) == 0 {
		return seriesRef{}, errors.New("missing measurement")
	}
	meas := unescape(name)
	p.tags = p.tags[:0]
	for stop == ',' {
		var kv []byte
		kv, rest, stop = scanToken(rest, ',', ',')
		k, v, st := scanToken(kv, '=', '=')
		if st != '=' || len(k) == 0 || len(v) == 0 {
			return seriesRef{}, fmt.Errorf("bad tag %q", kv)
		}
		p.tags = append(p.tags, storage.Tag{Key: MetaField + "." + unescape(k), Value: storage.StringTag(unescape(v))})
	}
	key := storage.SeriesKey{Table: meas, Tags: p.tags}
	if err := key.Normalize(); err != nil {
		return seriesRef{}, err
	}
	p.key = key.Marshal(p.key[:0])
	if len(p.key) > storage.MaxSeriesKeyLen {
		return seriesRef{}, fmt.Errorf("measurement and tags of %d bytes: longer than %d", len(p.key), storage.MaxSeriesKeyLen)
	}
	b := out.ByMeasurement[meas]
	if b == nil {
		b = &storage.Batch{}
		out.ByMeasurement[meas] = b
		out.bySeries[meas] = map[string]int{}
	}
	si, ok := out.bySeries[meas][string(p.key)]
	if !ok {
		si = len(b.Series)
		out.bySeries[meas][string(p.key)] = si
		b.Series = append(b.Series, storage.SeriesRows{Key: append([]byte(nil), p.key...)})
	}
	return seriesRef{batch: b, index: si}, nil
}

// parseInt parses a decimal int64 without allocating.
func parseInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		if len(b) > 19 {
			n, err := strconv.ParseInt(string(b), 10, 64)
			if neg {
				n = -n
			}
			return n, err == nil
		}
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if neg {
		if n > 1<<63 {
			return 0, false
		}
		return -int64(n), true
	}
	if n > 1<<63-1 {
		return 0, false
	}
	return int64(n), true
}

// splitFields splits "f=1,g=2 123" into fields and timestamp, honouring quoted strings.
func splitFields(s []byte) (fields, ts []byte) {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			i++
		case c == '"':
			inQuote = !inQuote
		case c == ' ' && !inQuote:
			return s[:i], bytes.TrimSpace(s[i+1:])
		}
	}
	return s, nil
}

// scanField returns one k=v field (quoted strings may hold commas).
func scanField(s []byte) (field, rest []byte) {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			i++
		case c == '"':
			inQuote = !inQuote
		case c == ',' && !inQuote:
			return s[:i], s[i+1:]
		}
	}
	return s, nil
}

// addField adds field k=v of row to series s; lineRest is the rest of the line's fields (a size
// hint for a new series' columns).
func addField(out *Batches, ref seriesRef, s *storage.SeriesRows, k, v []byte, row uint32, lineRest []byte) error {
	var typ storage.FieldType
	var iv int64
	var fv float64
	var bv bool
	var sv []byte
	switch last := v[len(v)-1]; {
	case v[0] == '"':
		if len(v) < 2 || last != '"' {
			return fmt.Errorf("field %q: unterminated string", k)
		}
		typ, sv = storage.TypeString, []byte(unescapeString(v[1:len(v)-1]))
	case last == 'i' || last == 'u':
		n, ok := parseInt(v[:len(v)-1])
		if !ok {
			return fmt.Errorf("field %q: bad integer %q", k, v)
		}
		typ, iv = storage.TypeInt64, n
	default:
		switch string(v) {
		case "t", "T", "true", "True", "TRUE":
			typ, bv = storage.TypeBool, true
		case "f", "F", "false", "False", "FALSE":
			typ, bv = storage.TypeBool, false
		default:
			f, err := strconv.ParseFloat(string(v), 64)
			if err != nil {
				return fmt.Errorf("field %q: bad value %q", k, v)
			}
			typ, fv = storage.TypeDouble, f
		}
	}
	escaped := bytes.IndexByte(k, '\\') >= 0
	var col *storage.FieldColumn
	if idx := out.wide[ref]; idx != nil {
		name := string(k)
		if escaped {
			name = unescape(k)
		}
		if i, ok := idx[colKey{name, typ}]; ok {
			col = &s.Fields[i]
		}
	} else {
		for i := range s.Fields {
			f := &s.Fields[i]
			if f.Values.Type == typ && ((!escaped && f.Name == string(k)) || (escaped && f.Name == unescape(k))) {
				col = f
				break
			}
		}
	}
	if col == nil {
		name := unescape(k)
		if name == TimeField || name == MetaField {
			return fmt.Errorf("field name %q is reserved", name)
		}
		if len(name) > storage.MaxFieldNameLen {
			return fmt.Errorf("field name of %d bytes: longer than %d", len(name), storage.MaxFieldNameLen)
		}
		// Rows stays nil while the column has a value in every row so far (dense, the common
		// case); the series gets room for the rest of this line's fields at once (counted only
		// when its columns must grow: a few times per series, not once per field)
		col = out.arena.AddColumn(s, name, typ, func() int { return bytes.Count(lineRest, comma) + 1 })
		switch idx := out.wide[ref]; {
		case idx != nil:
			idx[colKey{name, typ}] = len(s.Fields) - 1
		case len(s.Fields) > wideFields:
			if out.wide == nil {
				out.wide = map[seriesRef]map[colKey]int{}
			}
			idx = make(map[colKey]int, len(s.Fields))
			for i := range s.Fields {
				idx[colKey{s.Fields[i].Name, s.Fields[i].Values.Type}] = i
			}
			out.wide[ref] = idx
		}
	}
	if typ == storage.TypeString && len(sv) > storage.MaxValueLen {
		return fmt.Errorf("field %q: string of %d bytes: longer than %d", k, len(sv), storage.MaxValueLen)
	}
	if col.LastRow() == int(row) {
		return fmt.Errorf("field %q appears twice", k)
	}
	out.arena.TakeRow(col, row)
	switch typ {
	case storage.TypeInt64:
		out.arena.AppendInt(col, iv)
	case storage.TypeDouble:
		out.arena.AppendFloat(col, fv)
	case storage.TypeBool:
		out.arena.AppendBool(col, bv)
	default:
		out.arena.AppendBytes(col, sv)
	}
	return nil
}

func unescapeString(b []byte) string {
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+1 < len(b) && (b[i+1] == '"' || b[i+1] == '\\') {
			i++
		}
		out = append(out, b[i])
	}
	return string(out)
}

// finish settles the row lists once every line is parsed: a column that was dense until its
// field stopped appearing gets the rows it covers, and one that covers every row of its series
// needs none (storage.FieldColumn: nil Rows mean every row).
func (b *Batches) finish() {
	for _, batch := range b.ByMeasurement {
		for i := range batch.Series {
			storage.FinishRows(&batch.Series[i])
		}
	}
}
