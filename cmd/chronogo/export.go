package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// exportFlags are export's options.
type exportFlags struct {
	uri, addr, user, password, db, format, out, from, to, query string
	colls                                                       []string
	gzip, quiet                                                 bool
}

// exportCommand writes collections of a running server to a file (EXPORT.md).
func exportCommand() *cobra.Command {
	var f exportFlags
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write a database's collections to a file: MongoDB Extended JSON (every BSON type) or line protocol",
		Long: "Reads through the MongoDB wire of a running node (--addr, its HTTP address, which names its MongoDB\n" +
			"address; or --uri) and writes one stream: for json, a header line\n" +
			"per collection (its options and indexes) then its documents as canonical Extended JSON, one per line;\n" +
			"for lp, InfluxDB line protocol of the time-series collections (values line protocol cannot hold are\n" +
			"counted and skipped). --from/--to bound the time field, --query filters as a find does. The format is in\n" +
			"cmd/chronogo/EXPORT.md; chronogo import reads it back.",
		Example: "  chronogo export --db app --out app.json\n" +
			"  chronogo export --db metrics --collection cpu --format lp --from 2024-06-01T00:00:00Z --gzip --out cpu.lp.gz\n" +
			"  chronogo export --db app --collection readings --query '{\"tags.host\": \"a\"}' --out -\n" +
			"  chronogo export --addr 10.0.0.5:8080 --user admin --password secret --db app --out app.json",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			uri, err := mongoTarget(c, f.uri, f.addr, f.user, f.password)
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			f.uri = uri
			if err := runExport(c.Context(), f, c.OutOrStdout(), c.ErrOrStderr()); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8080", "the node's HTTP address (host:port, or https://host:port)")
	fl.StringVar(&f.user, "user", "", "with --auth: a user of admin (for the HTTP and MongoDB connections)")
	fl.StringVar(&f.password, "password", "", "with --auth: its password")
	fl.StringVar(&f.uri, "uri", "", "a MongoDB connection string instead of --addr (user and password in it with --auth)")
	fl.StringVar(&f.db, "db", "", "the database (required)")
	fl.StringSliceVar(&f.colls, "collection", nil, "collections to export (repeatable; default: every collection)")
	fl.StringVar(&f.format, "format", "json", "json (Extended JSON, every type) or lp (line protocol, time series only)")
	fl.StringVar(&f.out, "out", "", "the file to write, - for stdout (required)")
	fl.StringVar(&f.from, "from", "", "only measurements at or after this time (RFC 3339)")
	fl.StringVar(&f.to, "to", "", "only measurements before this time (RFC 3339)")
	fl.StringVar(&f.query, "query", "", "a find filter in Extended JSON, e.g. '{\"tags.host\": \"a\"}'")
	fl.BoolVar(&f.gzip, "gzip", false, "gzip the output (also when --out ends in .gz)")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress bar")
	_ = cmd.MarkFlagRequired("db")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

// exportHeader is the first line of a collection in a json export.
type exportHeader struct {
	Version    int        `bson:"version"`
	DB         string     `bson:"db"`
	Collection string     `bson:"collection"`
	Options    bson.Raw   `bson:"options"`
	Indexes    []bson.Raw `bson:"indexes,omitempty"`
}

// exportHeaderKey marks a header line.
const exportHeaderKey = "$chronogoExport"

// collInfo is a collection to export.
type collInfo struct {
	name                 string
	options              bson.Raw
	timeField, metaField string
}

func runExport(ctx context.Context, f exportFlags, stdout, stderr io.Writer) error {
	if f.format != "json" && f.format != "lp" {
		return fmt.Errorf("--format %q: want json or lp", f.format)
	}
	filter := bson.D{}
	if f.query != "" {
		var q bson.D
		if err := bson.UnmarshalExtJSON([]byte(f.query), false, &q); err != nil {
			return fmt.Errorf("--query: %w", err)
		}
		filter = q
	}
	var from, to time.Time
	var err error
	if f.from != "" {
		if from, err = time.Parse(time.RFC3339Nano, f.from); err != nil {
			return fmt.Errorf("--from: %w", err)
		}
	}
	if f.to != "" {
		if to, err = time.Parse(time.RFC3339Nano, f.to); err != nil {
			return fmt.Errorf("--to: %w", err)
		}
	}
	client, err := mongo.Connect(options.Client().ApplyURI(f.uri).SetServerSelectionTimeout(10 * time.Second))
	if err != nil {
		return fmt.Errorf("connect %s: %w", f.uri, err)
	}
	defer func() { _ = client.Disconnect(context.Background()) }()
	db := client.Database(f.db)
	colls, err := exportCollections(ctx, db, f.colls)
	if err != nil {
		return err
	}
	var w io.Writer = stdout
	if f.out != "-" {
		file, err := os.Create(f.out)
		if err != nil {
			return err
		}
		defer file.Close()
		w = file
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	out := io.Writer(bw)
	var gz *gzip.Writer
	if f.gzip || strings.HasSuffix(f.out, ".gz") {
		gz = gzip.NewWriter(bw)
		out = gz
	}
	var docs, skipped int64
	for _, c := range colls {
		if f.format == "lp" && c.timeField == "" {
			fmt.Fprintf(stderr, "skipping %s: line protocol holds time series only\n", c.name)
			continue
		}
		cf := filter
		if c.timeField != "" && (!from.IsZero() || !to.IsZero()) {
			rng := bson.D{}
			if !from.IsZero() {
				rng = append(rng, bson.E{Key: "$gte", Value: from})
			}
			if !to.IsZero() {
				rng = append(rng, bson.E{Key: "$lt", Value: to})
			}
			cf = bson.D{{Key: "$and", Value: bson.A{filter, bson.D{{Key: c.timeField, Value: rng}}}}}
		}
		total, err := db.Collection(c.name).CountDocuments(ctx, cf)
		if err != nil {
			return fmt.Errorf("count %s: %w", c.name, err)
		}
		bar := newProgress(stderr, total, c.name, false, f.quiet || f.out == "-")
		if f.format == "json" {
			if err := writeExportHeader(ctx, out, db, f.db, c); err != nil {
				return err
			}
		}
		cur, err := db.Collection(c.name).Find(ctx, cf)
		if err != nil {
			return fmt.Errorf("find in %s: %w", c.name, err)
		}
		var line []byte
		for cur.Next(ctx) {
			if f.format == "json" {
				line, err = bson.MarshalExtJSON(cur.Current, true, false)
				if err != nil {
					_ = cur.Close(ctx)
					return fmt.Errorf("%s: %w", c.name, err)
				}
				line = append(line, '\n')
			} else {
				var n int
				line, n = appendLineProtocol(line[:0], c, cur.Current)
				skipped += int64(n)
			}
			if _, err := out.Write(line); err != nil {
				_ = cur.Close(ctx)
				return err
			}
			docs++
			_ = bar.Add(1)
		}
		if err := cur.Err(); err != nil {
			return fmt.Errorf("read %s: %w", c.name, err)
		}
		_ = cur.Close(ctx)
		_ = bar.Finish()
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if file, ok := w.(*os.File); ok && f.out != "-" {
		if err := file.Sync(); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "exported %d documents of %d collections", docs, len(colls))
	if skipped > 0 {
		fmt.Fprintf(stderr, "; %d values line protocol cannot hold were skipped", skipped)
	}
	fmt.Fprintln(stderr)
	return nil
}

// exportCollections lists the collections to export with their options, by name.
func exportCollections(ctx context.Context, db *mongo.Database, names []string) ([]collInfo, error) {
	filter := bson.D{}
	if len(names) > 0 {
		filter = bson.D{{Key: "name", Value: bson.D{{Key: "$in", Value: names}}}}
	}
	cur, err := db.ListCollections(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("list collections of %s: %w", db.Name(), err)
	}
	var out []collInfo
	for cur.Next(ctx) {
		name := cur.Current.Lookup("name").StringValue()
		if strings.HasPrefix(name, "system.") || cur.Current.Lookup("type").StringValue() == "view" {
			continue
		}
		opts, _ := cur.Current.Lookup("options").DocumentOK()
		ci := collInfo{name: name, options: opts}
		if ts, ok := opts.Lookup("timeseries").DocumentOK(); ok {
			ci.timeField, _ = ts.Lookup("timeField").StringValueOK()
			ci.metaField, _ = ts.Lookup("metaField").StringValueOK()
		}
		out = append(out, ci)
	}
	if err := cur.Err(); err != nil {
		return nil, err
	}
	if len(names) > 0 && len(out) < len(names) {
		return nil, fmt.Errorf("%d of the %d collections named are not in %s", len(names)-len(out), len(names), db.Name())
	}
	return out, nil
}

// writeExportHeader writes a collection's header line: its options and its user indexes.
func writeExportHeader(ctx context.Context, w io.Writer, db *mongo.Database, dbName string, c collInfo) error {
	h := exportHeader{Version: 1, DB: dbName, Collection: c.name, Options: c.options}
	if h.Options == nil {
		h.Options = bson.Raw{5, 0, 0, 0, 0}
	}
	cur, err := db.Collection(c.name).Indexes().List(ctx)
	if err != nil {
		return fmt.Errorf("list indexes of %s: %w", c.name, err)
	}
	for cur.Next(ctx) {
		if name := cur.Current.Lookup("name").StringValue(); name == "_id_" || (c.metaField != "" && name == c.metaField+"_1_"+c.timeField+"_1") {
			continue // made with the collection
		}
		h.Indexes = append(h.Indexes, append(bson.Raw(nil), cur.Current...))
	}
	if err := cur.Err(); err != nil {
		return err
	}
	body, err := bson.Marshal(bson.D{{Key: exportHeaderKey, Value: h}})
	if err != nil {
		return err
	}
	line, err := bson.MarshalExtJSON(bson.Raw(body), true, false)
	if err != nil {
		return err
	}
	_, err = w.Write(append(line, '\n'))
	return err
}
