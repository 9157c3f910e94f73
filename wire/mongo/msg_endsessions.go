package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// msgEndSessions answers endSessions and killAllSessions: ChronoGo keeps no session state.
func msgEndSessions(context.Context, *Server, *request) (*bsoncore.DocumentBuilder, error) {
	return nil, nil
}
