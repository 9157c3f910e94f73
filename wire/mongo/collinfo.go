package mongo

import (
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
)

// collectionOptions is the options document listCollections shows: timeseries with its
// defaults filled in and expireAfterSeconds when set.
func collectionOptions(c *meta.Collection) bsoncore.Document {
	if c.Plain() {
		return bsoncore.NewDocumentBuilder().Build()
	}
	ts := bsoncore.NewDocumentBuilder().AppendString("timeField", c.TimeField)
	if c.MetaField != "" {
		ts.AppendString("metaField", c.MetaField)
	}
	if c.Granularity != "" {
		ts.AppendString("granularity", c.Granularity)
	} else {
		ts.AppendInt32("bucketRoundingSeconds", int32(c.BucketRoundingSeconds))
	}
	ts.AppendInt32("bucketMaxSpanSeconds", int32(c.BucketMaxSpanSeconds))
	b := bsoncore.NewDocumentBuilder().AppendDocument("timeseries", ts.Build())
	if c.HasTTL {
		b.AppendInt64("expireAfterSeconds", c.ExpireAfterSeconds)
	}
	return b.Build()
}

// collectionEntry is one listCollections entry.
func collectionEntry(c *meta.Collection) bsoncore.Document {
	typ := "timeseries"
	if c.Plain() {
		typ = "collection"
	}
	b := bsoncore.NewDocumentBuilder().
		AppendString("name", c.Name).
		AppendString("type", typ).
		AppendDocument("options", collectionOptions(c)).
		AppendDocument("info", bsoncore.NewDocumentBuilder().AppendBoolean("readOnly", false).Build())
	if c.Plain() {
		b.AppendDocument("idIndex", idIndexSpec())
	}
	return b.Build()
}

// idIndexSpec is the _id index of a plain collection as listIndexes shows it.
func idIndexSpec() bsoncore.Document {
	return bsoncore.NewDocumentBuilder().AppendInt32("v", 2).
		AppendDocument("key", bsoncore.NewDocumentBuilder().AppendInt32("_id", 1).Build()).
		AppendString("name", "_id_").Build()
}

// autoIndexName is the name of the index MongoDB creates on {metaField: 1, timeField: 1}, or of
// a plain collection's _id index.
func autoIndexName(c *meta.Collection) string {
	if c.Plain() {
		return "_id_"
	}
	return c.MetaField + "_1_" + c.TimeField + "_1"
}

// autoIndexKey is the key of the automatic index; nil without a metaField.
func autoIndexKey(c *meta.Collection) bsoncore.Document {
	if c.Plain() {
		return bsoncore.NewDocumentBuilder().AppendInt32("_id", 1).Build()
	}
	if c.MetaField == "" {
		return nil
	}
	return bsoncore.NewDocumentBuilder().AppendInt32(c.MetaField, 1).AppendInt32(c.TimeField, 1).Build()
}

// indexCount is how many indexes listIndexes shows.
func indexCount(c *meta.Collection) int {
	n := len(c.Indexes)
	if c.MetaField != "" || c.Plain() {
		n++
	}
	return n
}
