# Herald as one self-contained executable in a small non-root image.

# Build with the official Bun image: the same `bun run build` the test suite runs.
FROM oven/bun:1 AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN bun install --production=false
COPY . .
RUN bun run build && mkdir -p /data

# Run: glibc and nothing else; the binary embeds migrations and static assets.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /app/dist/herald /herald
# MIT: the notice travels with every copy of the binary.
COPY --from=build /app/LICENSE /LICENSE
LABEL org.opencontainers.image.licenses="MIT"
COPY --from=build --chown=65532:65532 /data /data
ENV HERALD_DB=/data/herald.db \
    PORT=8080 \
    HOST=0.0.0.0
VOLUME /data
EXPOSE 8080
USER 65532:65532
HEALTHCHECK --interval=10s --timeout=4s --start-period=5s --retries=3 CMD ["/herald", "healthcheck"]
ENTRYPOINT ["/herald"]
