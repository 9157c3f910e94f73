package mql

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Olson time zones for timezone arguments

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/storage"
)

// parseTimezone parses a MongoDB timezone: "UTC", an Olson name, or an offset "+hh", "+hhmm",
// "+hh:mm" (also with "-").
func parseTimezone(s string) (*time.Location, error) {
	switch s {
	case "", "UTC", "GMT", "Z", "Etc/UTC":
		return time.UTC, nil
	}
	if s[0] == '+' || s[0] == '-' {
		digits := strings.ReplaceAll(s[1:], ":", "")
		var h, m int
		var err error
		switch len(digits) {
		case 2:
			h, err = strconv.Atoi(digits)
		case 4:
			h, err = strconv.Atoi(digits[:2])
			if err == nil {
				m, err = strconv.Atoi(digits[2:])
			}
		default:
			err = fmt.Errorf("bad offset")
		}
		if err != nil || !isDigits(digits) || m >= 60 {
			return nil, errf(40485, "unrecognized time zone identifier: \"%s\"", s)
		}
		off := h*3600 + m*60
		if s[0] == '-' {
			off = -off
		}
		return time.FixedZone(s, off), nil
	}
	loc, err := time.LoadLocation(s)
	if err != nil || strings.HasPrefix(s, "Local") {
		return nil, errf(40485, "unrecognized time zone identifier: \"%s\"", s)
	}
	return loc, nil
}

// tzArg evaluates a timezone argument; ok is false when it is null (the result is then null).
func tzArg(v bson.RawValue) (*time.Location, bool, error) {
	if isMissing(v) {
		return time.UTC, true, nil
	}
	if isNullish(v) {
		return nil, false, nil
	}
	if v.Type != bson.TypeString {
		return nil, false, errf(40517, "timezone must evaluate to a string, found %s", typeName(v.Type))
	}
	loc, err := parseTimezone(v.StringValue())
	return loc, err == nil, err
}

// dateMs converts a date-like value to ms; ok is false for null or missing.
func dateMs(v bson.RawValue) (int64, bool, error) {
	switch v.Type {
	case bson.TypeDateTime:
		return v.DateTime(), true, nil
	case bson.TypeTimestamp:
		t, _ := v.Timestamp()
		return int64(t) * 1000, true, nil
	case bson.TypeObjectID:
		return v.ObjectID().Timestamp().UnixMilli(), true, nil
	}
	if isNullish(v) {
		return 0, false, nil
	}
	return 0, false, errf(16006, "can't convert from BSON type %s to Date", typeName(v.Type))
}

// timeUnits in milliseconds for the fixed-length units.
var unitMs = map[string]int64{"millisecond": 1, "second": 1000, "minute": 60000, "hour": 3600000,
	"day": 86400000, "week": 7 * 86400000}

func validUnit(u string) bool {
	switch u {
	case "year", "quarter", "month", "week", "day", "hour", "minute", "second", "millisecond":
		return true
	}
	return false
}

func parseWeekday(s string) (time.Weekday, bool) {
	switch strings.ToLower(s) {
	case "sun", "sunday":
		return time.Sunday, true
	case "mon", "monday":
		return time.Monday, true
	case "tue", "tuesday":
		return time.Tuesday, true
	case "wed", "wednesday":
		return time.Wednesday, true
	case "thu", "thursday":
		return time.Thursday, true
	case "fri", "friday":
		return time.Friday, true
	case "sat", "saturday":
		return time.Saturday, true
	}
	return 0, false
}

// civilDay is the number of days from 1970-01-01 to the local date of t.
func civilDay(t time.Time) int64 {
	return storage.FloorDiv(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix(), 86400)
}

func fromCivilDay(d int64, loc *time.Location) time.Time {
	u := time.Unix(d*86400, 0).UTC()
	return time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, loc)
}

// truncateDate is $dateTrunc: the start of the bin of binSize units containing ms, bins aligned to
// 2000-01-01T00:00:00 in loc (for weeks, the first startOfWeek on or after it).
func truncateDate(ms int64, unit string, bin int64, loc *time.Location, sow time.Weekday) int64 {
	t := time.UnixMilli(ms).In(loc)
	switch unit {
	case "millisecond", "second", "minute", "hour":
		ref := time.Date(2000, 1, 1, 0, 0, 0, 0, loc).UnixMilli()
		size := unitMs[unit] * bin
		return ref + storage.FloorDiv(ms-ref, size)*size
	case "day", "week":
		ref := civilDay(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
		size := bin
		if unit == "week" {
			ref += int64((7 + int(sow) - int(time.Saturday)) % 7)
			size *= 7
		}
		start := ref + storage.FloorDiv(civilDay(t)-ref, size)*size
		return fromCivilDay(start, loc).UnixMilli()
	}
	months := bin
	switch unit {
	case "quarter":
		months *= 3
	case "year":
		months *= 12
	}
	idx := int64(t.Year()-2000)*12 + int64(t.Month()) - 1
	start := storage.FloorDiv(idx, months) * months
	y := 2000 + storage.FloorDiv(start, 12)
	mo := start - storage.FloorDiv(start, 12)*12
	return time.Date(int(y), time.Month(mo+1), 1, 0, 0, 0, 0, loc).UnixMilli()
}

// addDate is $dateAdd: months clamp to the last day of the month like MongoDB.
func addDate(ms int64, unit string, amount int64, loc *time.Location) int64 {
	t := time.UnixMilli(ms).In(loc)
	switch unit {
	case "year", "quarter", "month":
		months := amount
		if unit == "quarter" {
			months *= 3
		} else if unit == "year" {
			months *= 12
		}
		total := int64(t.Year())*12 + int64(t.Month()) - 1 + months
		y, m := int(storage.FloorDiv(total, 12)), time.Month(total-storage.FloorDiv(total, 12)*12+1)
		d := t.Day()
		if last := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day(); d > last {
			d = last
		}
		return time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc).UnixMilli()
	case "week", "day":
		days := amount
		if unit == "week" {
			days *= 7
		}
		return t.AddDate(0, 0, int(days)).UnixMilli()
	}
	return ms + amount*unitMs[unit]
}

// diffDates is $dateDiff: the number of unit boundaries crossed from a to b in loc.
func diffDates(a, b int64, unit string, loc *time.Location, sow time.Weekday) int64 {
	index := func(ms int64) int64 {
		t := time.UnixMilli(ms).In(loc)
		_, off := t.Zone()
		local := ms + int64(off)*1000
		switch unit {
		case "year":
			return int64(t.Year())
		case "quarter":
			return int64(t.Year())*4 + int64(t.Month()-1)/3
		case "month":
			return int64(t.Year())*12 + int64(t.Month()) - 1
		case "week":
			return storage.FloorDiv(civilDay(t)-int64((7+int(sow)-int(time.Thursday))%7), 7)
		case "day":
			return civilDay(t)
		}
		return storage.FloorDiv(local, unitMs[unit])
	}
	return index(b) - index(a)
}

// isoWeek returns ISO year and week of t.
func isoDayOfWeek(t time.Time) int {
	d := int(t.Weekday())
	if d == 0 {
		return 7
	}
	return d
}

// weekOfYear is %U / $week: weeks start on Sunday, days before the first Sunday are week 0.
func weekOfYear(t time.Time) int {
	return (t.YearDay() - 1 + 7 - int(t.Weekday())) / 7
}

var monthNames = []string{"January", "February", "March", "April", "May", "June", "July", "August",
	"September", "October", "November", "December"}

// formatDate is $dateToString.
func formatDate(format string, ms int64, loc *time.Location) (string, error) {
	t := time.UnixMilli(ms).In(loc)
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(format) {
			return "", errf(18535, "Unmatched '%%' at end of format string")
		}
		i++
		isoY, isoW := t.ISOWeek()
		switch format[i] {
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'G':
			fmt.Fprintf(&b, "%04d", isoY)
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 'L':
			fmt.Fprintf(&b, "%03d", t.Nanosecond()/1e6)
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'w':
			fmt.Fprintf(&b, "%d", int(t.Weekday())+1)
		case 'u':
			fmt.Fprintf(&b, "%d", isoDayOfWeek(t))
		case 'U':
			fmt.Fprintf(&b, "%02d", weekOfYear(t))
		case 'V':
			fmt.Fprintf(&b, "%02d", isoW)
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case 'z':
			_, off := t.Zone()
			sign := '+'
			if off < 0 {
				sign, off = '-', -off
			}
			fmt.Fprintf(&b, "%c%02d%02d", sign, off/3600, off%3600/60)
		case 'Z':
			_, off := t.Zone()
			fmt.Fprintf(&b, "%+d", off/60)
		case 'b':
			b.WriteString(monthNames[t.Month()-1][:3])
		case 'B':
			b.WriteString(monthNames[t.Month()-1])
		case '%':
			b.WriteByte('%')
		default:
			return "", errf(18536, "Invalid format character '%%%c' in format string", format[i])
		}
	}
	return b.String(), nil
}

// isoString formats a date like MongoDB's $toString.
func isoString(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}

var dateLayouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04Z07:00",
	"2006-01-02T15:04", "2006-01-02", "2006-01-02T15:04:05.999999999 MST",
}

// parseDate parses the date strings $toDate and $dateFromString accept without a format.
func parseDate(s string, loc *time.Location) (int64, error) {
	s = strings.TrimSpace(s)
	for _, l := range dateLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, errf(codeConversionFailure, "Error parsing date string '%s'", s)
}
