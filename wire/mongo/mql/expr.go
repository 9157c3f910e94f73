package mql

import (
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// exprEnv is the compile-time environment of expressions.
type exprEnv struct {
	now   time.Time
	bound []string // user variables in scope ($let, $map, $filter, $reduce, $lookup's let)
	// lets are the values of a $lookup sub-pipeline's let variables, set before each run
	lets []binding
}

// evalEnv is the evaluation environment: the current document and variable values.
type evalEnv struct {
	root   []byte
	static *exprEnv
	vars   []binding
}

type binding struct {
	name string
	val  bson.RawValue
}

func (e *evalEnv) with(name string, v bson.RawValue) *evalEnv {
	n := *e
	n.vars = append(append([]binding(nil), e.vars...), binding{name, v})
	return &n
}

// expr is a compiled aggregation expression.
type expr interface {
	eval(env *evalEnv) (bson.RawValue, error)
}

type opCompiler func(args bson.RawValue, env *exprEnv) (expr, error)

var operators map[string]opCompiler

func init() {
	operators = map[string]opCompiler{}
	for _, m := range []map[string]opCompiler{logicOps(), arithOps(), dateOps(), convertOps(), miscOps()} {
		for k, v := range m {
			operators[k] = v
		}
	}
}

// compileExpr compiles an aggregation expression.
func compileExpr(v bson.RawValue, env *exprEnv) (expr, error) {
	switch v.Type {
	case bson.TypeString:
		s := v.StringValue()
		if strings.HasPrefix(s, "$$") {
			return compileVar(s[2:], env)
		}
		if strings.HasPrefix(s, "$") {
			if len(s) == 1 || strings.Contains(s, "..") || strings.HasSuffix(s, ".") {
				return nil, errf(16872, "'%s' is not a valid field path", s)
			}
			return fieldExpr{splitPath(s[1:])}, nil
		}
		return literal{v}, nil
	case bson.TypeArray:
		var items []expr
		for _, e := range values(v.Value) {
			c, err := compileExpr(e, env)
			if err != nil {
				return nil, err
			}
			items = append(items, c)
		}
		return arrayExpr(items), nil
	case bson.TypeEmbeddedDocument:
		return compileObjectExpr(v.Value, env)
	}
	return literal{v}, nil
}

func compileObjectExpr(doc []byte, env *exprEnv) (expr, error) {
	els, err := elements(doc)
	if err != nil {
		return nil, errf(codeFailedToParse, "expression: %v", err)
	}
	if len(els) > 0 && strings.HasPrefix(els[0].key, "$") {
		if len(els) > 1 {
			return nil, errf(15983, "an expression specification must contain exactly one field, the name of the expression. Found %d fields", len(els))
		}
		c, ok := operators[els[0].key]
		if !ok {
			return nil, errf(codeInvalidPipelineOperator, "Unrecognized expression '%s'", els[0].key)
		}
		return c(els[0].val, env)
	}
	obj := objectExpr{}
	for _, e := range els {
		if strings.HasPrefix(e.key, "$") {
			return nil, errf(16410, "FieldPath field names may not start with '$'. Consider using $getField or $setField.")
		}
		c, err := compileExpr(e.val, env)
		if err != nil {
			return nil, err
		}
		obj = append(obj, objectField{e.key, c})
	}
	return obj, nil
}

func compileVar(s string, env *exprEnv) (expr, error) {
	name, rest, _ := strings.Cut(s, ".")
	var path []string
	if rest != "" {
		path = splitPath(rest)
	}
	switch name {
	case "ROOT", "CURRENT", "NOW", "REMOVE":
		return varExpr{name: name, path: path}, nil
	}
	for _, b := range env.bound {
		if b == name {
			return varExpr{name: name, path: path, user: true}, nil
		}
	}
	return nil, errf(17276, "Use of undefined variable: %s", name)
}

type literal struct{ v bson.RawValue }

func (l literal) eval(*evalEnv) (bson.RawValue, error) { return l.v, nil }

type fieldExpr struct{ path []string }

func (f fieldExpr) eval(env *evalEnv) (bson.RawValue, error) {
	return exprPath(vDoc(env.root), f.path), nil
}

type varExpr struct {
	name string
	path []string
	user bool
}

func (x varExpr) eval(env *evalEnv) (bson.RawValue, error) {
	var v bson.RawValue
	switch {
	case x.user:
		found := false
		for i := len(env.vars) - 1; i >= 0; i-- {
			if env.vars[i].name == x.name {
				v, found = env.vars[i].val, true
				break
			}
		}
		for i := 0; !found && env.static != nil && i < len(env.static.lets); i++ {
			if env.static.lets[i].name == x.name {
				v, found = env.static.lets[i].val, true
			}
		}
	case x.name == "ROOT" || x.name == "CURRENT":
		v = vDoc(env.root)
	case x.name == "NOW":
		v = vDate(env.static.now.UnixMilli())
	case x.name == "REMOVE":
		return missing, nil
	}
	if len(x.path) > 0 {
		return exprPath(v, x.path), nil
	}
	return v, nil
}

type arrayExpr []expr

func (a arrayExpr) eval(env *evalEnv) (bson.RawValue, error) {
	b := newBuilder(16 * len(a))
	for _, e := range a {
		v, err := e.eval(env)
		if err != nil {
			return missing, err
		}
		b.push(v)
	}
	return b.array(), nil
}

type objectField struct {
	key string
	e   expr
}

type objectExpr []objectField

func (o objectExpr) eval(env *evalEnv) (bson.RawValue, error) {
	b := newBuilder(32 * len(o))
	for _, f := range o {
		v, err := f.e.eval(env)
		if err != nil {
			return missing, err
		}
		b.add(f.key, v)
	}
	return b.doc(), nil
}

// argList compiles the arguments of an operator: an array, or a single argument.
func argList(args bson.RawValue, env *exprEnv) ([]expr, error) {
	items := []bson.RawValue{args}
	if args.Type == bson.TypeArray {
		items = values(args.Value)
	}
	out := make([]expr, 0, len(items))
	for _, it := range items {
		e, err := compileExpr(it, env)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// fnExpr evaluates its arguments and applies fn.
type fnExpr struct {
	args []expr
	fn   func(vals []bson.RawValue) (bson.RawValue, error)
}

func (f *fnExpr) eval(env *evalEnv) (bson.RawValue, error) {
	vals := make([]bson.RawValue, len(f.args))
	for i, a := range f.args {
		v, err := a.eval(env)
		if err != nil {
			return missing, err
		}
		vals[i] = v
	}
	return f.fn(vals)
}

// fixed builds an operator taking exactly n arguments (n < 0: at least -n).
func fixed(name string, n int, fn func(vals []bson.RawValue) (bson.RawValue, error)) opCompiler {
	return func(args bson.RawValue, env *exprEnv) (expr, error) {
		a, err := argList(args, env)
		if err != nil {
			return nil, err
		}
		if (n >= 0 && len(a) != n) || (n < 0 && len(a) < -n) {
			want := n
			if n < 0 {
				want = -n
			}
			return nil, errf(16020, "Expression %s takes exactly %d arguments. %d were passed in.", name, want, len(a))
		}
		return &fnExpr{args: a, fn: fn}, nil
	}
}

// namedArgs compiles the {name: expr} arguments of an operator.
func namedArgs(op string, args bson.RawValue, env *exprEnv, required []string, optional ...string) (map[string]expr, error) {
	if args.Type != bson.TypeEmbeddedDocument {
		return nil, errf(codeFailedToParse, "%s only supports an object as its argument", op)
	}
	out := map[string]expr{}
	els, _ := elements(args.Value)
	for _, e := range els {
		known := false
		for _, k := range append(append([]string(nil), required...), optional...) {
			known = known || k == e.key
		}
		if !known {
			return nil, errf(codeFailedToParse, "Unrecognized argument to %s: %s", op, e.key)
		}
		c, err := compileExpr(e.val, env)
		if err != nil {
			return nil, err
		}
		out[e.key] = c
	}
	for _, r := range required {
		if out[r] == nil {
			return nil, errf(codeFailedToParse, "Missing '%s' parameter to %s", r, op)
		}
	}
	return out, nil
}

// evalNamed evaluates an optional named argument (missing when absent).
func evalNamed(m map[string]expr, name string, env *evalEnv) (bson.RawValue, error) {
	e := m[name]
	if e == nil {
		return missing, nil
	}
	return e.eval(env)
}

// evalExpr evaluates a compiled expression against a document.
func evalExpr(e expr, doc []byte, static *exprEnv) (bson.RawValue, error) {
	return e.eval(&evalEnv{root: doc, static: static})
}
