package mongo

import (
	"context"
	"slices"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// msgListCommands lists the commands that have a help text.
func msgListCommands(context.Context, *Server, *request) (*bsoncore.DocumentBuilder, error) {
	var names []string
	for name, c := range commands {
		if c.Help != "" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	cmds := bsoncore.NewDocumentBuilder()
	for _, name := range names {
		cmds.AppendDocument(name, bsoncore.NewDocumentBuilder().AppendString("help", commands[name].Help).Build())
	}
	return bsoncore.NewDocumentBuilder().AppendDocument("commands", cmds.Build()), nil
}
