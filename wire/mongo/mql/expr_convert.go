package mql

import (
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func convertOps() map[string]opCompiler {
	to := func(name, target string) opCompiler {
		return fixed(name, 1, func(v []bson.RawValue) (bson.RawValue, error) {
			if isNullish(v[0]) {
				return vNull(), nil
			}
			return convertValue(v[0], target)
		})
	}
	return map[string]opCompiler{
		"$toDate": to("$toDate", "date"), "$toString": to("$toString", "string"),
		"$toInt": to("$toInt", "int"), "$toLong": to("$toLong", "long"),
		"$toDouble": to("$toDouble", "double"), "$toDecimal": to("$toDecimal", "decimal"),
		"$toBool": to("$toBool", "bool"), "$toObjectId": to("$toObjectId", "objectId"),
		"$convert": compileConvert,
		"$type": fixed("$type", 1, func(v []bson.RawValue) (bson.RawValue, error) {
			return vString(typeName(v[0].Type)), nil
		}),
		"$isNumber": fixed("$isNumber", 1, func(v []bson.RawValue) (bson.RawValue, error) {
			return vBool(isNumber(v[0].Type)), nil
		}),
	}
}

type convertExpr struct{ m map[string]expr }

func compileConvert(a bson.RawValue, env *exprEnv) (expr, error) {
	m, err := namedArgs("$convert", a, env, []string{"input", "to"}, "onError", "onNull")
	return &convertExpr{m}, err
}

var typeCodeNames = map[int64]string{1: "double", 2: "string", 7: "objectId", 8: "bool", 9: "date", 16: "int", 18: "long", 19: "decimal"}

func (c *convertExpr) eval(env *evalEnv) (bson.RawValue, error) {
	in, err := evalNamed(c.m, "input", env)
	if err != nil {
		return missing, err
	}
	tv, err := evalNamed(c.m, "to", env)
	if err != nil {
		return missing, err
	}
	if isNullish(in) || isNullish(tv) {
		if c.m["onNull"] != nil {
			return evalNamed(c.m, "onNull", env)
		}
		return vNull(), nil
	}
	target := ""
	if tv.Type == bson.TypeString {
		target = tv.StringValue()
	} else if n, ok := exactInt(tv); ok {
		target = typeCodeNames[n]
	}
	out, err := convertValue(in, target)
	if err != nil && c.m["onError"] != nil {
		return evalNamed(c.m, "onError", env)
	}
	return out, err
}

func convFail(v bson.RawValue, target string) error {
	return errf(codeConversionFailure, "Unsupported conversion from %s to %s in $convert with no onError value", typeName(v.Type), target)
}

// convertValue is $convert of a non-null value.
func convertValue(v bson.RawValue, target string) (bson.RawValue, error) {
	switch target {
	case "date":
		switch v.Type {
		case bson.TypeDateTime:
			return v, nil
		case bson.TypeInt64, bson.TypeInt32, bson.TypeDouble, bson.TypeDecimal128:
			if v.Type == bson.TypeInt32 {
				return missing, convFail(v, target)
			}
			f := toFloat(v)
			if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) >= 9.2e18 {
				return missing, errf(codeConversionFailure, "Conversion would overflow target type in $convert with no onError value")
			}
			return vDate(truncInt(v)), nil
		case bson.TypeString:
			ms, err := parseDate(v.StringValue(), time.UTC)
			if err != nil {
				return missing, err
			}
			return vDate(ms), nil
		case bson.TypeObjectID, bson.TypeTimestamp:
			ms, _, err := dateMs(v)
			return vDate(ms), err
		}
	case "string":
		switch v.Type {
		case bson.TypeString:
			return v, nil
		case bson.TypeInt32, bson.TypeInt64:
			n, _ := intOf(v)
			return vString(strconv.FormatInt(n, 10)), nil
		case bson.TypeDouble:
			return vString(formatDouble(v.Double())), nil
		case bson.TypeDecimal128:
			return vString(v.Decimal128().String()), nil
		case bson.TypeBoolean:
			return vString(strconv.FormatBool(v.Boolean())), nil
		case bson.TypeDateTime:
			return vString(isoString(v.DateTime())), nil
		case bson.TypeObjectID:
			return vString(v.ObjectID().Hex()), nil
		}
	case "int", "long":
		var n int64
		switch v.Type {
		case bson.TypeInt32, bson.TypeInt64:
			n, _ = intOf(v)
		case bson.TypeDouble, bson.TypeDecimal128:
			f := toFloat(v)
			if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) >= 9.2e18 {
				return missing, errf(codeConversionFailure, "Conversion would overflow target type in $convert with no onError value")
			}
			n = int64(f)
		case bson.TypeBoolean:
			n = int64(b2i(v.Boolean()))
		case bson.TypeDateTime:
			if target == "int" {
				return missing, convFail(v, target)
			}
			n = v.DateTime()
		case bson.TypeString:
			p, err := strconv.ParseInt(v.StringValue(), 10, 64)
			if err != nil {
				return missing, errf(codeConversionFailure, "Failed to parse number '%s' in $convert with no onError value", v.StringValue())
			}
			n = p
		default:
			return missing, convFail(v, target)
		}
		if target == "int" {
			if n > math.MaxInt32 || n < math.MinInt32 {
				return missing, errf(codeConversionFailure, "Conversion would overflow target type in $convert with no onError value")
			}
			return vInt32(int32(n)), nil
		}
		return vInt64(n), nil
	case "double", "decimal":
		var f float64
		switch v.Type {
		case bson.TypeInt32, bson.TypeInt64, bson.TypeDouble, bson.TypeDecimal128:
			if target == "decimal" {
				b, nan := bigOf(v)
				if nan {
					d, _ := bson.ParseDecimal128("NaN")
					return vDecimal(d), nil
				}
				return decimalOf(b), nil
			}
			f = toFloat(v)
		case bson.TypeBoolean:
			f = float64(b2i(v.Boolean()))
		case bson.TypeDateTime:
			f = float64(v.DateTime())
		case bson.TypeString:
			p, err := strconv.ParseFloat(strings.TrimSpace(v.StringValue()), 64)
			if err != nil {
				return missing, errf(codeConversionFailure, "Failed to parse number '%s' in $convert with no onError value", v.StringValue())
			}
			f = p
		default:
			return missing, convFail(v, target)
		}
		return numResult(map[string]bson.Type{"double": bson.TypeDouble, "decimal": bson.TypeDecimal128}[target], f), nil
	case "bool":
		return vBool(truthy(v)), nil
	case "objectId":
		switch v.Type {
		case bson.TypeObjectID:
			return v, nil
		case bson.TypeString:
			b, err := hex.DecodeString(v.StringValue())
			if err != nil || len(b) != 12 {
				return missing, errf(codeConversionFailure, "Failed to parse objectId '%s' in $convert with no onError value", v.StringValue())
			}
			return bson.RawValue{Type: bson.TypeObjectID, Value: b}, nil
		}
	default:
		return missing, errf(codeBadValue, "Unknown type name: %s", target)
	}
	return missing, convFail(v, target)
}

func formatDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
