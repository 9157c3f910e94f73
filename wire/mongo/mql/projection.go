package mql

import (
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Projection is a compiled find projection or $project specification. It is safe for
// concurrent use.
type Projection struct {
	root      *projNode
	inclusion bool
	empty     bool
	env       *exprEnv
}

type projNode struct {
	children map[string]*projNode
	order    []string
	include  bool
	exclude  bool
	expr     expr
}

func (n *projNode) child(k string) *projNode {
	if n.children == nil {
		n.children = map[string]*projNode{}
	}
	c := n.children[k]
	if c == nil {
		c = &projNode{}
		n.children[k] = c
		n.order = append(n.order, k)
	}
	return c
}

func (n *projNode) isLeaf() bool { return n.include || n.exclude || n.expr != nil }

// CompileProjection compiles a find projection: inclusion ({a: 1}) or exclusion ({a: 0}) of
// dotted paths, _id included unless excluded, computed fields ({a: "$b"}) in inclusion mode.
// Mixing inclusion and exclusion fails with code 31254 or 31253 like MongoDB.
func CompileProjection(p bson.Raw) (out *Projection, err error) {
	defer recoverErr(&err)
	return compileProjection(p, &exprEnv{})
}

func compileProjection(p bson.Raw, env *exprEnv) (*Projection, error) {
	out := &Projection{root: &projNode{}, env: env}
	if len(p) == 0 || len(p) == 5 {
		out.empty = true
		return out, nil
	}
	if err := validDoc("projection", p); err != nil {
		return nil, err
	}
	mode := 0 // 1 inclusion, -1 exclusion
	idSet := false
	var add func(prefix string, doc []byte) error
	add = func(prefix string, doc []byte) error {
		els, _ := elements(doc)
		for _, e := range els {
			path := prefix + e.key
			if e.key == "" || strings.HasPrefix(e.key, "$") {
				return errf(codeBadValue, "FieldPath field names may not start with '$'. Consider using $getField or $setField.")
			}
			var leaf projNode
			switch {
			case e.val.Type == bson.TypeBoolean || isNumber(e.val.Type):
				if truthy(e.val) {
					leaf.include = true
				} else {
					leaf.exclude = true
				}
			case e.val.Type == bson.TypeEmbeddedDocument && !isOperatorDoc(e.val):
				if len(e.val.Value) <= 5 {
					return errf(51270, "An empty sub-projection is not a valid value. Found empty object at path")
				}
				if err := add(path+".", e.val.Value); err != nil {
					return err
				}
				continue
			default:
				if e.val.Type == bson.TypeEmbeddedDocument {
					switch firstKey(e.val.Value) {
					case "$slice", "$elemMatch", "$meta":
						return errf(codeBadValue, "%s projection is not supported", firstKey(e.val.Value))
					}
				}
				x, err := compileExpr(e.val, env)
				if err != nil {
					return err
				}
				leaf.expr = x
			}
			if path == "_id" && leaf.expr == nil {
				idSet = true
			} else {
				want := 1
				if leaf.exclude {
					want = -1
				}
				if mode == 0 {
					mode = want
				} else if mode != want {
					if want == -1 {
						return errf(codeExclusionInInclusion, "Cannot do exclusion on field %s in inclusion projection", path)
					}
					return errf(codeInclusionInExclusion, "Cannot do inclusion on field %s in exclusion projection", path)
				}
			}
			if err := out.insert(path, leaf); err != nil {
				return err
			}
		}
		return nil
	}
	if err := add("", p); err != nil {
		return nil, err
	}
	out.inclusion = mode >= 0
	if mode == 0 && idSet && out.root.children["_id"].exclude {
		out.inclusion = false
	}
	if out.inclusion && !idSet {
		if _, ok := out.root.children["_id"]; !ok {
			out.root.child("_id").include = true
			// keep _id first
			out.root.order = append([]string{"_id"}, out.root.order[:len(out.root.order)-1]...)
		}
	}
	return out, nil
}

func (p *Projection) insert(path string, leaf projNode) error {
	parts := splitPath(path)
	n := p.root
	for i, part := range parts {
		if n.isLeaf() {
			return errf(codeProjectionPathCollision, "Path collision at %s remaining portion %s", path, strings.Join(parts[i:], "."))
		}
		n = n.child(part)
	}
	if n.isLeaf() || len(n.children) > 0 {
		return errf(codeProjectionPathCollision, "Path collision at %s", path)
	}
	*n = leaf
	return nil
}

// Apply returns the projected document. doc must be a valid BSON document.
func (p *Projection) Apply(doc bson.Raw) (out bson.Raw, err error) {
	if p == nil || p.empty {
		return doc, nil
	}
	defer recoverErr(&err)
	return p.apply(doc, &evalEnv{root: doc, static: p.env})
}

func (p *Projection) apply(doc []byte, env *evalEnv) ([]byte, error) {
	if p.empty {
		return doc, nil
	}
	if p.inclusion {
		v, err := includeDoc(doc, p.root, env)
		return v, err
	}
	return excludeDoc(doc, p.root), nil
}

func includeDoc(doc []byte, n *projNode, env *evalEnv) ([]byte, error) {
	b := newBuilder(len(doc))
	seen := map[string]bool{}
	var ferr error
	_ = forEach(doc, func(k []byte, v bson.RawValue) bool {
		c := n.children[string(k)]
		if c == nil || c.expr != nil {
			return true
		}
		seen[string(k)] = true
		switch {
		case c.include:
			b.add(string(k), v)
		case v.Type == bson.TypeEmbeddedDocument:
			sub, err := includeDoc(v.Value, c, env)
			if err != nil {
				ferr = err
				return false
			}
			b.add(string(k), vDoc(sub))
		case v.Type == bson.TypeArray:
			arr, err := includeArray(v.Value, c, env)
			if err != nil {
				ferr = err
				return false
			}
			b.add(string(k), arr)
		}
		return true
	})
	if ferr != nil {
		return nil, ferr
	}
	for _, k := range n.order {
		c := n.children[k]
		switch {
		case c.expr != nil:
			v, err := c.expr.eval(env)
			if err != nil {
				return nil, err
			}
			b.add(k, v)
		case !seen[k] && !c.include && hasComputed(c):
			sub, err := includeDoc(emptyDoc, c, env)
			if err != nil {
				return nil, err
			}
			b.add(k, vDoc(sub))
		}
	}
	return b.finish(), nil
}

func hasComputed(n *projNode) bool {
	if n.expr != nil {
		return true
	}
	for _, c := range n.children {
		if hasComputed(c) {
			return true
		}
	}
	return false
}

func includeArray(arr []byte, n *projNode, env *evalEnv) (bson.RawValue, error) {
	b := newBuilder(len(arr))
	for _, e := range values(arr) {
		switch e.Type {
		case bson.TypeEmbeddedDocument:
			sub, err := includeDoc(e.Value, n, env)
			if err != nil {
				return missing, err
			}
			b.push(vDoc(sub))
		case bson.TypeArray:
			sub, err := includeArray(e.Value, n, env)
			if err != nil {
				return missing, err
			}
			b.push(sub)
		}
	}
	return b.array(), nil
}

func excludeDoc(doc []byte, n *projNode) []byte {
	b := newBuilder(len(doc))
	_ = forEach(doc, func(k []byte, v bson.RawValue) bool {
		c := n.children[string(k)]
		switch {
		case c == nil || c.include:
			b.add(string(k), v)
		case c.exclude:
		case v.Type == bson.TypeEmbeddedDocument:
			b.add(string(k), vDoc(excludeDoc(v.Value, c)))
		case v.Type == bson.TypeArray:
			b.add(string(k), excludeArray(v.Value, c))
		default:
			b.add(string(k), v)
		}
		return true
	})
	return b.finish()
}

func excludeArray(arr []byte, n *projNode) bson.RawValue {
	b := newBuilder(len(arr))
	for _, e := range values(arr) {
		switch e.Type {
		case bson.TypeEmbeddedDocument:
			b.push(vDoc(excludeDoc(e.Value, n)))
		case bson.TypeArray:
			b.push(excludeArray(e.Value, n))
		default:
			b.push(e)
		}
	}
	return b.array()
}
