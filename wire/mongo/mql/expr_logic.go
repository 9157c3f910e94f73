package mql

import (
	"go.mongodb.org/mongo-driver/v2/bson"
)

func logicOps() map[string]opCompiler {
	cmp := func(name string) opCompiler {
		return fixed(name, 2, func(v []bson.RawValue) (bson.RawValue, error) {
			c := CompareValues(v[0], v[1])
			if name == "$cmp" {
				return vInt32(int32(c)), nil
			}
			return vBool(cmpResult(name, c) || (name == "$ne" && c != 0)), nil
		})
	}
	return map[string]opCompiler{
		"$eq": cmp("$eq"), "$ne": cmp("$ne"), "$gt": cmp("$gt"), "$gte": cmp("$gte"),
		"$lt": cmp("$lt"), "$lte": cmp("$lte"), "$cmp": cmp("$cmp"),
		"$and": func(a bson.RawValue, env *exprEnv) (expr, error) { return logical(true, a, env) },
		"$or":  func(a bson.RawValue, env *exprEnv) (expr, error) { return logical(false, a, env) },
		"$not": fixed("$not", 1, func(v []bson.RawValue) (bson.RawValue, error) { return vBool(!truthy(v[0])), nil }),
		"$literal": func(a bson.RawValue, _ *exprEnv) (expr, error) {
			return literal{a}, nil
		},
		"$cond":   compileCond,
		"$ifNull": compileIfNull,
		"$switch": compileSwitch,
		"$let":    compileLet,
	}
}

type logicalExpr struct {
	and  bool
	args []expr
}

func logical(and bool, a bson.RawValue, env *exprEnv) (expr, error) {
	args, err := argList(a, env)
	if err != nil {
		return nil, err
	}
	return &logicalExpr{and: and, args: args}, nil
}

func (l *logicalExpr) eval(env *evalEnv) (bson.RawValue, error) {
	for _, a := range l.args {
		v, err := a.eval(env)
		if err != nil {
			return missing, err
		}
		if truthy(v) != l.and {
			return vBool(!l.and), nil
		}
	}
	return vBool(l.and), nil
}

type condExpr struct{ cond, then, els expr }

func compileCond(a bson.RawValue, env *exprEnv) (expr, error) {
	if a.Type == bson.TypeEmbeddedDocument {
		m, err := namedArgs("$cond", a, env, []string{"if", "then", "else"})
		if err != nil {
			return nil, err
		}
		return &condExpr{m["if"], m["then"], m["else"]}, nil
	}
	args, err := argList(a, env)
	if err != nil {
		return nil, err
	}
	if len(args) != 3 {
		return nil, errf(16020, "Expression $cond takes exactly 3 arguments. %d were passed in.", len(args))
	}
	return &condExpr{args[0], args[1], args[2]}, nil
}

func (c *condExpr) eval(env *evalEnv) (bson.RawValue, error) {
	v, err := c.cond.eval(env)
	if err != nil {
		return missing, err
	}
	if truthy(v) {
		return c.then.eval(env)
	}
	return c.els.eval(env)
}

type ifNullExpr []expr

func compileIfNull(a bson.RawValue, env *exprEnv) (expr, error) {
	args, err := argList(a, env)
	if err != nil {
		return nil, err
	}
	if len(args) < 2 {
		return nil, errf(codeBadValue, "$ifNull needs at least two arguments, had: %d", len(args))
	}
	return ifNullExpr(args), nil
}

func (x ifNullExpr) eval(env *evalEnv) (bson.RawValue, error) {
	for i, a := range x {
		v, err := a.eval(env)
		if err != nil {
			return missing, err
		}
		if !isNullish(v) || i == len(x)-1 {
			return v, nil
		}
	}
	return vNull(), nil
}

type switchExpr struct {
	cases [][2]expr
	def   expr
}

func compileSwitch(a bson.RawValue, env *exprEnv) (expr, error) {
	if a.Type != bson.TypeEmbeddedDocument {
		return nil, errf(40060, "$switch requires an object as an argument")
	}
	s := &switchExpr{}
	if d := lookup(a.Value, "default"); !isMissing(d) {
		e, err := compileExpr(d, env)
		if err != nil {
			return nil, err
		}
		s.def = e
	}
	br := lookup(a.Value, "branches")
	if br.Type != bson.TypeArray {
		return nil, errf(40061, "$switch expected an array for 'branches'")
	}
	for _, b := range values(br.Value) {
		if b.Type != bson.TypeEmbeddedDocument {
			return nil, errf(40062, "$switch expected each branch to be an object")
		}
		m, err := namedArgs("$switch", b, env, []string{"case", "then"})
		if err != nil {
			return nil, err
		}
		s.cases = append(s.cases, [2]expr{m["case"], m["then"]})
	}
	return s, nil
}

func (s *switchExpr) eval(env *evalEnv) (bson.RawValue, error) {
	for _, c := range s.cases {
		v, err := c[0].eval(env)
		if err != nil {
			return missing, err
		}
		if truthy(v) {
			return c[1].eval(env)
		}
	}
	if s.def == nil {
		return missing, errf(40066, "$switch could not find a matching branch for an input, and no default was specified.")
	}
	return s.def.eval(env)
}

type letExpr struct {
	names []string
	vals  []expr
	in    expr
}

func compileLet(a bson.RawValue, env *exprEnv) (expr, error) {
	if a.Type != bson.TypeEmbeddedDocument {
		return nil, errf(16874, "$let only supports an object as its argument")
	}
	vars := lookup(a.Value, "vars")
	in := lookup(a.Value, "in")
	if vars.Type != bson.TypeEmbeddedDocument || isMissing(in) {
		return nil, errf(16876, "Missing 'vars' or 'in' parameter to $let")
	}
	l := &letExpr{}
	els, _ := elements(vars.Value)
	for _, e := range els {
		c, err := compileExpr(e.val, env)
		if err != nil {
			return nil, err
		}
		l.names = append(l.names, e.key)
		l.vals = append(l.vals, c)
	}
	inner := &exprEnv{now: env.now, bound: append(append([]string(nil), env.bound...), l.names...)}
	c, err := compileExpr(in, inner)
	if err != nil {
		return nil, err
	}
	l.in = c
	return l, nil
}

func (l *letExpr) eval(env *evalEnv) (bson.RawValue, error) {
	inner := env
	for i, n := range l.names {
		v, err := l.vals[i].eval(env)
		if err != nil {
			return missing, err
		}
		inner = inner.with(n, v)
	}
	return l.in.eval(inner)
}
