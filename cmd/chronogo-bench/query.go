package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// benchQuery is one of the three benchmark queries.
type benchQuery struct {
	name, title string
	pipeline    bson.A
	check       func(rows []bson.Raw) error
}

// queries builds the three pipelines over data starting at t0 (the shapes are fixed: the server
// pushes exactly these down to storage).
func queries(info dataInfo, e *expected) []benchQuery {
	t0 := info.First
	q1 := bson.A{
		bson.D{{Key: "$match", Value: bson.D{
			{Key: "tags.hostname", Value: "host_0"},
			{Key: "time", Value: bson.D{{Key: "$gte", Value: t0}, {Key: "$lt", Value: t0.Add(time.Hour)}}}}}},
		bson.D{{Key: "$group", Value: bson.D{
			{Key: "_id", Value: bson.D{{Key: "$dateTrunc", Value: bson.D{{Key: "date", Value: "$time"}, {Key: "unit", Value: "minute"}}}}},
			{Key: "max_usage_user", Value: bson.D{{Key: "$max", Value: "$usage_user"}}}}}},
		bson.D{{Key: "$sort", Value: bson.D{{Key: "_id", Value: 1}}}},
	}
	q2group := bson.D{{Key: "_id", Value: bson.D{
		{Key: "hostname", Value: "$tags.hostname"},
		{Key: "hour", Value: bson.D{{Key: "$dateTrunc", Value: bson.D{{Key: "date", Value: "$time"}, {Key: "unit", Value: "hour"}}}}}}}}
	for _, f := range cpuFields {
		q2group = append(q2group, bson.E{Key: "avg_" + f, Value: bson.D{{Key: "$avg", Value: "$" + f}}})
	}
	q2 := bson.A{
		bson.D{{Key: "$match", Value: bson.D{
			{Key: "time", Value: bson.D{{Key: "$gte", Value: t0}, {Key: "$lt", Value: t0.Add(12 * time.Hour)}}}}}},
		bson.D{{Key: "$group", Value: q2group}},
		bson.D{{Key: "$sort", Value: bson.D{{Key: "_id.hostname", Value: 1}, {Key: "_id.hour", Value: 1}}}},
	}
	q3group := bson.D{{Key: "_id", Value: "$tags.hostname"}, {Key: "time", Value: bson.D{{Key: "$first", Value: "$time"}}}}
	for _, f := range cpuFields {
		q3group = append(q3group, bson.E{Key: f, Value: bson.D{{Key: "$first", Value: "$" + f}}})
	}
	q3 := bson.A{
		bson.D{{Key: "$sort", Value: bson.D{{Key: "tags.hostname", Value: 1}, {Key: "time", Value: -1}}}},
		bson.D{{Key: "$group", Value: q3group}},
	}
	return []benchQuery{
		{name: "q1", title: "max(usage_user) per minute, 1 host, 1 h", pipeline: q1,
			check: func(rows []bson.Raw) error { return checkQ1(rows, info, e) }},
		{name: "q2", title: "avg of 10 fields per host per hour, all hosts, 12 h", pipeline: q2,
			check: func(rows []bson.Raw) error { return checkQ2(rows, info, e) }},
		{name: "q3", title: "last point of every host", pipeline: q3,
			check: func(rows []bson.Raw) error { return checkQ3(rows, info, e) }},
	}
}

func queryCommand() *cobra.Command {
	var uri, db, coll, file, jsonOut, only string
	var runs int
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "query",
		Short: "Time the three benchmark queries (median of --runs after one warm-up) and check their results",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runQueries(cmd.Context(), uri, db, coll, file, only, runs, timeout, jsonOut)
		},
	}
	f := cmd.Flags()
	f.StringVar(&uri, "uri", "mongodb://127.0.0.1:27017", "MongoDB URI of the server")
	f.StringVar(&db, "db", "bench", "database")
	f.StringVar(&coll, "coll", "cpu", "collection")
	f.StringVar(&file, "file", "", "the data file that was loaded (for the first timestamp, the host count and the expected results)")
	f.StringVar(&only, "only", "", "run only this query (q1, q2 or q3)")
	f.IntVar(&runs, "runs", 9, "timed runs per query, after one warm-up")
	f.DurationVar(&timeout, "timeout", 10*time.Minute, "timeout of one query")
	f.StringVar(&jsonOut, "json", "", "write the results as JSON to this file")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

func runQueries(ctx context.Context, uri, dbName, coll, file, only string, runs int, timeout time.Duration, jsonOut string) error {
	if runs < 1 {
		return fmt.Errorf("--runs must be at least 1")
	}
	info, err := readDataInfo(file)
	if err != nil {
		return err
	}
	e, err := readExpected(file, info)
	if err != nil {
		return err
	}
	client, err := connect(ctx, uri, timeout, 1)
	if err != nil {
		return err
	}
	defer func() { _ = client.Disconnect(context.Background()) }()
	c := client.Database(dbName).Collection(coll)
	var out results
	for _, q := range queries(info, e) {
		if only != "" && q.name != only {
			continue
		}
		r := queryResult{Name: q.name, Title: q.title, Hosts: info.Hosts}
		rows, _, err := timeQuery(ctx, c, q.pipeline) // warm-up, and the result to check
		if err != nil {
			return fmt.Errorf("%s: %w", q.name, err)
		}
		r.Rows = len(rows)
		if err := q.check(rows); err != nil {
			r.Check = err.Error()
		}
		lat0, ops0 := readLatency(ctx, client)
		for range runs {
			_, d, err := timeQuery(ctx, c, q.pipeline)
			if err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			r.RunsMS = append(r.RunsMS, float64(d.Microseconds())/1000)
		}
		if lat1, ops1 := readLatency(ctx, client); ops1 > ops0 && runs > 0 {
			r.ServerMS = float64(lat1-lat0) / float64(runs) / 1000
		}
		r.MedianMS = median(r.RunsMS)
		check := "result ok"
		if r.Check != "" {
			check = "WRONG RESULT: " + r.Check
		}
		fmt.Printf("%s %-52s median %10.2f ms of %d runs (min %.2f, max %.2f; server %.2f ms), %d rows, %s\n", q.name, q.title, r.MedianMS, runs,
			slices.Min(r.RunsMS), slices.Max(r.RunsMS), r.ServerMS, r.Rows, check)
		out.Queries = append(out.Queries, r)
	}
	return writeResults(jsonOut, out)
}

// timeQuery runs an aggregation and reads every row.
func timeQuery(ctx context.Context, c *mongo.Collection, pipeline bson.A) ([]bson.Raw, time.Duration, error) {
	start := time.Now()
	cur, err := c.Aggregate(ctx, pipeline)
	if err != nil {
		return nil, 0, fmt.Errorf("aggregate: %w", err)
	}
	defer cur.Close(context.Background())
	var rows []bson.Raw
	for cur.Next(ctx) {
		rows = append(rows, append(bson.Raw(nil), cur.Current...)) // Current is only valid until Next
	}
	if err := cur.Err(); err != nil {
		return nil, 0, fmt.Errorf("reading cursor: %w", err)
	}
	return rows, time.Since(start), nil
}

// readLatency is the server's total read latency (µs) and read operations from
// serverStatus.opLatencies (zeros when it has none).
func readLatency(ctx context.Context, client *mongo.Client) (micros, ops int64) {
	raw, err := client.Database("admin").RunCommand(ctx, bson.D{{Key: "serverStatus", Value: 1}}).Raw()
	if err != nil {
		return 0, 0
	}
	reads, err := raw.LookupErr("opLatencies", "reads")
	if err != nil {
		return 0, 0
	}
	doc, ok := reads.DocumentOK()
	if !ok {
		return 0, 0
	}
	l, _ := doc.Lookup("latency").AsInt64OK()
	n, _ := doc.Lookup("ops").AsInt64OK()
	return l, n
}
