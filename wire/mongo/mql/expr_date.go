package mql

import (
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func dateOps() map[string]opCompiler {
	part := func(name string, f func(t time.Time) int) opCompiler {
		return func(args bson.RawValue, env *exprEnv) (expr, error) {
			d, tz, err := dateAndTZ(name, args, env)
			if err != nil {
				return nil, err
			}
			return &datePartExpr{date: d, tz: tz, f: f}, nil
		}
	}
	return map[string]opCompiler{
		"$year":         part("$year", func(t time.Time) int { return t.Year() }),
		"$month":        part("$month", func(t time.Time) int { return int(t.Month()) }),
		"$dayOfMonth":   part("$dayOfMonth", func(t time.Time) int { return t.Day() }),
		"$hour":         part("$hour", func(t time.Time) int { return t.Hour() }),
		"$minute":       part("$minute", func(t time.Time) int { return t.Minute() }),
		"$second":       part("$second", func(t time.Time) int { return t.Second() }),
		"$millisecond":  part("$millisecond", func(t time.Time) int { return t.Nanosecond() / 1e6 }),
		"$dayOfWeek":    part("$dayOfWeek", func(t time.Time) int { return int(t.Weekday()) + 1 }),
		"$dayOfYear":    part("$dayOfYear", func(t time.Time) int { return t.YearDay() }),
		"$week":         part("$week", weekOfYear),
		"$isoWeek":      part("$isoWeek", func(t time.Time) int { _, w := t.ISOWeek(); return w }),
		"$isoWeekYear":  part("$isoWeekYear", func(t time.Time) int { y, _ := t.ISOWeek(); return y }),
		"$isoDayOfWeek": part("$isoDayOfWeek", isoDayOfWeek),
		"$dateTrunc": func(a bson.RawValue, env *exprEnv) (expr, error) {
			m, err := namedArgs("$dateTrunc", a, env, []string{"date", "unit"}, "binSize", "timezone", "startOfWeek")
			return &dateTruncExpr{m}, err
		},
		"$dateAdd":      dateAddOp("$dateAdd", 1),
		"$dateSubtract": dateAddOp("$dateSubtract", -1),
		"$dateDiff": func(a bson.RawValue, env *exprEnv) (expr, error) {
			m, err := namedArgs("$dateDiff", a, env, []string{"startDate", "endDate", "unit"}, "timezone", "startOfWeek")
			return &dateDiffExpr{m}, err
		},
		"$dateToString": func(a bson.RawValue, env *exprEnv) (expr, error) {
			m, err := namedArgs("$dateToString", a, env, []string{"date"}, "format", "timezone", "onNull")
			return &dateToStringExpr{m}, err
		},
		"$dateToParts": func(a bson.RawValue, env *exprEnv) (expr, error) {
			m, err := namedArgs("$dateToParts", a, env, []string{"date"}, "timezone", "iso8601")
			return &dateToPartsExpr{m}, err
		},
		"$dateFromParts": func(a bson.RawValue, env *exprEnv) (expr, error) {
			m, err := namedArgs("$dateFromParts", a, env, nil, "year", "month", "day", "hour", "minute", "second",
				"millisecond", "timezone", "isoWeekYear", "isoWeek", "isoDayOfWeek")
			if err == nil && (m["year"] == nil) == (m["isoWeekYear"] == nil) {
				return nil, errf(40516, "$dateFromParts requires either 'year' or 'isoWeekYear' to be present")
			}
			return &dateFromPartsExpr{m}, err
		},
		"$dateFromString": func(a bson.RawValue, env *exprEnv) (expr, error) {
			m, err := namedArgs("$dateFromString", a, env, []string{"dateString"}, "format", "timezone", "onError", "onNull")
			return &dateFromStringExpr{m}, err
		},
	}
}

// dateAndTZ compiles the argument of the date part operators: a date, [date] or {date, timezone}.
func dateAndTZ(name string, args bson.RawValue, env *exprEnv) (expr, expr, error) {
	if args.Type == bson.TypeEmbeddedDocument && firstKey(args.Value) == "date" {
		m, err := namedArgs(name, args, env, []string{"date"}, "timezone")
		if err != nil {
			return nil, nil, err
		}
		return m["date"], m["timezone"], nil
	}
	a, err := argList(args, env)
	if err != nil {
		return nil, nil, err
	}
	if len(a) != 1 {
		return nil, nil, errf(16020, "Expression %s takes exactly 1 arguments. %d were passed in.", name, len(a))
	}
	return a[0], nil, nil
}

// evalDateTZ evaluates a date and a timezone; ok is false when the result is null.
func evalDateTZ(env *evalEnv, d, tz expr) (time.Time, bool, error) {
	v, err := d.eval(env)
	if err != nil {
		return time.Time{}, false, err
	}
	ms, ok, err := dateMs(v)
	if err != nil || !ok {
		return time.Time{}, false, err
	}
	loc := time.UTC
	if tz != nil {
		tv, err := tz.eval(env)
		if err != nil {
			return time.Time{}, false, err
		}
		l, ok, err := tzArg(tv)
		if err != nil || !ok {
			return time.Time{}, false, err
		}
		loc = l
	}
	return time.UnixMilli(ms).In(loc), true, nil
}

type datePartExpr struct {
	date, tz expr
	f        func(time.Time) int
}

func (x *datePartExpr) eval(env *evalEnv) (bson.RawValue, error) {
	t, ok, err := evalDateTZ(env, x.date, x.tz)
	if err != nil || !ok {
		return vNull(), err
	}
	return vInt32(int32(x.f(t))), nil
}

// commonDateArgs evaluates date (as ms), unit, timezone and startOfWeek; ok false means null.
func commonDateArgs(op string, m map[string]expr, env *evalEnv, dateKey string) (ms int64, unit string, loc *time.Location, sow time.Weekday, ok bool, err error) {
	dv, err := evalNamed(m, dateKey, env)
	if err != nil {
		return
	}
	ms, ok, err = dateMs(dv)
	if err != nil || !ok {
		return
	}
	uv, err := evalNamed(m, "unit", env)
	if err != nil {
		return
	}
	if isNullish(uv) {
		return 0, "", nil, 0, false, nil
	}
	if uv.Type != bson.TypeString || !validUnit(uv.StringValue()) {
		return 0, "", nil, 0, false, errf(codeFailedToParse, "%s parameter 'unit' value parsing failed :: caused by :: unknown time unit value: %s", op, uv.String())
	}
	unit = uv.StringValue()
	tv, err := evalNamed(m, "timezone", env)
	if err != nil {
		return
	}
	loc, ok, err = tzArg(tv)
	if err != nil || !ok {
		return
	}
	sow = time.Sunday
	if m["startOfWeek"] != nil {
		sv, err2 := evalNamed(m, "startOfWeek", env)
		if err2 != nil {
			return 0, "", nil, 0, false, err2
		}
		if isNullish(sv) {
			return 0, "", nil, 0, false, nil
		}
		d, good := time.Weekday(0), false
		if sv.Type == bson.TypeString {
			d, good = parseWeekday(sv.StringValue())
		}
		if !good {
			return 0, "", nil, 0, false, errf(codeFailedToParse, "%s parameter 'startOfWeek' value cannot be recognized as a day of a week: %s", op, sv.String())
		}
		sow = d
	}
	return ms, unit, loc, sow, true, nil
}

type dateTruncExpr struct{ m map[string]expr }

func (x *dateTruncExpr) eval(env *evalEnv) (bson.RawValue, error) {
	ms, unit, loc, sow, ok, err := commonDateArgs("$dateTrunc", x.m, env, "date")
	if err != nil || !ok {
		return vNull(), err
	}
	bin := int64(1)
	if x.m["binSize"] != nil {
		bv, err := evalNamed(x.m, "binSize", env)
		if err != nil {
			return missing, err
		}
		if isNullish(bv) {
			return vNull(), nil
		}
		n, good := exactInt(bv)
		if !good || n <= 0 {
			return missing, errf(5439017, "$dateTrunc requires 'binSize' to be a positive 64-bit integer, found: %s", bv.String())
		}
		bin = n
	}
	return vDate(truncateDate(ms, unit, bin, loc, sow)), nil
}

type dateAddExpr struct {
	m    map[string]expr
	sign int64
	name string
}

func dateAddOp(name string, sign int64) opCompiler {
	return func(a bson.RawValue, env *exprEnv) (expr, error) {
		m, err := namedArgs(name, a, env, []string{"startDate", "unit", "amount"}, "timezone")
		return &dateAddExpr{m: m, sign: sign, name: name}, err
	}
}

func (x *dateAddExpr) eval(env *evalEnv) (bson.RawValue, error) {
	ms, unit, loc, _, ok, err := commonDateArgs(x.name, x.m, env, "startDate")
	if err != nil || !ok {
		return vNull(), err
	}
	av, err := evalNamed(x.m, "amount", env)
	if err != nil || isNullish(av) {
		return vNull(), err
	}
	n, good := exactInt(av)
	if !good {
		return missing, errf(5166405, "%s expects integer amount of time units", x.name)
	}
	return vDate(addDate(ms, unit, x.sign*n, loc)), nil
}

type dateDiffExpr struct{ m map[string]expr }

func (x *dateDiffExpr) eval(env *evalEnv) (bson.RawValue, error) {
	start, unit, loc, sow, ok, err := commonDateArgs("$dateDiff", x.m, env, "startDate")
	if err != nil || !ok {
		return vNull(), err
	}
	ev, err := evalNamed(x.m, "endDate", env)
	if err != nil {
		return missing, err
	}
	end, ok, err := dateMs(ev)
	if err != nil || !ok {
		return vNull(), err
	}
	return vInt64(diffDates(start, end, unit, loc, sow)), nil
}

type dateToStringExpr struct{ m map[string]expr }

func (x *dateToStringExpr) eval(env *evalEnv) (bson.RawValue, error) {
	dv, err := evalNamed(x.m, "date", env)
	if err != nil {
		return missing, err
	}
	ms, ok, err := dateMs(dv)
	if err != nil {
		return missing, err
	}
	if !ok {
		if x.m["onNull"] != nil {
			return evalNamed(x.m, "onNull", env)
		}
		return vNull(), nil
	}
	loc, ok, err := evalTimezone(x.m, env)
	if err != nil || !ok {
		return vNull(), err
	}
	format := "%Y-%m-%dT%H:%M:%S.%LZ"
	if x.m["format"] != nil {
		fv, err := evalNamed(x.m, "format", env)
		if err != nil {
			return missing, err
		}
		if isNullish(fv) {
			return vNull(), nil
		}
		if fv.Type != bson.TypeString {
			return missing, errf(18533, "$dateToString requires that 'format' be a string, found: %s", typeName(fv.Type))
		}
		format = fv.StringValue()
	}
	s, err := formatDate(format, ms, loc)
	if err != nil {
		return missing, err
	}
	return vString(s), nil
}

type dateToPartsExpr struct{ m map[string]expr }

func (x *dateToPartsExpr) eval(env *evalEnv) (bson.RawValue, error) {
	t, ok, err := evalDateTZ(env, x.m["date"], x.m["timezone"])
	if err != nil || !ok {
		return vNull(), err
	}
	iso, err := evalNamed(x.m, "iso8601", env)
	if err != nil {
		return missing, err
	}
	b := newBuilder(128)
	if truthy(iso) {
		y, w := t.ISOWeek()
		b.add("isoWeekYear", vInt32(int32(y)))
		b.add("isoWeek", vInt32(int32(w)))
		b.add("isoDayOfWeek", vInt32(int32(isoDayOfWeek(t))))
	} else {
		b.add("year", vInt32(int32(t.Year())))
		b.add("month", vInt32(int32(t.Month())))
		b.add("day", vInt32(int32(t.Day())))
	}
	b.add("hour", vInt32(int32(t.Hour())))
	b.add("minute", vInt32(int32(t.Minute())))
	b.add("second", vInt32(int32(t.Second())))
	b.add("millisecond", vInt32(int32(t.Nanosecond()/1e6)))
	return b.doc(), nil
}

type dateFromPartsExpr struct{ m map[string]expr }

func (x *dateFromPartsExpr) eval(env *evalEnv) (bson.RawValue, error) {
	get := func(name string, def int64, lo, hi int64) (int64, bool, error) {
		if x.m[name] == nil {
			return def, true, nil
		}
		v, err := evalNamed(x.m, name, env)
		if err != nil || isNullish(v) {
			return 0, false, err
		}
		n, ok := exactInt(v)
		if !ok {
			return 0, false, errf(40515, "'%s' must evaluate to an integer, found %s with value %s", name, typeName(v.Type), v.String())
		}
		if n < lo || n > hi {
			return 0, false, errf(31034, "'%s' must evaluate to a value in the range [%d, %d]; value %d is not in range", name, lo, hi, n)
		}
		return n, true, nil
	}
	iso := x.m["isoWeekYear"] != nil
	names := []string{"year", "month", "day", "hour", "minute", "second", "millisecond"}
	if iso {
		names = []string{"isoWeekYear", "isoWeek", "isoDayOfWeek", "hour", "minute", "second", "millisecond"}
	}
	var p [7]int64
	for i, n := range names {
		def, lo, hi := int64(0), int64(-32768), int64(32767)
		switch i {
		case 0:
			def, lo, hi = 1970, 1, 9999
		case 1, 2:
			def = 1
		}
		v, ok, err := get(n, def, lo, hi)
		if err != nil || !ok {
			return vNull(), err
		}
		p[i] = v
	}
	loc, ok, err := evalTimezone(x.m, env)
	if err != nil || !ok {
		return vNull(), err
	}
	var t time.Time
	if iso {
		// ISO week 1 contains January 4th; its Monday starts the ISO year.
		jan4 := time.Date(int(p[0]), 1, 4, 0, 0, 0, 0, time.UTC)
		monday := jan4.AddDate(0, 0, 1-isoDayOfWeek(jan4))
		d := monday.AddDate(0, 0, int((p[1]-1)*7+p[2]-1))
		t = time.Date(d.Year(), d.Month(), d.Day(), int(p[3]), int(p[4]), int(p[5]), int(p[6])*1e6, loc)
	} else {
		t = time.Date(int(p[0]), time.Month(p[1]), int(p[2]), int(p[3]), int(p[4]), int(p[5]), int(p[6])*1e6, loc)
	}
	return vDate(t.UnixMilli()), nil
}

type dateFromStringExpr struct{ m map[string]expr }

func (x *dateFromStringExpr) eval(env *evalEnv) (bson.RawValue, error) {
	sv, err := evalNamed(x.m, "dateString", env)
	if err != nil {
		return missing, err
	}
	if isNullish(sv) {
		if x.m["onNull"] != nil {
			return evalNamed(x.m, "onNull", env)
		}
		return vNull(), nil
	}
	loc, ok, err := evalTimezone(x.m, env)
	if err != nil || !ok {
		return vNull(), err
	}
	fail := func(err error) (bson.RawValue, error) {
		if x.m["onError"] != nil {
			return evalNamed(x.m, "onError", env)
		}
		return missing, err
	}
	if sv.Type != bson.TypeString {
		return fail(errf(codeConversionFailure, "$dateFromString requires that 'dateString' be a string, found: %s", typeName(sv.Type)))
	}
	ms, err := parseDate(sv.StringValue(), loc)
	if err != nil {
		return fail(err)
	}
	return vDate(ms), nil
}

// evalTimezone evaluates an operator's optional "timezone" argument (ok false for a null zone).
func evalTimezone(m map[string]expr, env *evalEnv) (*time.Location, bool, error) {
	tv, err := evalNamed(m, "timezone", env)
	if err != nil {
		return nil, false, err
	}
	return tzArg(tv)
}
