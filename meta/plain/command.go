package plain

import (
	"crypto/rand"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// commandVersion is the first byte of every proposed command; the rest is the Command as BSON.
const commandVersion byte = 1

// OpID identifies one proposal: a retried proposal (the meta client proposes at least once)
// recognises the documents it wrote itself.
type OpID [16]byte

// NewOpID returns a random op id.
func NewOpID() OpID {
	var id OpID
	_, _ = rand.Read(id[:])
	return id
}

// Op is a command's operation.
type Op string

const (
	OpWrite          Op = "write"          // Items in order
	OpDropCollection Op = "dropCollection" // every document of NS
	OpDropDatabase   Op = "dropDatabase"   // every collection of NS.Tenant, NS.DB
	OpCreateIndexes  Op = "createIndexes"  // build Indexes over NS (all or none)
	OpDropIndexes    Op = "dropIndexes"    // remove the indexes Names of NS
	OpReplaceFrom    Op = "replaceFrom"    // NS takes the documents of collection From, which goes
)

// Mode is what a write item does.
type Mode string

const (
	ModeInsert  Mode = "insert"  // put Doc under Key; StatusExists if the key is taken
	ModeReplace Mode = "replace" // replace the document at Key whose revision is Rev (0: any)
	ModeUpsert  Mode = "upsert"  // put Doc under Key, replacing any document there
	ModeDelete  Mode = "delete"  // remove the document at Key whose revision is Rev (0: any)
)

// Item is one document write.
type Item struct {
	Mode Mode     `bson:"mode"`
	Key  []byte   `bson:"key"` // the document's key: the client's canonical encoding of its _id
	Doc  bson.Raw `bson:"doc,omitempty"`
	Rev  uint64   `bson:"rev,omitempty"`
}

// Command is a proposal to the plain-collections shard.
type Command struct {
	Op      Op     `bson:"op"`
	OpID    []byte `bson:"opId"`
	NS      NS     `bson:"ns"`
	Items   []Item `bson:"items,omitempty"`
	Ordered bool   `bson:"ordered,omitempty"` // stop at the first item that is not StatusOK

	Indexes []IndexSpec `bson:"indexes,omitempty"` // createIndexes
	Names   []string    `bson:"names,omitempty"`   // dropIndexes
	From    string      `bson:"from,omitempty"`    // replaceFrom: a collection of NS's database
}

// Status is the outcome of one item.
type Status int

const (
	StatusOK       Status = 0
	StatusExists   Status = 1 // insert: the key holds a document
	StatusMissing  Status = 2 // replace, delete: no document at the key
	StatusConflict Status = 3 // replace, delete: the document has another revision
	StatusFull     Status = 4 // the collection is at its limit of documents or bytes
	StatusSkipped  Status = 5 // not tried: an earlier item of an ordered command failed
	StatusDupKey   Status = 6 // a unique secondary index already holds the key (see Problems)
	StatusBadKey   Status = 7 // the document cannot be indexed, e.g. parallel arrays (see Problems)
)

// Result code of a command (the Value of dragonboat's Result).
const (
	CodeOK      uint64 = 0
	CodeInvalid uint64 = 1 // the command could not be decoded or is malformed
	CodeIndex   uint64 = 2 // createIndexes failed: a clash, a duplicate key or a bad document (see Problems)
)

// Problem explains an item's StatusDupKey or StatusBadKey, or a failed createIndexes (Item is
// then the position of the index in Indexes).
type Problem struct {
	Item       int      `bson:"item"`
	Index      string   `bson:"index"`
	KeyPattern bson.Raw `bson:"keyPattern,omitempty"`
	KeyValue   bson.Raw `bson:"keyValue,omitempty"` // duplicate keys: the key as {field: value}
	Message    string   `bson:"message,omitempty"`
}

// Result is the outcome of a command.
type Result struct {
	Code     uint64    `bson:"code"`
	Message  string    `bson:"message,omitempty"`
	Statuses []Status  `bson:"statuses,omitempty"` // per item
	Revs     []uint64  `bson:"revs,omitempty"`     // per item: the revision written (0 if none)
	Removed  int64     `bson:"removed,omitempty"`  // drops: documents (dropIndexes: indexes) removed
	Problems []Problem `bson:"problems,omitempty"`
	Built    int       `bson:"built,omitempty"` // createIndexes: indexes built (others existed)
}

// EncodeCommand frames a command for a proposal.
func EncodeCommand(c Command) ([]byte, error) {
	body, err := bson.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encoding plain command: %w", err)
	}
	return append([]byte{commandVersion}, body...), nil
}

// DecodeCommand decodes and checks a proposed command.
func DecodeCommand(b []byte) (Command, error) {
	var c Command
	if len(b) == 0 || b[0] != commandVersion {
		return c, errors.New("decoding plain command: bad version byte")
	}
	if err := bson.Unmarshal(b[1:], &c); err != nil {
		return c, fmt.Errorf("decoding plain command: %w", err)
	}
	return c, c.validate()
}

func (c *Command) validate() error {
	if len(c.OpID) != len(OpID{}) {
		return fmt.Errorf("plain command: op id of %d bytes", len(c.OpID))
	}
	switch c.Op {
	case OpWrite:
		for i, it := range c.Items {
			if len(it.Key) == 0 {
				return fmt.Errorf("plain command: item %d has no key", i)
			}
			switch it.Mode {
			case ModeInsert, ModeReplace, ModeUpsert:
				if len(it.Doc) < 5 {
					return fmt.Errorf("plain command: item %d has no document", i)
				}
				if err := it.Doc.Validate(); err != nil {
					return fmt.Errorf("plain command: item %d: %w", i, err)
				}
			case ModeDelete:
			default:
				return fmt.Errorf("plain command: item %d has mode %q", i, it.Mode)
			}
		}
	case OpCreateIndexes:
		if len(c.Indexes) == 0 {
			return errors.New("plain command: createIndexes without indexes")
		}
		for _, s := range c.Indexes {
			if err := s.Key.Validate(); err != nil {
				return fmt.Errorf("plain command: index %s: %w", s.Name, err)
			}
			if _, err := fieldsOf(s); err != nil {
				return fmt.Errorf("plain command: %w", err)
			}
		}
	case OpReplaceFrom:
		if c.From == "" || c.From == c.NS.Coll {
			return errors.New("plain command: replaceFrom needs another collection")
		}
	case OpDropCollection, OpDropDatabase, OpDropIndexes:
	default:
		return fmt.Errorf("plain command: unknown op %q", c.Op)
	}
	return nil
}

// EncodeResult and DecodeResult frame a command's result (the Data of dragonboat's Result).
func EncodeResult(r Result) []byte {
	b, err := bson.Marshal(r)
	if err != nil { // a Result always marshals
		panic(err)
	}
	return b
}

// DecodeResult decodes the Data of dragonboat's Result.
func DecodeResult(b []byte) (Result, error) {
	var r Result
	if err := bson.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("decoding plain result: %w", err)
	}
	return r, nil
}

// ProblemOf returns the problem reported for item i, or nil.
func (r *Result) ProblemOf(i int) *Problem {
	for k := range r.Problems {
		if r.Problems[k].Item == i {
			return &r.Problems[k]
		}
	}
	return nil
}
