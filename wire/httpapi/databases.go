package httpapi

// DatabasesInfo answers GET /api/v1/databases: every database of every tenant with its
// collections, and what this node's vnodes hold of them.
type DatabasesInfo struct {
	Node      uint64         `json:"node"`
	Databases []DatabaseInfo `json:"databases"`
}

// DatabaseInfo is one database: its options, and the figures of its vnodes running on this node.
type DatabaseInfo struct {
	Tenant            string `json:"tenant"`
	Name              string `json:"name"`
	ReplicationFactor int    `json:"replicationFactor"`
	ShardCount        int    `json:"shardCount"`
	Consistency       string `json:"consistency"`
	// Vnodes, DiskBytes, CacheBytes and Series are those of the database's vnodes on this node.
	Vnodes      int              `json:"vnodes"`
	DiskBytes   int64            `json:"diskBytes"`
	CacheBytes  int64            `json:"cacheBytes"`
	Series      uint64           `json:"series"`
	Collections []CollectionInfo `json:"collections"`
}

// CollectionInfo is one collection of a database.
type CollectionInfo struct {
	Name string `json:"name"`
	// Type is "timeseries" or "collection" (a plain collection), as listCollections says.
	Type               string `json:"type"`
	TimeField          string `json:"timeField,omitempty"`
	MetaField          string `json:"metaField,omitempty"`
	ExpireAfterSeconds *int64 `json:"expireAfterSeconds,omitempty"`
	// Series (time series) counts the series in the database's vnodes on this node: a series with
	// points in two buckets counts twice.
	Series int `json:"series"`
	// Documents and Bytes (plain collections) are the collection's, from the replicated store.
	Documents int64 `json:"documents"`
	Bytes     int64 `json:"bytes"`
}
