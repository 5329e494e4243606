# Clowder: one binary with its embedded store. Build: `docker build -t clowder .`
# Run:   `docker run -p 8080:8080 -v clowder-data:/data clowder`

# ---- build ----------------------------------------------------------------------------
FROM rust:1-bookworm AS builder
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p clowder \
    && install -m 0755 target/release/clowder /usr/local/bin/clowder

# ---- runtime --------------------------------------------------------------------------
FROM debian:bookworm-slim
# ca-certificates for outbound TLS (mail, SMS, payments later); curl for the health check;
# tzdata so CLOWDER_TIME_ZONE can name any IANA zone.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl tzdata \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 clowder \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin clowder \
    && mkdir -p /data \
    && chown 10001:10001 /data
COPY --from=builder /usr/local/bin/clowder /usr/local/bin/clowder

USER 10001:10001
WORKDIR /data
VOLUME /data
ENV CLOWDER_DATA_DIR=/data \
    CLOWDER_LISTEN=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/health/ready || exit 1
# Shutdown drains for at most 8 s; give `docker stop` at least 10 s (its default).
STOPSIGNAL SIGTERM
ENTRYPOINT ["clowder"]
CMD ["serve"]
