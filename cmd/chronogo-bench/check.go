package main

import (
	"fmt"
	"math"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// number reads an int32, int64 or double.
func number(v bson.RawValue) (float64, bool) {
	switch v.Type {
	case bson.TypeInt32:
		return float64(v.Int32()), true
	case bson.TypeInt64:
		return float64(v.Int64()), true
	case bson.TypeDouble:
		return v.Double(), true
	}
	return 0, false
}

// dateOf reads a BSON date as milliseconds.
func dateOf(v bson.RawValue) (int64, bool) {
	if v.Type != bson.TypeDateTime {
		return 0, false
	}
	return v.DateTime(), true
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// checkQ1: 60 rows, one per minute of the first hour in order, each the max usage_user of host_0.
func checkQ1(rows []bson.Raw, info dataInfo, e *expected) error {
	if len(rows) != 60 {
		return fmt.Errorf("%d rows, want 60", len(rows))
	}
	for i, row := range rows {
		want := info.First.Add(time.Duration(i) * time.Minute).UnixMilli()
		if got, ok := dateOf(row.Lookup("_id")); !ok || got != want {
			return fmt.Errorf("row %d: _id %s, want date %s", i, row.Lookup("_id"), time.UnixMilli(want).UTC())
		}
		got, ok := number(row.Lookup("max_usage_user"))
		if !ok || got != float64(e.q1Max[i]) {
			return fmt.Errorf("row %d: max_usage_user %s, want %d", i, row.Lookup("max_usage_user"), e.q1Max[i])
		}
	}
	return nil
}

// checkQ2: hosts × 12 rows sorted by hostname then hour, averages in [0, 100], host_0's first
// hour exactly as computed from the file.
func checkQ2(rows []bson.Raw, info dataInfo, e *expected) error {
	if len(rows) != info.Hosts*12 {
		return fmt.Errorf("%d rows, want %d", len(rows), info.Hosts*12)
	}
	var prevHost string
	var prevHour int64
	first, last := info.First.UnixMilli(), info.First.Add(11*time.Hour).UnixMilli()
	for i, row := range rows {
		id, ok := row.Lookup("_id").DocumentOK()
		if !ok {
			return fmt.Errorf("row %d: _id is not a document", i)
		}
		host, ok := id.Lookup("hostname").StringValueOK()
		hour, ok2 := dateOf(id.Lookup("hour"))
		if !ok || !ok2 || hour < first || hour > last || hour%3600000 != first%3600000 {
			return fmt.Errorf("row %d: bad _id %s", i, id)
		}
		if i > 0 && (host < prevHost || host == prevHost && hour <= prevHour) {
			return fmt.Errorf("row %d: _id %s out of order", i, id)
		}
		prevHost, prevHour = host, hour
		for j, f := range cpuFields {
			v, ok := number(row.Lookup("avg_" + f))
			if !ok || v < 0 || v > 100 {
				return fmt.Errorf("row %d: avg_%s is %s", i, f, row.Lookup("avg_"+f))
			}
			if host == "host_0" && hour == first && !near(v, e.q2Host0[j]) {
				return fmt.Errorf("host_0 first hour: avg_%s %v, want %v", f, v, e.q2Host0[j])
			}
		}
	}
	return nil
}

// checkQ3: one row per host with the time and the values of the file's last line of that host.
func checkQ3(rows []bson.Raw, info dataInfo, e *expected) error {
	if len(rows) != info.Hosts {
		return fmt.Errorf("%d rows, want %d", len(rows), info.Hosts)
	}
	seen := make(map[string]bool, len(rows))
	for i, row := range rows {
		host, ok := row.Lookup("_id").StringValueOK()
		want, known := e.q3Last[host]
		if !ok || !known || seen[host] {
			return fmt.Errorf("row %d: unexpected or repeated _id %s", i, row.Lookup("_id"))
		}
		seen[host] = true
		if t, ok := dateOf(row.Lookup("time")); !ok || t != info.Last.UnixMilli() {
			return fmt.Errorf("%s: time %s, want %s", host, row.Lookup("time"), info.Last)
		}
		for j, f := range cpuFields {
			if v, ok := number(row.Lookup(f)); !ok || v != float64(want[j]) {
				return fmt.Errorf("%s: %s is %s, want %d", host, f, row.Lookup(f), want[j])
			}
		}
	}
	return nil
}
