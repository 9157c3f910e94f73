package client_test

import (
	"context"
	"log"
	"time"

	"github.com/chronogo/chronogo/actors/client"
)

// Write one batch of two points to the collection "cpu" of database "metrics" at quorum. The
// node must run with --actor-addr (data nodes always do).
func ExampleClient_Write() {
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Options{Seeds: []string{"127.0.0.1:8080"}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	b := client.NewBatch("cpu")
	now := time.Now()
	_ = b.Add(now, map[string]string{"host": "web1"}, map[string]any{"usage": 0.42, "procs": int64(118)})
	_ = b.Add(now, map[string]string{"host": "web2"}, map[string]any{"usage": 0.17, "procs": int64(96)})
	if err := c.Write(ctx, "metrics", b, client.Quorum); err != nil {
		log.Fatal(err) // not acknowledged: it may or may not be stored; writing it again is safe
	}
}

// Stream points through a Writer: batches of 10 000 values or 50 ms, at most 16 MiB in flight.
func ExampleWriter() {
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Options{Seeds: []string{"127.0.0.1:8080"}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	w := c.NewWriter("metrics", "cpu", client.WriterOptions{BatchValues: 10_000, Linger: 50 * time.Millisecond, MaxInflightBytes: 16 << 20})
	for i := range 100_000 {
		t := time.Now().Add(time.Duration(i) * time.Millisecond)
		if err := w.Add(t, map[string]string{"host": "web1"}, map[string]any{"usage": float64(i%100) / 100}); err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		log.Fatal(err)
	}
}
