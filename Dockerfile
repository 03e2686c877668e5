# smsgate in a container: `docker build -t smsgate .`, then
#   docker run -p 2775:2775 -p 2776:2776 -p 8080:8080 -v smsgate-data:/var/lib/smsgate smsgate
# The store, TLS key and admin password live in the volume; mount a
# configuration at /etc/smsgate/smsgate.toml and add
# `serve --config /etc/smsgate/smsgate.toml` to use one.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p smsgate --locked \
 && cp target/release/smsgate /smsgate \
 && strip /smsgate

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/smsgate --shell /usr/sbin/nologin smsgate \
 && mkdir -p /var/lib/smsgate /etc/smsgate \
 && chown smsgate:smsgate /var/lib/smsgate \
 && chmod 0700 /var/lib/smsgate
COPY --from=build /smsgate /usr/bin/smsgate
USER smsgate
VOLUME /var/lib/smsgate
EXPOSE 2775 2776 8080
ENTRYPOINT ["/usr/bin/smsgate", "--data-dir", "/var/lib/smsgate"]
CMD ["serve"]
