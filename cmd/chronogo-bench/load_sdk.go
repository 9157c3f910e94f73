package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/chronogo/chronogo/actors/client"
)

func loadSDKCommand() *cobra.Command {
	var f loadFlags
	var seed, db, uri string
	cmd := &cobra.Command{
		Use:   "load-sdk",
		Short: "Load a line-protocol file through the Go client SDK (actors/client): columnar batches to the nodes' gateways",
		Long: "Builds every batch before the clock starts (as load-mongo --prepare does), then writes them from --workers\n" +
			"goroutines with Client.Write at the database's consistency. The server needs --actor-addr (a standalone\n" +
			"server has none by default). The collection is (re)created through --uri first.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return loadSDK(cmd.Context(), seed, uri, db, f)
		},
	}
	cmd.Flags().StringVar(&seed, "seed", "127.0.0.1:8080", "HTTP address of a node")
	cmd.Flags().StringVar(&uri, "uri", "mongodb://127.0.0.1:27017", "MongoDB URI, to (re)create the collection")
	cmd.Flags().StringVar(&db, "db", "benchsdk", "database")
	f.register(cmd, "batch", 5000)
	return cmd
}

// sdkBatch is one prepared SDK batch with its counts.
type sdkBatch struct {
	b             *client.Batch
	lines, values int64
}

func loadSDK(ctx context.Context, seed, uri, db string, f loadFlags) error {
	info, err := readDataInfo(f.file)
	if err != nil {
		return err
	}
	batches, coll, err := prepareSDK(f.file, f.batch)
	if err != nil {
		return err
	}
	mc, err := connect(ctx, uri, f.timeout, 1)
	if err != nil {
		return err
	}
	err = createTimeSeries(ctx, mc.Database(db), coll, true)
	_ = mc.Disconnect(context.Background())
	if err != nil {
		return err
	}
	cl, err := client.Dial(ctx, client.Options{Seeds: []string{seed}})
	if err != nil {
		return err
	}
	defer cl.Close()
	return measureLoad("sdk", f, info, func() (int64, int64, error) {
		next := make(chan sdkBatch)
		errc := make(chan error, f.workers)
		go func() {
			defer close(next)
			for _, b := range batches {
				select {
				case next <- b:
				case <-ctx.Done():
					return
				}
			}
		}()
		for range f.workers {
			go func() {
				var err error
				for b := range next {
					if err == nil {
						err = cl.Write(ctx, db, b.b, client.Default)
					}
				}
				errc <- err
			}()
		}
		var errs []error
		for range f.workers {
			errs = append(errs, <-errc)
		}
		var lines, values int64
		for _, b := range batches {
			lines += b.lines
			values += b.values
		}
		return lines, values, errors.Join(errs...)
	})
}

// prepareSDK reads a line-protocol file of one measurement into batches of n lines.
func prepareSDK(path string, n int) ([]sdkBatch, string, error) {
	in, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("opening data: %w", err)
	}
	defer in.Close()
	br := newBatchReader(in, n)
	var (
		b    batch
		p    point
		out  []sdkBatch
		coll string
	)
	for {
		if err := br.next(&b); err != nil {
			if errors.Is(err, io.EOF) {
				return out, coll, nil
			}
			return nil, "", err
		}
		sb := sdkBatch{lines: int64(b.lines), values: int64(b.values)}
		rest := b.buf
		for len(rest) > 0 {
			var line []byte
			line, rest, _ = bytes.Cut(rest, []byte{'\n'})
			if err := parseLine(line, &p); err != nil {
				return nil, "", err
			}
			if coll == "" {
				coll = string(p.measurement)
			}
			if sb.b == nil {
				sb.b = client.NewBatch(coll)
			}
			tags := make(map[string]string, len(p.tags))
			for _, t := range p.tags {
				tags[string(t.key)] = string(t.val)
			}
			fields := make(map[string]any, len(p.fields))
			for _, fv := range p.fields {
				if k := len(fv.val); k > 0 && fv.val[k-1] == 'i' {
					v, err := strconv.ParseInt(string(fv.val[:k-1]), 10, 64)
					if err != nil {
						return nil, "", fmt.Errorf("field %s: %w", fv.key, err)
					}
					fields[string(fv.key)] = v
					continue
				}
				v, err := strconv.ParseFloat(string(fv.val), 64)
				if err != nil {
					return nil, "", fmt.Errorf("field %s: unsupported value %q", fv.key, fv.val)
				}
				fields[string(fv.key)] = v
			}
			if err := sb.b.Add(time.Unix(0, p.timeNS), tags, fields); err != nil {
				return nil, "", err
			}
		}
		out = append(out, sb)
	}
}
