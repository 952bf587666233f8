# relay: a static, CGO-free binary (the SQLite outbox is pure Go) on
# distroless, running as the non-root user 65532.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg REVISION=$(git rev-parse HEAD) -t relay .
#   docker run -p 8080:8080 -v relay-data:/data -e RELAY_CHATWORK_TOKEN=... relay

# VERSION stamps the binary; VERSION, REVISION and SOURCE stamp the image's
# OCI labels.
ARG VERSION=dev
ARG REVISION=unknown
ARG SOURCE=https://github.com/relayhq/relay

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION
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
ARG VERSION
ARG REVISION
ARG SOURCE
LABEL org.opencontainers.image.title="relay" \
	org.opencontainers.image.description="Alert-relay webhook server: Alertmanager, Grafana and generic webhooks to Chatwork, Chat&Messenger and webhooks, from a durable outbox" \
	org.opencontainers.image.source="${SOURCE}" \
	org.opencontainers.image.version="${VERSION}" \
	org.opencontainers.image.revision="${REVISION}"
