# relay: a static, CGO-free binary (the SQLite outbox is pure Go) on
# distroless, running as the non-root user 65532.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) -t relay .
#   docker run -p 8080:8080 -v relay-data:/data -e RELAY_CHATWORK_TOKEN=... relay

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/relay ./cmd/relay \
	&& mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/relay /usr/local/bin/relay
# The outbox lives on a volume; the directory must belong to the runtime user.
COPY --from=build --chown=65532:65532 /out/data /data
ENV RELAY_LISTEN=:8080 \
	RELAY_STORE=sqlite:///data/relay.db
VOLUME /data
EXPOSE 8080
USER 65532:65532
# distroless has no shell for a HEALTHCHECK: orchestrators probe
# GET /healthz (liveness) and GET /readyz (readiness).
ENTRYPOINT ["/usr/local/bin/relay"]
