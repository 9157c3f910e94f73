package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/wire/lineproto"
	"github.com/chronogo/chronogo/wire/promremote"
)

// Prometheus remote write and read. A sample of metric m with labels l lands where line protocol
// would put "m,l value=v t": the time-series collection m of the database (?db=, default
// "prometheus") with timeField "time" and metaField "tags", the labels as tags.<name>, the value
// as the double field "value". Mongo clients query it as any time series:
// db.node_cpu_seconds_total.find({"tags.cpu": "0"}).

// PromDefaultDB is the database of remote writes and reads without ?db=.
const PromDefaultDB = "prometheus"

// PromValueField is the field holding a sample's value.
const PromValueField = "value"

// maxPromDecoded bounds the decompressed size of a remote write or read body.
const maxPromDecoded = 64 << 20

// maxPromReadSamples bounds the samples of one remote read answer.
const maxPromReadSamples = 10_000_000

// PromReader answers the queries of remote reads.
type PromReader interface {
	// PromRead calls fn with every series matching q, labels sorted by name (__name__ among
	// them), samples in time order.
	PromRead(ctx context.Context, db string, q promremote.Query, fn func(ts *promremote.TimeSeries) error) error
}

// promDB is the request's database.
func promDB(r *http.Request) (string, error) {
	db := r.URL.Query().Get("db")
	if db == "" {
		db = PromDefaultDB
	}
	return db, meta.ValidDataDatabase(db)
}

// readSnappyBody reads a snappy-compressed body of at most MaxBodySize bytes (the decoded form
// at most maxPromDecoded).
func readSnappyBody(rw http.ResponseWriter, r *http.Request, limit int64) ([]byte, int, string, error) {
	if r.ContentLength > limit {
		return nil, http.StatusRequestEntityTooLarge, "too_large", fmt.Errorf("request body of %d bytes is larger than %d", r.ContentLength, limit)
	}
	buf := getBodyBuffer()
	defer putBodyBuffer(buf)
	if _, err := buf.ReadFrom(http.MaxBytesReader(rw, r.Body, limit)); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, http.StatusRequestEntityTooLarge, "too_large", fmt.Errorf("request body larger than %d bytes", limit)
		}
		return nil, http.StatusBadRequest, "read", fmt.Errorf("reading body: %w", err)
	}
	raw, err := promremote.Decompress(buf.Bytes(), maxPromDecoded)
	if err != nil {
		return nil, http.StatusBadRequest, "parse", err
	}
	return raw, 0, "", nil
}

// promWrite answers POST /api/v1/prom/write (remote write 1.0): 204 when every sample is stored;
// 400 for a bad body, a series without __name__, a bad label name or time (nothing stored);
// otherwise as /write.
func (h *writeHandler) promWrite(rw http.ResponseWriter, r *http.Request) {
	db, err := promDB(r)
	if err != nil {
		writeError(rw, http.StatusBadRequest, "bad_db", err.Error())
		return
	}
	ctx, ok := h.authorize(rw, r, db, true)
	if !ok {
		return
	}
	release, ok := h.takeSlot(rw, r)
	if !ok {
		return
	}
	defer release()
	raw, status, reason, err := readSnappyBody(rw, r, h.opts.MaxBodySize)
	if err != nil {
		writeError(rw, status, reason, err.Error())
		return
	}
	batches, err := promBatches(raw)
	if err != nil {
		writeError(rw, http.StatusBadRequest, "parse", err.Error())
		return
	}
	if err := h.w.WriteLines(ctx, db, batches); err != nil {
		h.writeFailed(rw, db, "remote write", err)
		return
	}
	promSamples.Add(float64(batches.Values))
	rw.WriteHeader(http.StatusNoContent)
}

// maxPromTime is the largest |timestamp| in ms whose nanoseconds fit an int64.
const maxPromTime = (1<<63 - 1) / 1_000_000

// promBatches turns a remote write request into per-metric batches, one series per label set.
func promBatches(raw []byte) (*lineproto.Batches, error) {
	out := &lineproto.Batches{ByMeasurement: map[string]*storage.Batch{}}
	seriesOf := map[string]map[string]int{}
	var key []byte
	var ts promremote.TimeSeries
	err := promremote.DecodeWriteRequest(raw, &ts, func(ts *promremote.TimeSeries) error {
		name := ""
		tags := make([]storage.Tag, 0, len(ts.Labels))
		for _, l := range ts.Labels {
			switch {
			case l.Name == "__name__":
				name = l.Value
			case l.Name == "" || strings.ContainsAny(l.Name, ".$\x00"):
				return fmt.Errorf("label name %q: not a valid field name", l.Name)
			case l.Value != "": // an empty label is no label
				tags = append(tags, storage.Tag{Key: lineproto.MetaField + "." + l.Name, Value: storage.StringTag(l.Value)})
			}
		}
		if name == "" {
			return errors.New("a series without a __name__ label")
		}
		if len(ts.Samples) == 0 {
			return nil
		}
		sk := storage.SeriesKey{Table: name, Tags: tags}
		if err := sk.Normalize(); err != nil {
			return fmt.Errorf("metric %s: %w", name, err)
		}
		key = sk.Marshal(key[:0])
		if len(key) > storage.MaxSeriesKeyLen {
			return fmt.Errorf("metric %s: labels of %d bytes: longer than %d", name, len(key), storage.MaxSeriesKeyLen)
		}
		b := out.ByMeasurement[name]
		if b == nil {
			b = &storage.Batch{}
			out.ByMeasurement[name], seriesOf[name] = b, map[string]int{}
		}
		si, ok := seriesOf[name][string(key)]
		if !ok {
			si = len(b.Series)
			seriesOf[name][string(key)] = si
			b.Series = append(b.Series, storage.SeriesRows{Key: append([]byte(nil), key...),
				Fields: []storage.FieldColumn{{Name: PromValueField, Values: storage.Values{Type: storage.TypeDouble}}}})
		}
		s := &b.Series[si]
		col := &s.Fields[0]
		for _, smp := range ts.Samples {
			if smp.TimestampMs > maxPromTime || smp.TimestampMs < -maxPromTime {
				return fmt.Errorf("metric %s: timestamp %d ms out of range", name, smp.TimestampMs)
			}
			s.Times = append(s.Times, smp.TimestampMs*1_000_000)
			col.Values.Floats = append(col.Values.Floats, smp.Value)
		}
		out.Lines += len(ts.Samples)
		out.Values += len(ts.Samples)
		return nil
	})
	return out, err
}

// promRead answers POST /api/v1/prom/read with SAMPLES: every query's matching series.
func (h *writeHandler) promRead(rw http.ResponseWriter, r *http.Request) {
	db, err := promDB(r)
	if err != nil {
		writeError(rw, http.StatusBadRequest, "bad_db", err.Error())
		return
	}
	ctx, ok := h.authorize(rw, r, db, false)
	if !ok {
		return
	}
	raw, status, reason, err := readSnappyBody(rw, r, h.opts.MaxBodySize)
	if err != nil {
		writeError(rw, status, reason, err.Error())
		return
	}
	req, err := promremote.DecodeReadRequest(raw)
	if err != nil {
		writeError(rw, http.StatusBadRequest, "parse", err.Error())
		return
	}
	if !req.SamplesAccepted {
		writeError(rw, http.StatusBadRequest, "response_type", "ChronoGo answers remote reads with SAMPLES only; accept that response type")
		return
	}
	var out promremote.ResponseWriter
	samples := 0
	for _, q := range req.Queries {
		err := h.prom.PromRead(ctx, db, q, func(ts *promremote.TimeSeries) error {
			if samples += len(ts.Samples); samples > maxPromReadSamples {
				return fmt.Errorf("%w: the answer would hold more than %d samples; narrow the query", ErrBadRequest, maxPromReadSamples)
			}
			out.AddSeries(ts)
			return nil
		})
		if err != nil {
			status, reason := writeStatus(err)
			if errors.Is(err, ErrBadRequest) {
				status, reason = http.StatusBadRequest, "invalid"
			}
			writeError(rw, status, reason, err.Error())
			return
		}
		out.EndQuery()
	}
	rw.Header().Set("Content-Type", "application/x-protobuf")
	rw.Header().Set("Content-Encoding", "snappy")
	_, _ = rw.Write(promremote.Compress(out.Bytes()))
}
