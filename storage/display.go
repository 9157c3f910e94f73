package storage

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

var typeNames = map[FieldType]string{
	TypeDouble: "double", TypeString: "string", TypeDocument: "object", TypeArray: "array", TypeBinary: "binData",
	TypeObjectID: "objectId", TypeBool: "bool", TypeDateTime: "date", TypeNull: "null", TypeInt32: "int",
	TypeTimestamp: "timestamp", TypeInt64: "long", TypeDecimal128: "decimal",
}

// Name is the type's BSON name as MongoDB's $type spells it ("double", "long", ...), for tools.
func (t FieldType) Name() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("type%#02x", uint8(t))
}

// Display renders a tag value for people: strings as they are, numbers and booleans decoded, other
// types as name:hex.
func (a TagValue) Display() string {
	switch a.Type {
	case TypeString:
		return string(a.Raw)
	case TypeDouble:
		if f, err := DecodeTagFloat(a.Raw); err == nil {
			return strconv.FormatFloat(f, 'g', -1, 64)
		}
	case TypeInt32, TypeInt64:
		if v, err := DecodeTagInt(a.Raw); err == nil {
			return strconv.FormatInt(v, 10)
		}
	case TypeDateTime:
		if v, err := DecodeTagInt(a.Raw); err == nil {
			return time.UnixMilli(v).UTC().Format(time.RFC3339Nano)
		}
	case TypeBool:
		if len(a.Raw) == 1 {
			return strconv.FormatBool(a.Raw[0] != 0)
		}
	}
	return fmt.Sprintf("%s:%x", a.Type.Name(), a.Raw)
}

// lpEscaper escapes what line protocol escapes in tag keys and values.
var lpEscaper = strings.NewReplacer(",", `\,`, " ", `\ `, "=", `\=`)

// Display renders the key as line protocol writes one: table,tag=value,... (escaped as there).
func (k *SeriesKey) Display() string {
	var b strings.Builder
	b.WriteString(strings.NewReplacer(",", `\,`, " ", `\ `).Replace(k.Table))
	for _, t := range k.Tags {
		b.WriteByte(',')
		b.WriteString(lpEscaper.Replace(t.Key))
		b.WriteByte('=')
		b.WriteString(lpEscaper.Replace(t.Value.Display()))
	}
	return b.String()
}

// DisplayKey renders an encoded series key with Display, or says why it cannot.
func DisplayKey(key []byte) string {
	k, err := UnmarshalSeriesKey(key)
	if err != nil {
		return fmt.Sprintf("undecodable key %x (%v)", key, err)
	}
	return k.Display()
}
