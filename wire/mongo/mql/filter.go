package mql

import (
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Filter is a compiled query filter. It is safe for concurrent use.
type Filter struct {
	root matcher // nil matches everything
	vars *exprEnv
}

// matcher is a compiled filter node evaluated on a document.
type matcher interface {
	match(doc []byte, env *evalEnv) (bool, error)
}

// CompileFilter compiles a query filter; a nil or empty filter matches everything. Errors are
// *mongoerr.Error with MongoDB's codes (2 BadValue for unknown or malformed operators).
func CompileFilter(filter bson.Raw) (f *Filter, err error) {
	defer recoverErr(&err)
	return compileFilterEnv(filter, &exprEnv{})
}

func compileFilterEnv(filter bson.Raw, env *exprEnv) (*Filter, error) {
	if len(filter) == 0 {
		return &Filter{vars: env}, nil
	}
	if err := validDoc("filter", filter); err != nil {
		return nil, err
	}
	m, err := compileAnd(filter, env)
	if err != nil {
		return nil, err
	}
	return &Filter{root: m, vars: env}, nil
}

// Match reports whether doc matches the filter. doc must be a valid BSON document.
func (f *Filter) Match(doc bson.Raw) (ok bool, err error) {
	if f == nil || f.root == nil {
		return true, nil
	}
	defer recoverErr(&err)
	return f.root.match(doc, &evalEnv{root: doc, static: f.vars})
}

func (f *Filter) matchEnv(doc []byte, env *evalEnv) (bool, error) {
	if f == nil || f.root == nil {
		return true, nil
	}
	return f.root.match(doc, env)
}

// compileAnd compiles a filter document: the conjunction of its elements.
func compileAnd(filter []byte, env *exprEnv) (matcher, error) {
	els, err := elements(filter)
	if err != nil {
		return nil, errf(codeFailedToParse, "filter: %v", err)
	}
	var out andMatcher
	for _, e := range els {
		m, err := compileElement(e.key, e.val, env)
		if err != nil {
			return nil, err
		}
		if m != nil {
			out = append(out, m)
		}
	}
	if len(out) == 1 {
		return out[0], nil
	}
	return out, nil
}

func compileElement(key string, v bson.RawValue, env *exprEnv) (matcher, error) {
	if strings.HasPrefix(key, "$") {
		switch key {
		case "$and", "$or", "$nor":
			return compileLogical(key, v, env)
		case "$expr":
			e, err := compileExpr(v, env)
			if err != nil {
				return nil, err
			}
			return exprMatcher{e}, nil
		case "$comment":
			return nil, nil
		case "$where", "$text", "$jsonSchema", "$sampleRate", "$alwaysTrue", "$alwaysFalse":
			switch key {
			case "$alwaysTrue":
				return constMatcher(true), nil
			case "$alwaysFalse":
				return constMatcher(false), nil
			}
			return nil, errf(codeBadValue, "%s is not supported", key)
		}
		return nil, errf(codeBadValue, "unknown top level operator: %s", key)
	}
	if key == "" {
		return nil, errf(codeBadValue, "field names cannot be empty")
	}
	ops, err := compileValueOps(v, env)
	if err != nil {
		return nil, err
	}
	return &fieldMatcher{path: splitPath(key), ops: ops}, nil
}

func compileLogical(op string, v bson.RawValue, env *exprEnv) (matcher, error) {
	if v.Type != bson.TypeArray {
		return nil, errf(codeBadValue, "%s must be an array", op)
	}
	items := values(v.Value)
	if len(items) == 0 {
		return nil, errf(codeBadValue, "$and/$or/$nor must be a nonempty array")
	}
	ms := make([]matcher, 0, len(items))
	for _, it := range items {
		if it.Type != bson.TypeEmbeddedDocument {
			return nil, errf(codeBadValue, "$or/$and/$nor entries need to be full objects")
		}
		m, err := compileAnd(it.Value, env)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	switch op {
	case "$and":
		return andMatcher(ms), nil
	case "$or":
		return orMatcher(ms), nil
	}
	return norMatcher(ms), nil
}

// isOperatorDoc reports whether a filter value is an operator document ({$gt: 1, ...}).
func isOperatorDoc(v bson.RawValue) bool {
	if v.Type != bson.TypeEmbeddedDocument {
		return false
	}
	first := ""
	_ = forEach(v.Value, func(k []byte, _ bson.RawValue) bool {
		first = string(k)
		return false
	})
	return strings.HasPrefix(first, "$")
}

type andMatcher []matcher
type orMatcher []matcher
type norMatcher []matcher
type constMatcher bool
type exprMatcher struct{ e expr }

func (m andMatcher) match(doc []byte, env *evalEnv) (bool, error) {
	for _, c := range m {
		ok, err := c.match(doc, env)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func (m orMatcher) match(doc []byte, env *evalEnv) (bool, error) {
	for _, c := range m {
		ok, err := c.match(doc, env)
		if err != nil {
			return false, err
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

func (m norMatcher) match(doc []byte, env *evalEnv) (bool, error) {
	ok, err := orMatcher(m).match(doc, env)
	return !ok && err == nil, err
}

func (m constMatcher) match([]byte, *evalEnv) (bool, error) { return bool(m), nil }

func (m exprMatcher) match(doc []byte, env *evalEnv) (bool, error) {
	sub := *env
	sub.root = doc
	v, err := m.e.eval(&sub)
	if err != nil {
		return false, err
	}
	return truthy(v), nil
}

// fieldMatcher applies value operators (all must hold) to the values of a dotted path.
type fieldMatcher struct {
	path []string
	ops  []valueOp
}

func (m *fieldMatcher) match(doc []byte, env *evalEnv) (bool, error) {
	for _, op := range m.ops {
		ok, err := op.test(func(fn func(bson.RawValue, bool) bool) { queryValues(doc, m.path, fn) }, env)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}
