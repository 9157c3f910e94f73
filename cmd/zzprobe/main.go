package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func main() {
	ctx := context.Background()
	c, err := mongo.Connect(options.Client().ApplyURI(os.Args[1]))
	if err != nil {
		panic(err)
	}
	n, _ := strconv.Atoi(os.Args[2])
	pause, _ := time.ParseDuration(os.Args[3])
	t0 := time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC)
	coll := c.Database("benchmark").Collection("cpu")
	q1 := bson.A{
		bson.D{{Key: "$match", Value: bson.D{
			{Key: "tags.hostname", Value: "host_0"},
			{Key: "time", Value: bson.D{{Key: "$gte", Value: t0}, {Key: "$lt", Value: t0.Add(time.Hour)}}}}}},
		bson.D{{Key: "$group", Value: bson.D{
			{Key: "_id", Value: bson.D{{Key: "$dateTrunc", Value: bson.D{{Key: "date", Value: "$time"}, {Key: "unit", Value: "minute"}}}}},
			{Key: "max_usage_user", Value: bson.D{{Key: "$max", Value: "$usage_user"}}}}}},
		bson.D{{Key: "$sort", Value: bson.D{{Key: "_id", Value: 1}}}},
	}
	for i := 0; i < n; i++ {
		st := time.Now()
		cur, err := coll.Aggregate(ctx, q1)
		if err != nil {
			panic(err)
		}
		var rows []bson.Raw
		if err := cur.All(ctx, &rows); err != nil {
			panic(err)
		}
		fmt.Printf("%d:%.2f(%d) ", i, float64(time.Since(st).Microseconds())/1000, len(rows))
		time.Sleep(pause)
	}
	fmt.Println()
}
