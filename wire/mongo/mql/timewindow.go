package mql

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/storage"
)

// $timeWindow groups documents into fixed time windows (ChronoGo extension, see the package doc):
//
//	{$timeWindow: {timestamp: "$t", window: "1h", offset: "15m", partitionBy: "$tags.room",
//	               output: {avgTemp: {$avg: "$temperature"}}}}
type timeWindowSpec struct {
	ts          expr
	window      int64
	offset      int64
	partitionBy expr
	accs        []accSpec
	env         *exprEnv
}

var durationUnits = map[string]int64{"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000, "w": 7 * 86400000}

// parseDuration parses "1h", "90s", "1h30m", "-15m", "1.5h" or a number of milliseconds.
func parseDuration(v bson.RawValue) (int64, bool) {
	if isNumber(v.Type) {
		n, ok := exactInt(v)
		return n, ok
	}
	if v.Type != bson.TypeString {
		return 0, false
	}
	s := strings.TrimSpace(v.StringValue())
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return 0, false
	}
	total := 0.0
	for s != "" {
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		j := i
		for j < len(s) && s[j] >= 'a' && s[j] <= 'z' {
			j++
		}
		num, err := strconv.ParseFloat(s[:i], 64)
		unit, ok := durationUnits[s[i:j]]
		if err != nil || !ok {
			return 0, false
		}
		total += num * float64(unit)
		s = s[j:]
	}
	if total >= 9e18 {
		return 0, false
	}
	n := int64(total + 0.5)
	if neg {
		n = -n
	}
	return n, true
}

func compileTimeWindow(arg bson.RawValue, o PipelineOptions, env *exprEnv) (stageSpec, error) {
	if arg.Type != bson.TypeEmbeddedDocument {
		return nil, errf(codeFailedToParse, "$timeWindow specification must be an object")
	}
	tw := &timeWindowSpec{env: env}
	els, _ := elements(arg.Value)
	var output bson.RawValue
	for _, e := range els {
		var err error
		switch e.key {
		case "timestamp":
			tw.ts, err = compileExpr(e.val, env)
		case "window":
			n, ok := parseDuration(e.val)
			if !ok || n <= 0 {
				return nil, errf(codeFailedToParse, "$timeWindow 'window' must be a positive duration such as \"1h\" or a number of milliseconds, got %s", e.val.String())
			}
			tw.window = n
		case "offset":
			n, ok := parseDuration(e.val)
			if !ok {
				return nil, errf(codeFailedToParse, "$timeWindow 'offset' must be a duration, got %s", e.val.String())
			}
			tw.offset = n
		case "partitionBy":
			tw.partitionBy, err = compileExpr(e.val, env)
		case "output":
			if e.val.Type != bson.TypeEmbeddedDocument {
				return nil, errf(codeFailedToParse, "$timeWindow 'output' must be an object")
			}
			output = e.val
		default:
			return nil, errf(codeFailedToParse, "unrecognized option to $timeWindow: %s", e.key)
		}
		if err != nil {
			return nil, err
		}
	}
	if tw.window == 0 {
		return nil, errf(codeFailedToParse, "$timeWindow requires 'window'")
	}
	if tw.ts == nil {
		if o.TimeField == "" {
			return nil, errf(codeFailedToParse, "$timeWindow requires 'timestamp' outside a time-series collection")
		}
		tw.ts = fieldExpr{splitPath(o.TimeField)}
	}
	if !isMissing(output) {
		outEls, _ := elements(output.Value)
		accs, err := compileAccumulators("$timeWindow", outEls, env)
		if err != nil {
			return nil, err
		}
		tw.accs = accs
	}
	return tw, nil
}

func (tw *timeWindowSpec) start() stage {
	return &timeWindowStage{spec: tw, groups: map[string]*windowGroup{}}
}

type windowGroup struct {
	start     int64
	partition bson.RawValue
	state     *groupState
}

type timeWindowStage struct {
	spec   *timeWindowSpec
	groups map[string]*windowGroup
	kbuf   []byte
}

func (s *timeWindowStage) process(doc []byte, _ func([]byte) error) error {
	env := &evalEnv{root: doc, static: s.spec.env}
	tv, err := s.spec.ts.eval(env)
	if err != nil {
		return err
	}
	if isNullish(tv) {
		return nil
	}
	if tv.Type != bson.TypeDateTime {
		return errf(codeBadValue, "$timeWindow timestamp must evaluate to a date, got %s", typeName(tv.Type))
	}
	w, off := s.spec.window, s.spec.offset
	start := storage.FloorDiv(tv.DateTime()-off, w)*w + off
	part := missing
	if s.spec.partitionBy != nil {
		if part, err = s.spec.partitionBy.eval(env); err != nil {
			return err
		}
		if isMissing(part) {
			part = vNull()
		}
	}
	s.kbuf = strconv.AppendInt(s.kbuf[:0], start, 10)
	s.kbuf = appendKey(append(s.kbuf, '|'), part)
	g := s.groups[string(s.kbuf)]
	if g == nil {
		g = &windowGroup{start: start, partition: cloneValue(part), state: newGroupState(missing, s.spec.accs)}
		s.groups[string(s.kbuf)] = g
	}
	return g.state.add(s.spec.accs, env)
}

func (s *timeWindowStage) flush(emit func([]byte) error) error {
	groups := make([]*windowGroup, 0, len(s.groups))
	for _, g := range s.groups {
		groups = append(groups, g)
	}
	slices.SortFunc(groups, func(a, b *windowGroup) int {
		if c := cmp.Compare(a.start, b.start); c != 0 {
			return c
		}
		return CompareValues(a.partition, b.partition)
	})
	for _, g := range groups {
		id := newBuilder(48)
		id.add("timestamp", vDate(g.start))
		if s.spec.partitionBy != nil {
			id.add("partition", g.partition)
		}
		b := newBuilder(96)
		b.add("_id", id.doc())
		for i, a := range s.spec.accs {
			b.add(a.name, g.state.accs[i].result())
		}
		if err := emit(b.finish()); err != nil {
			return err
		}
	}
	s.groups = nil
	return nil
}
