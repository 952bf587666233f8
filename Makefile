# relay's everyday commands. `make test` is the test suite CI runs.
GO        ?= go
FUZZTIME  ?= 30s
# FUZZTIMEOUT bounds each fuzz target when FUZZTIME is a count (Nx).
FUZZTIMEOUT ?= 5m
PKGS      := ./...

.PHONY: all build test race vet fmt fuzz bench run clean

all: vet test build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/relay ./cmd/relay

run:
	$(GO) run ./cmd/relay

## test: the whole suite with the race detector (what CI runs)
test:
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

vet:
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

## fuzz: run every fuzz target for FUZZTIME each
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "fuzz $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -timeout $(FUZZTIMEOUT) $$pkg; \
		done; \
	done

## bench: end-to-end and package benchmarks with profiles, about 8 minutes;
## not part of CI (results in bench/out, see docs/benchmarks.md)
bench:
	GO=$(GO) ./bench/run.sh

clean:
	rm -rf bin data
