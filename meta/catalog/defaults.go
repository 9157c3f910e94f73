package catalog

import (
	"fmt"
	"time"

	"github.com/chronogo/chronogo/meta/model"
)

// Defaults of a database created without options or implicitly by CreateCollection.
const (
	// DefaultReplicationFactor is one replica per replica set.
	DefaultReplicationFactor = 1
	// DefaultShardCount is one replica set per bucket.
	DefaultShardCount = 1
	// DefaultBucketDuration is the bucket length for seconds and minutes granularity (and for
	// custom bucketing with spans up to a day).
	DefaultBucketDuration = int64(24 * time.Hour)
	// CoarseBucketDuration is the bucket length for hours granularity (and custom spans above a day).
	CoarseBucketDuration = int64(7 * 24 * time.Hour)
)

// Granularities and the bucketMaxSpanSeconds MongoDB derives from each.
var granularitySpan = map[string]int64{
	"seconds": 3600,
	"minutes": 86400,
	"hours":   2592000,
}

// granularityRank orders granularities; collMod may only raise it.
var granularityRank = map[string]int{"seconds": 1, "minutes": 2, "hours": 3}

// validConsistency lists the accepted write consistency levels.
var validConsistency = map[string]bool{"any": true, "one": true, "quorum": true, "all": true}

// BucketDurationFor returns the bucket duration of a database created implicitly for a collection.
func BucketDurationFor(c *model.Collection) int64 {
	if c.Granularity == "hours" || (c.Granularity == "" && c.BucketMaxSpanSeconds > 86400) {
		return CoarseBucketDuration
	}
	return DefaultBucketDuration
}

// defaultConsistency is quorum, or one when there is a single replica.
func defaultConsistency(rf int) string {
	if rf == 1 {
		return "one"
	}
	return "quorum"
}

// normalizeDatabase fills zero options with defaults and validates the result.
func normalizeDatabase(d *model.Database) error {
	d.CreatedAt = 0 // the catalog's record holds it, not the options
	if d.Name == "" {
		return fmt.Errorf("database name is empty")
	}
	if d.ReplicationFactor == 0 {
		d.ReplicationFactor = DefaultReplicationFactor
	}
	if d.ShardCount == 0 {
		d.ShardCount = DefaultShardCount
	}
	if d.BucketDuration == 0 {
		d.BucketDuration = DefaultBucketDuration
	}
	if d.Consistency == "" {
		d.Consistency = defaultConsistency(d.ReplicationFactor)
	}
	switch {
	case d.ReplicationFactor < 0:
		return fmt.Errorf("replication factor %d; want >= 1", d.ReplicationFactor)
	case d.ShardCount < 0:
		return fmt.Errorf("shard count %d; want >= 1", d.ShardCount)
	case d.BucketDuration < 0:
		return fmt.Errorf("bucket duration %d; want > 0", d.BucketDuration)
	case d.TTL < 0:
		return fmt.Errorf("ttl %d; want >= 0", d.TTL)
	case !validConsistency[d.Consistency]:
		return fmt.Errorf("consistency %q; want any, one, quorum or all", d.Consistency)
	}
	return nil
}

// normalizeCollection fills the span implied by the granularity and validates the options.
func normalizeCollection(c *model.Collection) error {
	if c.Name == "" {
		return fmt.Errorf("collection name is empty")
	}
	if c.TimeField == "" { // a plain collection: none of the time-series options
		if c.MetaField != "" || c.Granularity != "" || c.BucketMaxSpanSeconds != 0 || c.BucketRoundingSeconds != 0 || c.HasTTL {
			return fmt.Errorf("time-series options without a timeField")
		}
		return nil
	}
	if c.TimeField == c.MetaField {
		return fmt.Errorf("timeField and metaField are both %q", c.TimeField)
	}
	if c.Granularity != "" {
		span, ok := granularitySpan[c.Granularity]
		if !ok {
			return fmt.Errorf("granularity %q; want seconds, minutes or hours", c.Granularity)
		}
		if c.BucketRoundingSeconds != 0 {
			return fmt.Errorf("bucketRoundingSeconds is not allowed with granularity")
		}
		if c.BucketMaxSpanSeconds == 0 {
			c.BucketMaxSpanSeconds = span
		}
	}
	switch {
	case c.BucketMaxSpanSeconds < 0:
		return fmt.Errorf("bucketMaxSpanSeconds %d; want > 0", c.BucketMaxSpanSeconds)
	case c.BucketRoundingSeconds < 0:
		return fmt.Errorf("bucketRoundingSeconds %d; want >= 0", c.BucketRoundingSeconds)
	case c.HasTTL && c.ExpireAfterSeconds < 0:
		return fmt.Errorf("expireAfterSeconds %d; want >= 0", c.ExpireAfterSeconds)
	}
	if !c.HasTTL {
		c.ExpireAfterSeconds = 0
	}
	return nil
}

// sameOptions reports whether two collections were created with the same time-series options
// (indexes and creation time do not count).
func sameOptions(a, b *model.Collection) bool {
	return a.TimeField == b.TimeField && a.MetaField == b.MetaField && a.Granularity == b.Granularity &&
		a.BucketMaxSpanSeconds == b.BucketMaxSpanSeconds && a.BucketRoundingSeconds == b.BucketRoundingSeconds &&
		a.HasTTL == b.HasTTL && a.ExpireAfterSeconds == b.ExpireAfterSeconds
}
