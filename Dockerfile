# syntax=docker/dockerfile:1
# Build: a static binary (pure-Go SQLite and PostgreSQL drivers, no cgo).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/aws-invites ./cmd/aws-invites
RUN mkdir -p /out/data

# Run: no shell, no package manager, a non-root user (numeric, so that the runtime needs no /etc/passwd to resolve
# it and Kubernetes' runAsNonRoot can check it; distroless's nonroot is 65532).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/aws-invites /usr/local/bin/aws-invites
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV LISTEN_ADDR=0.0.0.0:8080 \
    AWS_INVITES_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["/usr/local/bin/aws-invites", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/aws-invites"]
CMD ["serve"]
