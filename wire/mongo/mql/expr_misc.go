package mql

import (
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func miscOps() map[string]opCompiler {
	str := func(name string, f func(string) string) opCompiler {
		return fixed(name, 1, func(v []bson.RawValue) (bson.RawValue, error) {
			if isNullish(v[0]) {
				return vString(""), nil
			}
			s, err := convertValue(v[0], "string")
			if err != nil {
				return missing, errf(16007, "can't convert from BSON type %s to String", typeName(v[0].Type))
			}
			return vString(f(s.StringValue())), nil
		})
	}
	arrayReduce := func(name string, f func(vals []bson.RawValue) bson.RawValue) opCompiler {
		return func(args bson.RawValue, env *exprEnv) (expr, error) {
			a, err := argList(args, env)
			if err != nil {
				return nil, err
			}
			return &fnExpr{args: a, fn: func(v []bson.RawValue) (bson.RawValue, error) {
				if len(v) == 1 && v[0].Type == bson.TypeArray {
					v = values(v[0].Value)
				}
				return f(v), nil
			}}, nil
		}
	}
	return map[string]opCompiler{
		"$concat": variadic("$concat", func(_ string, v []bson.RawValue) (bson.RawValue, error) {
			var b strings.Builder
			for _, x := range v {
				if isNullish(x) {
					return vNull(), nil
				}
				if x.Type != bson.TypeString {
					return missing, errf(16702, "$concat only supports strings, not %s", typeName(x.Type))
				}
				b.WriteString(x.StringValue())
			}
			return vString(b.String()), nil
		}),
		"$toLower": str("$toLower", strings.ToLower),
		"$toUpper": str("$toUpper", strings.ToUpper),
		"$size": fixed("$size", 1, func(v []bson.RawValue) (bson.RawValue, error) {
			if v[0].Type != bson.TypeArray {
				return missing, errf(17124, "The argument to $size must be an array. Type of argument: %s", typeName(v[0].Type))
			}
			return vInt32(int32(len(values(v[0].Value)))), nil
		}),
		"$arrayElemAt": fixed("$arrayElemAt", 2, func(v []bson.RawValue) (bson.RawValue, error) {
			if isNullish(v[0]) || isNullish(v[1]) {
				return vNull(), nil
			}
			if v[0].Type != bson.TypeArray {
				return missing, errf(28689, "$arrayElemAt's first argument must be an array, but is %s", typeName(v[0].Type))
			}
			i, ok := exactInt(v[1])
			if !ok {
				return missing, errf(28691, "$arrayElemAt's second argument must be a numeric value")
			}
			arr := values(v[0].Value)
			if i < 0 {
				i += int64(len(arr))
			}
			if i < 0 || i >= int64(len(arr)) {
				return missing, nil
			}
			return arr[i], nil
		}),
		"$first": arrayEnd("$first", true),
		"$last":  arrayEnd("$last", false),
		"$in": fixed("$in", 2, func(v []bson.RawValue) (bson.RawValue, error) {
			if v[1].Type != bson.TypeArray {
				return missing, errf(40081, "$in requires an array as a second argument, found: %s", typeName(v[1].Type))
			}
			for _, x := range values(v[1].Value) {
				if CompareValues(x, v[0]) == 0 {
					return vBool(true), nil
				}
			}
			return vBool(false), nil
		}),
		"$isArray": fixed("$isArray", 1, func(v []bson.RawValue) (bson.RawValue, error) {
			return vBool(v[0].Type == bson.TypeArray), nil
		}),
		"$sum": arrayReduce("$sum", func(v []bson.RawValue) bson.RawValue {
			a := newAccumulator("$sum")
			for _, x := range v {
				a.add(x)
			}
			return a.result()
		}),
		"$avg": arrayReduce("$avg", func(v []bson.RawValue) bson.RawValue {
			a := newAccumulator("$avg")
			for _, x := range v {
				a.add(x)
			}
			return a.result()
		}),
		"$min": arrayReduce("$min", func(v []bson.RawValue) bson.RawValue {
			a := newAccumulator("$min")
			for _, x := range v {
				a.add(x)
			}
			return a.result()
		}),
		"$max": arrayReduce("$max", func(v []bson.RawValue) bson.RawValue {
			a := newAccumulator("$max")
			for _, x := range v {
				a.add(x)
			}
			return a.result()
		}),
		"$mergeObjects": variadic("$mergeObjects", func(_ string, v []bson.RawValue) (bson.RawValue, error) {
			out := emptyDoc
			for _, x := range v {
				if isNullish(x) {
					continue
				}
				if x.Type != bson.TypeEmbeddedDocument {
					return missing, errf(40400, "$mergeObjects requires object inputs, but input %s is of type %s", x.String(), typeName(x.Type))
				}
				els, _ := elements(x.Value)
				for _, e := range els {
					out = setPath(out, []string{e.key}, e.val)
				}
			}
			return vDoc(out), nil
		}),
	}
}

// arrayEnd is the $first or $last array expression (MongoDB 4.4): the first or last element,
// missing for an empty array, null for null or missing.
func arrayEnd(name string, first bool) opCompiler {
	return fixed(name, 1, func(v []bson.RawValue) (bson.RawValue, error) {
		if isNullish(v[0]) {
			return vNull(), nil
		}
		if v[0].Type != bson.TypeArray {
			return missing, errf(28689, "%s's argument must be an array, but is %s", name, typeName(v[0].Type))
		}
		arr := values(v[0].Value)
		switch {
		case len(arr) == 0:
			return missing, nil
		case first:
			return arr[0], nil
		}
		return arr[len(arr)-1], nil
	})
}
