# syntax=docker/dockerfile:1
# Metronome. Build: docker build -t metronome .
# Run (embedded SQLite in a volume): docker run -p 8080:8080 -v metronome-data:/app/data metronome

FROM node:22-bookworm-slim AS build
# Tools to compile better-sqlite3 when no prebuilt binary can be fetched.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY sdk/package.json sdk/
COPY server/package.json server/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY sdk ./sdk
COPY server ./server
# The server's operator commands use the SDK package: build it first.
RUN npm run build -w sdk -w server

FROM node:22-bookworm-slim AS deps
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY sdk/package.json sdk/
COPY server/package.json server/
# Only the server's runtime dependencies.
RUN npm ci --omit=dev --workspace server --no-audit --no-fund

FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/server/dist ./server/dist
COPY server/package.json ./server/
# node_modules/@metronome/sdk links to the workspace folder: the built SDK the CLI imports.
COPY --from=build /app/sdk/dist ./sdk/dist
COPY sdk/package.json ./sdk/
COPY migrations ./migrations
RUN mkdir -p /app/data && chown node:node /app/data
USER node
# Listens on 0.0.0.0:8080 unless configured otherwise (the defaults; not set here, so that a .env
# mounted in /app can set them as well as -e METRONOME_PORT=… or `serve --port …` can).
EXPOSE 8080
VOLUME ["/app/data"]
# Healthy = ready (GET /readyz: the job store answers and is migrated), which is what Compose's
# `depends_on: condition: service_healthy` waits for. `health --local` reads the configuration
# the node reads (.env, the environment, the flags of `serve` as the container's main process),
# so it asks the port the node listens on. Docker does not restart unhealthy containers; in
# Kubernetes probe /healthz for liveness and /readyz for readiness instead.
# (With TLS it asks https://127.0.0.1: unless the certificate names that address, replace or
# disable this check.)
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s \
  CMD node server/dist/cli.js health --local || exit 1
ENTRYPOINT ["node", "server/dist/cli.js"]
CMD ["serve"]
