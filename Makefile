# ChronoGo build and test entry points. Everything the tests need is installed from here.
GO        ?= go
BIN       := bin/chronogo
PKGS      := ./...
CPU_DATA  ?= /tmp/chronogo-bench/cpu-100h.lp

.PHONY: all build install run test test-long fuzz bench bench-server vet fmt clean proto chromium

all: build

build:
	$(GO) build -o $(BIN) ./cmd/chronogo

# chronogo into $(go env GOBIN), or $(go env GOPATH)/bin: put that directory on PATH.
install:
	$(GO) install ./cmd/chronogo

run: build
	./$(BIN) --data-dir=./data

vet:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1)

MONGOSH_DIR := .cache/mongosh
MONGOSH     := $(MONGOSH_DIR)/node_modules/.bin/mongosh
NPM_PINS    := integration/npm/package.json integration/npm/package-lock.json integration/npm/check-lock.js

# mongosh from npm, for the integration tests: the exact versions of integration/npm/package-lock.json,
# installed with `npm ci` into .cache/ (again whenever the lock file changes). Nothing resolves a version
# at run time; to update, see README.md "Test tools".
$(MONGOSH): $(NPM_PINS)
	@command -v npm >/dev/null || (echo "make test needs Node.js and npm (Debian: apt-get install nodejs npm)"; exit 1)
	node integration/npm/check-lock.js
	rm -rf $(MONGOSH_DIR) && mkdir -p $(MONGOSH_DIR)
	cp integration/npm/package.json integration/npm/package-lock.json $(MONGOSH_DIR)/
	cd $(MONGOSH_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $(MONGOSH)

# A headless browser for the console's tests: Debian's chromium (installed if missing).
chromium:
	@command -v chromium >/dev/null || (apt-get install -y chromium >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get install -y chromium >/dev/null) || \
	  (sudo apt-get update >/dev/null && sudo apt-get install -y chromium >/dev/null)) || \
	  (echo "make test needs chromium for the console tests (Debian: apt-get install chromium)"; exit 1)

# The default test suite: unit, property, golden, fuzz seeds, crash tests with real processes and
# integration tests that run the real binary with the Go driver, mongosh and a headless browser.
test: vet $(MONGOSH) chromium
	CHRONOGO_RACE=1 CHRONOGO_MONGOSH=$(abspath $(MONGOSH)) $(GO) test -race -count=1 -timeout 20m $(PKGS)
	# tests with two protoactor remotes in one process are built without -race (remote.Start sets
	# gRPC's process-global logger, which the race detector reports): run them once more here,
	# with the SDK's integration tests (the test process is an SDK client beside the servers)
	$(GO) test -count=1 -timeout 10m ./actors/node/
	CHRONOGO_MONGOSH=$(abspath $(MONGOSH)) $(GO) test -count=1 -timeout 10m -run '^TestSDK' ./integration/

# Longer crash and property loops.
test-long: $(MONGOSH)
	CHRONOGO_LONG=1 CHRONOGO_MONGOSH=$(abspath $(MONGOSH)) $(GO) test -count=1 -timeout 90m $(PKGS)

# Time-boxed fuzzing of every decoder.
FUZZTIME ?= 20s
fuzz:
	@for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; done

# The TSBS cpu-only data set, from the project's own deterministic generator (chronogo-bench gen).
$(CPU_DATA):
	mkdir -p $(dir $(CPU_DATA))
	$(GO) run ./cmd/chronogo-bench gen --hosts 100 --duration 24h -o $(CPU_DATA)

# Storage benchmarks on the TSBS cpu-only data set, printed as one table (raw output in bench.out).
BENCHFMT := awk '/^Benchmark/ { n=$$1; sub(/-[0-9]+$$/,"",n); m=""; for (i=5; i<NF; i+=2) m=m sprintf("%s %s, ", $$i, $$(i+1)); printf "| %-44s | %s |\n", n, m }'
bench: $(CPU_DATA)
	@echo "| benchmark | figures |"; echo "|---|---|"
	@CHRONOGO_CPU_DATA=$(CPU_DATA) $(GO) test -run '^$$' -bench . -benchtime 1x ./storage/engine 2>/dev/null | tee bench.out | $(BENCHFMT)
	@CHRONOGO_CPU_DATA=$(CPU_DATA) $(GO) test -run '^$$' -bench . -benchtime 1s ./storage/tsm/... 2>/dev/null | tee -a bench.out | $(BENCHFMT)
	@echo
	@$(MAKE) --no-print-directory bench-server

# The 1000-host data set (86.4M values, ~3 GB), generated once.
CPU_DATA_1000 ?= /tmp/chronogo-bench/cpu-1000h.lp
$(CPU_DATA_1000):
	mkdir -p $(dir $(CPU_DATA_1000))
	$(GO) run ./cmd/chronogo-bench gen --hosts 1000 --duration 24h -o $(CPU_DATA_1000)

# Server benchmark (BENCHMARKS.md): a real server and the separate client cmd/chronogo-bench on
# loopback; /write load of the BENCH_HOSTS file, the three queries, Go driver load of the 100-host
# file, printed as one table. BENCH_HOSTS=100 is the quick run.
BENCH_HOSTS ?= 1000
BENCH_LP_DATA = $(if $(filter 100,$(BENCH_HOSTS)),$(CPU_DATA),$(CPU_DATA_1000))
bench-server: $(CPU_DATA) $(BENCH_LP_DATA)
	$(GO) build -o $(BIN) ./cmd/chronogo
	$(GO) build -o bin/chronogo-bench ./cmd/chronogo-bench
	LP_DATA=$(BENCH_LP_DATA) MONGO_DATA=$(CPU_DATA) cmd/chronogo-bench/run.sh

# Regenerate messages/*.pb.go: protoc from Debian's protobuf-compiler (installed if missing),
# protoc-gen-go pinned by the tool directive in go.mod.
proto:
	@command -v protoc >/dev/null || (apt-get install -y protobuf-compiler || sudo apt-get install -y protobuf-compiler)
	PATH="$$(mktemp -d):$$PATH"; d=$${PATH%%:*}; $(GO) build -o $$d/protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go && \
	  cd messages && protoc --go_out=. --go_opt=paths=source_relative *.proto

clean:
	rm -rf bin bench.out
