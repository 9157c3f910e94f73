package mql

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

const exprDoc = `{"i": 7, "j": {"$numberLong": "3"}, "d": 2.5, "s": "ab", "n": null, "arr": [1, 2, 3],
	"o": {"x": [{"y": 1}, {"y": 2}]}, "big": 2147483647, "t": {"$date": "2023-03-09T12:34:56.789Z"},
	"t2": {"$date": "2023-03-08T12:34:56.789Z"}}`

func evalJS(t *testing.T, e string) (string, error) {
	t.Helper()
	x, err := compileExpr(val(t, e), &exprEnv{now: time.Unix(1700000000, 0)})
	if err != nil {
		return "", err
	}
	v, err := evalExpr(x, doc(t, exprDoc), &exprEnv{now: time.Unix(1700000000, 0)})
	if err != nil {
		return "", err
	}
	return ejv(t, v), nil
}

func TestExpressions(t *testing.T) {
	cases := []struct{ expr, want string }{
		{`"$i"`, `{"v":7}`},
		{`"$o.x.y"`, `{"v":[1,2]}`},
		{`"$nope"`, `<missing>`},
		{`{"$literal": "$i"}`, `{"v":"$i"}`},
		{`{"a": "$i", "b": "$nope"}`, `{"v":{"a":7}}`},
		{`{"$add": [1, 2]}`, `{"v":3}`},
		{`{"$add": ["$big", 1]}`, `{"v":{"$numberLong":"2147483648"}}`},
		{`{"$add": ["$i", "$j"]}`, `{"v":{"$numberLong":"10"}}`},
		{`{"$add": ["$i", "$d"]}`, `{"v":9.5}`},
		{`{"$add": ["$i", null]}`, `{"v":null}`},
		{`{"$add": [{"$numberLong": "9223372036854775807"}, {"$numberLong": "1"}]}`, `{"v":9.223372036854775808e+18}`},
		{`{"$add": ["$t", 1000]}`, `{"v":{"$date":"2023-03-09T12:34:57.789Z"}}`},
		{`{"$subtract": ["$t", "$t2"]}`, `{"v":{"$numberLong":"86400000"}}`},
		{`{"$subtract": ["$t", 789]}`, `{"v":{"$date":"2023-03-09T12:34:56Z"}}`},
		{`{"$subtract": [5, 7]}`, `{"v":-2}`},
		{`{"$multiply": ["$i", "$j"]}`, `{"v":{"$numberLong":"21"}}`},
		{`{"$multiply": [2, 3]}`, `{"v":6}`},
		{`{"$divide": [7, 2]}`, `{"v":3.5}`},
		{`{"$mod": [7, 3]}`, `{"v":1}`},
		{`{"$mod": [7.5, 2]}`, `{"v":1.5}`},
		{`{"$abs": -3}`, `{"v":3}`},
		{`{"$floor": 2.5}`, `{"v":2.0}`},
		{`{"$ceil": 2.1}`, `{"v":3.0}`},
		{`{"$round": 2.5}`, `{"v":2.0}`},
		{`{"$round": 3.5}`, `{"v":4.0}`},
		{`{"$round": [1.2345, 2]}`, `{"v":1.23}`},
		{`{"$round": [1234, -2]}`, `{"v":1200}`},
		{`{"$trunc": -2.7}`, `{"v":-2.0}`},
		{`{"$trunc": [2.789, 1]}`, `{"v":2.7}`},
		{`{"$eq": [1, 1.0]}`, `{"v":true}`},
		{`{"$ne": ["$nope", null]}`, `{"v":true}`},
		{`{"$gt": ["$s", 5]}`, `{"v":true}`},
		{`{"$gte": [1, 1]}`, `{"v":true}`},
		{`{"$lt": [1, 2]}`, `{"v":true}`},
		{`{"$lte": [3, 2]}`, `{"v":false}`},
		{`{"$cmp": ["a", "b"]}`, `{"v":-1}`},
		{`{"$and": [1, "$s"]}`, `{"v":true}`},
		{`{"$and": [1, 0]}`, `{"v":false}`},
		{`{"$or": [null, "$nope"]}`, `{"v":false}`},
		{`{"$not": [0]}`, `{"v":true}`},
		{`{"$cond": [{"$gt": ["$i", 5]}, "big", "small"]}`, `{"v":"big"}`},
		{`{"$cond": {"if": false, "then": 1, "else": 2}}`, `{"v":2}`},
		{`{"$ifNull": ["$n", "$nope", "dflt"]}`, `{"v":"dflt"}`},
		{`{"$ifNull": ["$i", 0]}`, `{"v":7}`},
		{`{"$switch": {"branches": [{"case": false, "then": 1}], "default": 3}}`, `{"v":3}`},
		{`{"$let": {"vars": {"x": 2}, "in": {"$multiply": ["$$x", "$i"]}}}`, `{"v":14}`},
		{`{"$toDate": {"$numberLong": "1000"}}`, `{"v":{"$date":"1970-01-01T00:00:01Z"}}`},
		{`{"$toDate": "2023-03-09T12:00:00Z"}`, `{"v":{"$date":"2023-03-09T12:00:00Z"}}`},
		{`{"$toString": "$t"}`, `{"v":"2023-03-09T12:34:56.789Z"}`},
		{`{"$toString": 2.5}`, `{"v":"2.5"}`},
		{`{"$toInt": "42"}`, `{"v":42}`},
		{`{"$toInt": 4.9}`, `{"v":4}`},
		{`{"$toLong": "$t"}`, `{"v":{"$numberLong":"1678365296789"}}`},
		{`{"$toDouble": "1.5"}`, `{"v":1.5}`},
		{`{"$toInt": null}`, `{"v":null}`},
		{`{"$concat": ["$s", "-", "c"]}`, `{"v":"ab-c"}`},
		{`{"$concat": ["$s", "$nope"]}`, `{"v":null}`},
		{`{"$year": "$t"}`, `{"v":2023}`},
		{`{"$month": "$t"}`, `{"v":3}`},
		{`{"$dayOfMonth": "$t"}`, `{"v":9}`},
		{`{"$hour": "$t"}`, `{"v":12}`},
		{`{"$hour": {"date": "$t", "timezone": "+05:30"}}`, `{"v":18}`},
		{`{"$minute": "$t"}`, `{"v":34}`},
		{`{"$second": "$t"}`, `{"v":56}`},
		{`{"$millisecond": "$t"}`, `{"v":789}`},
		{`{"$dayOfWeek": "$t"}`, `{"v":5}`},
		{`{"$dayOfYear": "$t"}`, `{"v":68}`},
		{`{"$week": "$t"}`, `{"v":10}`}, // 2023-01-01 is a Sunday: week 1
		{`{"$isoWeek": "$t"}`, `{"v":10}`},
		{`{"$year": "$nope"}`, `{"v":null}`},
		{`{"$dateToParts": {"date": "$t"}}`, `{"v":{"year":2023,"month":3,"day":9,"hour":12,"minute":34,"second":56,"millisecond":789}}`},
		{`{"$dateFromParts": {"year": 2023, "month": 14, "day": 1, "timezone": "-01:00"}}`, `{"v":{"$date":"2024-02-01T01:00:00Z"}}`},
		{`{"$dateFromParts": {"isoWeekYear": 2023, "isoWeek": 10, "isoDayOfWeek": 4}}`, `{"v":{"$date":"2023-03-09T00:00:00Z"}}`},
		{`{"$dateToString": {"date": "$t"}}`, `{"v":"2023-03-09T12:34:56.789Z"}`},
		{`{"$dateToString": {"date": "$t", "format": "%Y/%m/%d %H:%M:%S %j %w %u %U %V %G %z %%", "timezone": "+01:00"}}`, `{"v":"2023/03/09 13:34:56 068 5 4 10 10 2023 +0100 %"}`},
		{`{"$dateToString": {"date": "$nope", "onNull": "none"}}`, `{"v":"none"}`},
		{`{"$dateAdd": {"startDate": {"$date": "2023-01-31T00:00:00Z"}, "unit": "month", "amount": 1}}`, `{"v":{"$date":"2023-02-28T00:00:00Z"}}`},
		{`{"$dateSubtract": {"startDate": "$t", "unit": "hour", "amount": 2}}`, `{"v":{"$date":"2023-03-09T10:34:56.789Z"}}`},
		{`{"$dateDiff": {"startDate": {"$date": "2023-01-31T23:59:00Z"}, "endDate": {"$date": "2023-02-01T00:01:00Z"}, "unit": "day"}}`, `{"v":{"$numberLong":"1"}}`},
		{`{"$dateDiff": {"startDate": {"$date": "2023-01-31T00:00:00Z"}, "endDate": {"$date": "2022-12-01T00:00:00Z"}, "unit": "month"}}`, `{"v":{"$numberLong":"-1"}}`},
		{`{"$dateDiff": {"startDate": {"$date": "2023-03-04T00:00:00Z"}, "endDate": {"$date": "2023-03-06T00:00:00Z"}, "unit": "week", "startOfWeek": "monday"}}`, `{"v":{"$numberLong":"1"}}`},
		{`{"$size": "$arr"}`, `{"v":3}`},
		{`{"$arrayElemAt": ["$arr", -1]}`, `{"v":3}`},
		{`{"$first": "$arr"}`, `{"v":1}`},
		{`{"$last": ["$arr"]}`, `{"v":3}`},
		{`{"$first": [[]]}`, `<missing>`},
		{`{"$last": "$nope"}`, `{"v":null}`},
		{`{"$in": [2, "$arr"]}`, `{"v":true}`},
		{`{"$sum": "$arr"}`, `{"v":6}`},
		{`{"$avg": [1, 2, "x"]}`, `{"v":1.5}`},
		{`{"$max": "$arr"}`, `{"v":3}`},
		{`{"$type": "$j"}`, `{"v":"long"}`},
		{`"$$NOW"`, `{"v":{"$date":"2023-11-14T22:13:20Z"}}`},
		{`"$$ROOT.i"`, `{"v":7}`},
	}
	for _, c := range cases {
		got, err := evalJS(t, c.expr)
		require.NoError(t, err, c.expr)
		if c.want == "<missing>" {
			require.Equal(t, c.want, got, c.expr)
			continue
		}
		require.JSONEq(t, canon(t, c.want), got, c.expr)
	}
}

func TestExpressionErrors(t *testing.T) {
	cases := []struct {
		expr string
		code mongoerr.Code
	}{
		{`{"$foo": 1}`, 168},
		{`{"$add": ["$s", 1]}`, 16554},
		{`{"$divide": [1, 0]}`, mongoerr.BadValue},
		{`{"$mod": [1, 0]}`, 16610},
		{`{"$concat": ["a", 1]}`, 16702},
		{`{"$toInt": "x"}`, 241},
		{`{"$add": ["$t", "$t2"]}`, 16612},
		{`"$$nope"`, 17276},
		{`{"$year": {"date": "$t", "timezone": "Mars/Base"}}`, 40485},
	}
	for _, c := range cases {
		_, err := evalJS(t, c.expr)
		var me *mongoerr.Error
		require.True(t, errors.As(err, &me), "%s: %v", c.expr, err)
		require.Equal(t, c.code, me.Code, c.expr)
	}
}

func TestDateTrunc(t *testing.T) {
	const d = `{"$date": "2023-03-09T12:34:56.789Z"}` // a Thursday
	cases := []struct{ args, want string }{
		{`"unit": "second"`, "2023-03-09T12:34:56Z"},
		{`"unit": "minute", "binSize": 15`, "2023-03-09T12:30:00Z"},
		{`"unit": "hour"`, "2023-03-09T12:00:00Z"},
		{`"unit": "hour", "binSize": 5`, "2023-03-09T08:00:00Z"}, // 8468 days since 2000-01-01: 203244h ≡ 4 (mod 5)
		{`"unit": "hour", "timezone": "+05:30"`, "2023-03-09T12:30:00Z"},
		{`"unit": "day"`, "2023-03-09T00:00:00Z"},
		{`"unit": "day", "binSize": 7`, "2023-03-04T00:00:00Z"}, // 2000-01-01 + 7k days: Saturdays
		{`"unit": "day", "timezone": "-08:00"`, "2023-03-09T08:00:00Z"},
		{`"unit": "day", "timezone": "America/New_York"`, "2023-03-09T05:00:00Z"},
		{`"unit": "week"`, "2023-03-05T00:00:00Z"},                          // Sunday
		{`"unit": "week", "startOfWeek": "monday"`, "2023-03-06T00:00:00Z"}, // Monday
		{`"unit": "week", "startOfWeek": "FRI"`, "2023-03-03T00:00:00Z"},    // previous Friday
		{`"unit": "week", "binSize": 2`, "2023-02-26T00:00:00Z"},            // 2023-03-05 is week 1209 after 2000-01-02: odd
		{`"unit": "month"`, "2023-03-01T00:00:00Z"},
		{`"unit": "month", "binSize": 5`, "2022-12-01T00:00:00Z"}, // 278 months since 2000-01, bin starts at 275
		{`"unit": "quarter"`, "2023-01-01T00:00:00Z"},
		{`"unit": "year", "binSize": 10`, "2020-01-01T00:00:00Z"},
		{`"unit": "month", "timezone": "+14:00"`, "2023-02-28T10:00:00Z"},
	}
	for _, c := range cases {
		got, err := evalJS(t, `{"$dateTrunc": {"date": `+d+`, `+c.args+`}}`)
		require.NoError(t, err, c.args)
		require.JSONEq(t, canon(t, `{"v":{"$date":"`+c.want+`"}}`), got, c.args)
	}
	// Dates before the 2000 reference point use floor division.
	got, err := evalJS(t, `{"$dateTrunc": {"date": {"$date": "1999-12-31T23:00:00Z"}, "unit": "hour", "binSize": 7}}`)
	require.NoError(t, err)
	require.JSONEq(t, canon(t, `{"v":{"$date":"1999-12-31T17:00:00Z"}}`), got)
}
