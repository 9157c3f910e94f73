#!/bin/sh
# Regenerates messages/*.pb.go from messages/*.proto. Needs protoc on PATH; protoc-gen-go is taken
# from PATH if present, otherwise run from the module's pinned google.golang.org/protobuf.
set -eu
cd "$(dirname "$0")"
if ! command -v protoc-gen-go >/dev/null 2>&1; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd .. && go build -o "$tmp/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go)
	PATH="$tmp:$PATH"
fi
protoc --go_out=. --go_opt=paths=source_relative *.proto
