package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// namespaceNotFound is MongoDB's error code for dropping a collection that does not exist.
const namespaceNotFound = 26

func loadMongoCommand() *cobra.Command {
	var f loadFlags
	var uri, db, coll string
	var drop, prepare bool
	cmd := &cobra.Command{
		Use:   "load-mongo",
		Short: "Load a line-protocol file through the Go driver: insertMany into a time-series collection",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return loadMongo(cmd.Context(), uri, db, coll, drop, prepare, f)
		},
	}
	cmd.Flags().StringVar(&uri, "uri", "mongodb://127.0.0.1:27017", "MongoDB URI of the server")
	cmd.Flags().StringVar(&db, "db", "bench", "database")
	cmd.Flags().StringVar(&coll, "coll", "cpu", "time-series collection (created with timeField time, metaField tags)")
	cmd.Flags().BoolVar(&drop, "drop", true, "drop the collection first")
	cmd.Flags().BoolVar(&prepare, "prepare", true, "build every document before the clock starts "+
		"(as the line-protocol load sends a prepared file); false converts lines while loading")
	f.register(cmd, "batch", 5000)
	return cmd
}

func connect(ctx context.Context, uri string, timeout time.Duration, poolSize int) (*mongo.Client, error) {
	c, err := mongo.Connect(options.Client().ApplyURI(uri).SetTimeout(timeout).SetMaxPoolSize(uint64(max(poolSize, 1))))
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", uri, err)
	}
	if err := c.Ping(ctx, nil); err != nil {
		_ = c.Disconnect(ctx)
		return nil, fmt.Errorf("ping %s: %w", uri, err)
	}
	return c, nil
}

// createTimeSeries (re)creates coll as a time-series collection with timeField "time" and metaField "tags".
func createTimeSeries(ctx context.Context, db *mongo.Database, coll string, drop bool) error {
	if drop {
		err := db.Collection(coll).Drop(ctx)
		var ce mongo.CommandError
		if err != nil && !(errors.As(err, &ce) && ce.Code == namespaceNotFound) {
			return fmt.Errorf("dropping %s: %w", coll, err)
		}
	}
	ts := options.TimeSeries().SetTimeField("time").SetMetaField("tags").SetGranularity("seconds")
	if err := db.CreateCollection(ctx, coll, options.CreateCollection().SetTimeSeriesOptions(ts)); err != nil {
		return fmt.Errorf("creating time-series collection %s: %w", coll, err)
	}
	return nil
}

// docBuilder converts batches of lines into documents; one per worker, its buffers reused.
type docBuilder struct {
	p    point
	buf  []byte
	ends []int
	docs []any
}

// build converts every line of b; the documents stay valid until the next call.
func (d *docBuilder) build(b *batch) ([]any, error) {
	d.buf, d.ends = d.buf[:0], d.ends[:0]
	rest := b.buf
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte{'\n'})
		if err := parseLine(line, &d.p); err != nil {
			return nil, err
		}
		var err error
		if d.buf, err = appendDocument(d.buf, &d.p); err != nil {
			return nil, err
		}
		d.ends = append(d.ends, len(d.buf))
	}
	d.docs = d.docs[:0]
	start := 0
	for _, end := range d.ends {
		d.docs = append(d.docs, bson.Raw(d.buf[start:end:end]))
		start = end
	}
	return d.docs, nil
}

func loadMongo(ctx context.Context, uri, dbName, coll string, drop, prepare bool, f loadFlags) error {
	client, err := connect(ctx, uri, f.timeout, f.workers)
	if err != nil {
		return err
	}
	defer func() { _ = client.Disconnect(context.Background()) }()
	db := client.Database(dbName)
	if err := createTimeSeries(ctx, db, coll, drop); err != nil {
		return err
	}
	c := db.Collection(coll)
	if prepare {
		return loadPrepared(ctx, c, f)
	}
	builders := make([]docBuilder, f.workers)
	insert := func(ctx context.Context, worker int, b *batch) error {
		docs, err := builders[worker].build(b)
		if err != nil {
			return err
		}
		return insertMany(ctx, c, docs)
	}
	return runLoad(ctx, "mongo", f, insert)
}

// insertMany inserts docs unordered and checks that every one was.
func insertMany(ctx context.Context, c *mongo.Collection, docs []any) error {
	res, err := c.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err != nil {
		return fmt.Errorf("insertMany: %w", err)
	}
	if len(res.InsertedIDs) != len(docs) {
		return fmt.Errorf("insertMany inserted %d of %d documents", len(res.InsertedIDs), len(docs))
	}
	return nil
}

// preparedBatch is the documents of one insertMany, built before the load.
type preparedBatch struct {
	docs          []any
	lines, values int64
}

// loadPrepared converts the whole file to documents, then times inserting them from f.workers
// goroutines.
func loadPrepared(ctx context.Context, c *mongo.Collection, f loadFlags) error {
	info, err := readDataInfo(f.file)
	if err != nil {
		return err
	}
	batches, err := prepareDocuments(f.file, f.batch)
	if err != nil {
		return err
	}
	return measureLoad("mongo", f, info, func() (int64, int64, error) {
		return sendPrepared(ctx, batches, f.workers, func(ctx context.Context, docs []any) error {
			return insertMany(ctx, c, docs)
		})
	})
}

// prepareDocuments reads a line-protocol file into batches of n documents. They have no _id: the
// driver adds one to each (giving it one here costs more, as the driver then decodes it).
func prepareDocuments(path string, n int) ([]preparedBatch, error) {
	in, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening data: %w", err)
	}
	defer in.Close()
	br := newBatchReader(in, n)
	var (
		b   batch
		out []preparedBatch
	)
	for {
		if err := br.next(&b); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		var d docBuilder // fresh buffers: the documents are kept
		docs, err := d.build(&b)
		if err != nil {
			return nil, err
		}
		out = append(out, preparedBatch{docs: docs, lines: int64(b.lines), values: int64(b.values)})
	}
}

// sendPrepared hands the batches, in order, to workers goroutines running send; it stops at the
// first error.
func sendPrepared(ctx context.Context, batches []preparedBatch, workers int, send func(ctx context.Context, docs []any) error) (lines, values int64, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(batches) {
					return
				}
				if err := send(ctx, batches[i].docs); err != nil {
					cancel(err)
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return 0, 0, err
	}
	for _, b := range batches {
		lines += b.lines
		values += b.values
	}
	return lines, values, nil
}
