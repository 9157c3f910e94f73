package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// importFlags are import's options.
type importFlags struct {
	in, uri, httpAddr, db, format, user, password, progress string
	batch                                                   int
	resume, quiet                                           bool
	cmd                                                     *cobra.Command // for the node's MongoDB address
}

// importCommand reads a file of chronogo export (or line protocol) into a running server.
func importCommand() *cobra.Command {
	var f importFlags
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Read an export (Extended JSON) or line protocol into a running node, batched and resumable",
		Long: "The node is given by its HTTP address (--addr). Extended JSON (chronogo export --format json) goes through\n" +
			"its MongoDB wire (the address the node names, or --uri): each collection is\n" +
			"created with its options, its documents inserted in batches, its indexes built after them. Line protocol\n" +
			"goes to the node's /write. After each acknowledged batch the position is saved in --progress\n" +
			"(default: the input's name + .progress); --resume continues from there after an interruption, and\n" +
			"documents already there are not duplicated. gzip input is read as it is.",
		Example: "  chronogo import --in app.json\n" +
			"  chronogo import --in app.json --db app_copy\n" +
			"  chronogo import --in cpu.lp.gz --db metrics --addr 127.0.0.1:8080\n" +
			"  chronogo import --in app.json --addr 10.0.0.5:8080 --user admin --password secret\n" +
			"  chronogo import --in app.json --resume",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if c.Flags().Changed("uri") && (c.Flags().Changed("addr") || c.Flags().Changed("http")) {
				return fmt.Errorf("import: give --addr (the node's HTTP address) or --uri, not both")
			}
			f.cmd = c
			if err := runImport(c.Context(), f, c.ErrOrStderr()); err != nil {
				return fmt.Errorf("import: %w", err)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.in, "in", "", "the file to read (required)")
	fl.StringVar(&f.httpAddr, "addr", "127.0.0.1:8080", "the node's HTTP address (host:port, or https://host:port)")
	fl.StringVar(&f.httpAddr, "http", "127.0.0.1:8080", "the node's HTTP address (old name of --addr)")
	_ = fl.MarkHidden("http")
	fl.StringVar(&f.uri, "uri", "", "for json: a MongoDB connection string instead of the node's own address")
	fl.StringVar(&f.db, "db", "", "the database to import into (json: default the exported one; lp: required)")
	fl.StringVar(&f.format, "format", "", "json or lp (default: from the first byte of the input)")
	fl.StringVar(&f.user, "user", "", "with --auth: a user of admin")
	fl.StringVar(&f.password, "password", "", "with --auth: its password")
	fl.StringVar(&f.progress, "progress", "", "where the position is saved (default: --in + .progress)")
	fl.IntVar(&f.batch, "batch", 5000, "documents or lines per batch")
	fl.BoolVar(&f.resume, "resume", false, "continue from the saved position")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress bar")
	_ = cmd.MarkFlagRequired("in")
	return cmd
}

// importPosition is the saved position: the offset (in the decompressed input) after the last
// acknowledged batch, and the header of the collection being imported there.
type importPosition struct {
	Offset int64  `json:"offset"`
	Header string `json:"header,omitempty"`
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func runImport(ctx context.Context, f importFlags, stderr io.Writer) error {
	if f.batch < 1 {
		return fmt.Errorf("--batch %d: want at least 1", f.batch)
	}
	if f.progress == "" {
		f.progress = f.in + ".progress"
	}
	file, err := os.Open(f.in)
	if err != nil {
		return err
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return err
	}
	raw := &countingReader{r: file}
	br := bufio.NewReaderSize(raw, 1<<20)
	var in io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		in = gz
	}
	lines := bufio.NewReaderSize(in, 1<<20)
	var pos importPosition
	if f.resume {
		b, err := os.ReadFile(f.progress)
		if err != nil {
			return fmt.Errorf("--resume: %w", err)
		}
		if err := json.Unmarshal(b, &pos); err != nil {
			return fmt.Errorf("--resume: %s: %w", f.progress, err)
		}
		if _, err := io.CopyN(io.Discard, lines, pos.Offset); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("--resume: skipping %d bytes: %w", pos.Offset, err)
		}
	}
	format := f.format
	if format == "" {
		format = "lp"
		if first, _ := lines.Peek(1); (len(first) == 1 && first[0] == '{') || pos.Header != "" {
			format = "json"
		}
	}
	bar := newProgress(stderr, st.Size(), "import "+f.in, true, f.quiet)
	_ = bar.Set64(raw.n)
	im := &importer{f: f, lines: lines, pos: pos, bar: bar, raw: raw}
	switch format {
	case "json":
		err = im.json(ctx)
	case "lp":
		err = im.lp(ctx)
	default:
		return fmt.Errorf("--format %q: want json or lp", format)
	}
	if err != nil {
		_ = bar.Exit()
		return fmt.Errorf("%w (the position is saved: rerun with --resume)", err)
	}
	_ = bar.Finish()
	_ = os.Remove(f.progress)
	fmt.Fprintf(stderr, "imported %d documents\n", im.done)
	return nil
}

// importer reads the input line by line and sends batches.
type importer struct {
	f     importFlags
	lines *bufio.Reader
	pos   importPosition
	bar   interface{ Set64(int64) error }
	raw   *countingReader
	done  int64
}

// maxImportLine bounds one line (a 16 MB document in Extended JSON is larger than 16 MB).
const maxImportLine = 64 << 20

// next returns the next line without its newline (io.EOF at the end).
func (im *importer) next() ([]byte, error) {
	var line []byte
	for {
		chunk, err := im.lines.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxImportLine {
			return nil, fmt.Errorf("a line at offset %d is longer than %d bytes", im.pos.Offset, maxImportLine)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && (err != io.EOF || len(line) == 0) {
			return nil, err
		}
		return bytes.TrimRight(line, "\r\n"), nil
	}
}

// save records the position after an acknowledged batch (written whole, then renamed).
func (im *importer) save(offset int64) error {
	im.pos.Offset = offset
	b, _ := json.Marshal(im.pos)
	tmp := im.f.progress + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	_ = im.bar.Set64(im.raw.n)
	return os.Rename(tmp, im.f.progress)
}

// json imports an Extended JSON export.
func (im *importer) json(ctx context.Context) error {
	if im.f.uri == "" {
		uri, err := nodeMongoURI(im.f.cmd, im.f.httpAddr, im.f.user, im.f.password)
		if err != nil {
			return err
		}
		im.f.uri = uri
	}
	client, err := mongo.Connect(options.Client().ApplyURI(im.f.uri).SetServerSelectionTimeout(10 * time.Second))
	if err != nil {
		return fmt.Errorf("connect %s: %w", im.f.uri, err)
	}
	defer func() { _ = client.Disconnect(context.Background()) }()
	var (
		coll    *mongo.Collection
		header  exportHeader
		batch   []any
		offset  = im.pos.Offset
		lineNo  = 0
		pending int64 // bytes of the batch's lines
	)
	flush := func() error {
		if len(batch) > 0 {
			_, err := coll.InsertMany(ctx, batch, options.InsertMany().SetOrdered(false))
			if err := onlyDuplicates(err); err != nil {
				return fmt.Errorf("insert into %s.%s: %w", coll.Database().Name(), coll.Name(), err)
			}
			im.done += int64(len(batch))
			batch = batch[:0]
		}
		offset += pending
		pending = 0
		return im.save(offset)
	}
	endCollection := func() error {
		if coll == nil {
			return nil
		}
		if err := flush(); err != nil {
			return err
		}
		return createExportedIndexes(ctx, coll, header.Indexes)
	}
	if im.pos.Header != "" {
		if coll, header, err = im.openCollection(ctx, client, []byte(im.pos.Header)); err != nil {
			return err
		}
	}
	for {
		line, err := im.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		lineNo++
		size := int64(len(line)) + 1
		if len(bytes.TrimSpace(line)) == 0 {
			pending += size
			continue
		}
		if bytes.Contains(line[:min(len(line), 32)], []byte(exportHeaderKey)) {
			if err := endCollection(); err != nil {
				return err
			}
			if coll, header, err = im.openCollection(ctx, client, line); err != nil {
				return err
			}
			offset += size
			im.pos.Header = string(line)
			if err := im.save(offset); err != nil {
				return err
			}
			continue
		}
		if coll == nil {
			return fmt.Errorf("line %d: a document before any collection header", lineNo)
		}
		var doc bson.Raw
		if err := bson.UnmarshalExtJSON(line, true, &doc); err != nil {
			return fmt.Errorf("line %d (offset %d): %w", lineNo, offset+pending, err)
		}
		batch = append(batch, doc)
		pending += size
		if len(batch) >= im.f.batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return endCollection()
}

// openCollection reads a header line and creates its collection (nothing if it exists).
func (im *importer) openCollection(ctx context.Context, client *mongo.Client, line []byte) (*mongo.Collection, exportHeader, error) {
	var wrap struct {
		H exportHeader `bson:"$chronogoExport"`
	}
	if err := bson.UnmarshalExtJSON(line, true, &wrap); err != nil {
		return nil, wrap.H, fmt.Errorf("collection header: %w", err)
	}
	h := wrap.H
	if h.Version != 1 || h.Collection == "" {
		return nil, h, fmt.Errorf("collection header of version %d for %q: not one this chronogo reads", h.Version, h.Collection)
	}
	dbName := h.DB
	if im.f.db != "" {
		dbName = im.f.db
	}
	db := client.Database(dbName)
	cmd := bson.D{{Key: "create", Value: h.Collection}}
	if elems, err := h.Options.Elements(); err == nil {
		for _, e := range elems {
			cmd = append(cmd, bson.E{Key: e.Key(), Value: e.Value()})
		}
	}
	err := db.RunCommand(ctx, cmd).Err()
	var ce mongo.CommandError
	if err != nil && !(errors.As(err, &ce) && ce.Code == 48) { // NamespaceExists
		return nil, h, fmt.Errorf("create %s.%s: %w", dbName, h.Collection, err)
	}
	return db.Collection(h.Collection), h, nil
}

// createExportedIndexes builds the indexes an export listed (those that exist are kept).
func createExportedIndexes(ctx context.Context, coll *mongo.Collection, idxs []bson.Raw) error {
	if len(idxs) == 0 {
		return nil
	}
	specs := bson.A{}
	for _, ix := range idxs {
		spec := bson.D{}
		elems, _ := ix.Elements()
		for _, e := range elems {
			if e.Key() != "v" && e.Key() != "ns" {
				spec = append(spec, bson.E{Key: e.Key(), Value: e.Value()})
			}
		}
		specs = append(specs, spec)
	}
	err := coll.Database().RunCommand(ctx, bson.D{{Key: "createIndexes", Value: coll.Name()}, {Key: "indexes", Value: specs}}).Err()
	if err != nil {
		return fmt.Errorf("indexes of %s: %w", coll.Name(), err)
	}
	return nil
}

// onlyDuplicates is err unless every failure is a duplicate key (a document a resumed import
// already wrote).
func onlyDuplicates(err error) error {
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return err
	}
	for _, we := range bwe.WriteErrors {
		if we.Code != 11000 {
			return err
		}
	}
	return nil
}

// lp imports line protocol through /write.
func (im *importer) lp(ctx context.Context) error {
	if im.f.db == "" {
		return errors.New("--db is required for line protocol")
	}
	base := im.f.httpAddr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	target := base + "/write?db=" + url.QueryEscape(im.f.db) + "&precision=ns"
	var body bytes.Buffer
	n := 0
	offset := im.pos.Offset
	var pending int64
	flush := func() error {
		if n > 0 {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body.Bytes()))
			if err != nil {
				return err
			}
			if im.f.user != "" {
				req.SetBasicAuth(im.f.user, im.f.password)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				return fmt.Errorf("POST /write: %s: %s", resp.Status, strings.TrimSpace(string(msg)))
			}
			im.done += int64(n)
		}
		offset += pending
		body.Reset()
		n, pending = 0, 0
		return im.save(offset)
	}
	for {
		line, err := im.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		pending += int64(len(line)) + 1
		if len(bytes.TrimSpace(line)) == 0 || line[0] == '#' {
			continue
		}
		body.Write(line)
		body.WriteByte('\n')
		if n++; n >= im.f.batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}
