package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// emptyDocRaw is the BSON encoding of {}: the tag value of an empty sub-document.
var emptyDocRaw = []byte{5, 0, 0, 0, 0}

// TagUpdate changes the tags of series keys: MongoDB's update of a time-series collection's meta
// field, on the flattened form (tag keys are dotted paths starting with the meta field's name; an
// empty sub-document is a leaf whose value is {}). Ops apply in order.
type TagUpdate struct {
	Ops []TagOp
}

// TagOp sets or removes the value at Path: the meta field's name or a dotted path below it.
type TagOp struct {
	Path string
	// Unset removes the value at Path and everything below it. A parent sub-document left empty
	// stays as {} (as in MongoDB); unsetting a path that does not exist changes nothing.
	Unset bool
	// Tags is the flattened new value of a set: keys equal to Path or below it.
	Tags []Tag
}

// PathConflictError is returned when a set needs a sub-document where a scalar value lives: the
// update would create a field inside a non-document (MongoDB's code 28, PathNotViable).
type PathConflictError struct {
	Path     string   // the path being set
	Ancestor string   // the path of the scalar in the way
	Value    TagValue // its value
}

func (e *PathConflictError) Error() string {
	next := strings.TrimPrefix(e.Path, e.Ancestor+".")
	if i := strings.IndexByte(next, '.'); i >= 0 {
		next = next[:i]
	}
	return fmt.Sprintf("Cannot create field '%s' in element {%s: %s}", next, e.Ancestor[strings.LastIndexByte(e.Ancestor, '.')+1:], scalarText(e.Value))
}

// scalarText writes a scalar tag value as MongoDB's messages do: strings quoted, numbers and
// booleans as literals (other types in TagValue's own form).
func scalarText(v TagValue) string {
	switch v.Type {
	case TypeString:
		return strconv.Quote(string(v.Raw))
	case TypeInt32, TypeInt64:
		if n, err := DecodeTagInt(v.Raw); err == nil {
			return strconv.FormatInt(n, 10)
		}
	case TypeDouble:
		if f, err := DecodeTagFloat(v.Raw); err == nil {
			return strconv.FormatFloat(f, 'g', -1, 64)
		}
	case TypeBool:
		return strconv.FormatBool(len(v.Raw) == 1 && v.Raw[0] == 1)
	case TypeNull:
		return "null"
	}
	return v.String()
}

// Apply returns k with the update applied (tags normalized) and whether the tags changed.
func (u *TagUpdate) Apply(k SeriesKey) (SeriesKey, bool, error) {
	tags := slices.Clone(k.Tags)
	for _, op := range u.Ops {
		var err error
		if tags, err = op.apply(tags); err != nil {
			return k, false, err
		}
	}
	if len(tags) == 0 {
		tags = nil
	}
	out := SeriesKey{Table: k.Table, Tags: tags}
	if err := out.Normalize(); err != nil {
		return k, false, fmt.Errorf("tag update: %w", err)
	}
	return out, !sameTags(k.Tags, out.Tags), nil
}

func sameTags(a, b []Tag) bool {
	return slices.EqualFunc(a, b, func(x, y Tag) bool { return x.Key == y.Key && x.Value.Compare(y.Value) == 0 })
}

// under reports whether key is path or below it.
func under(key, path string) bool {
	return key == path || (len(key) > len(path) && key[len(path)] == '.' && strings.HasPrefix(key, path))
}

func (op TagOp) apply(tags []Tag) ([]Tag, error) {
	if !op.Unset {
		// every proper ancestor must be absent, a document, or {} (which the set fills)
		for i := strings.IndexByte(op.Path, '.'); i >= 0; {
			anc := op.Path[:i]
			if j := slices.IndexFunc(tags, func(t Tag) bool { return t.Key == anc }); j >= 0 {
				if tags[j].Value.Type != TypeDocument {
					return tags, &PathConflictError{Path: op.Path, Ancestor: anc, Value: tags[j].Value}
				}
				tags = slices.Delete(tags, j, j+1)
			}
			next := strings.IndexByte(op.Path[i+1:], '.')
			if next < 0 {
				break
			}
			i += 1 + next
		}
	}
	removed := false
	tags = slices.DeleteFunc(tags, func(t Tag) bool {
		if under(t.Key, op.Path) {
			removed = true
			return true
		}
		return false
	})
	if !op.Unset {
		return append(tags, op.Tags...), nil
	}
	if i := strings.LastIndexByte(op.Path, '.'); removed && i >= 0 {
		parent := op.Path[:i]
		if !slices.ContainsFunc(tags, func(t Tag) bool { return under(t.Key, parent) }) {
			tags = append(tags, Tag{Key: parent, Value: TagValue{Type: TypeDocument, Raw: emptyDocRaw}})
		}
	}
	return tags, nil
}

// Limits of a decoded TagUpdate.
const (
	maxTagUpdateOps  = 1024
	maxTagUpdateTags = 1 << 16
)

// tagUpdateVersion is the first byte of the encoding.
const tagUpdateVersion = 1

// Marshal appends the encoding of u (it travels between nodes; it is not stored on disk):
//
//	version(1)=1 uvarint(nops) { flags(1: bit 0 = unset) uvarint(len(path)) path
//	  uvarint(ntags) { uvarint(len(key)) key type(1) uvarint(len(raw)) raw } }
func (u *TagUpdate) Marshal(dst []byte) []byte {
	dst = append(dst, tagUpdateVersion)
	dst = binary.AppendUvarint(dst, uint64(len(u.Ops)))
	for _, op := range u.Ops {
		var flags byte
		if op.Unset {
			flags = 1
		}
		dst = append(dst, flags)
		dst = appendString(dst, op.Path)
		dst = binary.AppendUvarint(dst, uint64(len(op.Tags)))
		for _, t := range op.Tags {
			dst = appendTag(dst, t)
		}
	}
	return dst
}

// UnmarshalTagUpdate decodes an encoding made by Marshal. Tag Raw slices alias src.
func UnmarshalTagUpdate(src []byte) (*TagUpdate, error) {
	if len(src) == 0 || src[0] != tagUpdateVersion {
		return nil, errors.New("tag update: missing or unknown version")
	}
	src = src[1:]
	n, m := readUvarint(src)
	if m <= 0 || n > maxTagUpdateOps || n > uint64(len(src)) {
		return nil, fmt.Errorf("tag update: bad op count")
	}
	src = src[m:]
	u := &TagUpdate{Ops: make([]TagOp, 0, n)}
	total := 0
	for i := uint64(0); i < n; i++ {
		if len(src) < 1 || src[0] > 1 {
			return nil, fmt.Errorf("tag update op %d: bad flags", i)
		}
		op := TagOp{Unset: src[0] == 1}
		path, rest, err := readBytes(src[1:])
		if err != nil || len(path) == 0 {
			return nil, fmt.Errorf("tag update op %d: bad path", i)
		}
		op.Path = string(path)
		nt, m := readUvarint(rest)
		if m <= 0 || nt > uint64(len(rest)) || total+int(nt) > maxTagUpdateTags {
			return nil, fmt.Errorf("tag update op %d: bad tag count", i)
		}
		total += int(nt)
		rest = rest[m:]
		for j := uint64(0); j < nt; j++ {
			t, r2, err := readTag(rest)
			if err != nil {
				return nil, fmt.Errorf("tag update op %d tag %d: %w", i, j, err)
			}
			if !under(t.Key, op.Path) {
				return nil, fmt.Errorf("tag update op %d: tag %q is not at or below %q", i, t.Key, op.Path)
			}
			op.Tags = append(op.Tags, t)
			rest = r2
		}
		if op.Unset && len(op.Tags) > 0 {
			return nil, fmt.Errorf("tag update op %d: an unset carries no tags", i)
		}
		u.Ops = append(u.Ops, op)
		src = rest
	}
	if len(src) != 0 {
		return nil, fmt.Errorf("tag update: %d trailing bytes", len(src))
	}
	return u, nil
}
