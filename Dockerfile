# rendley-relay: `node dist/main.js` on Node 24, as a non-root user behind tini.
#
#   docker build -t rendley-relay .
#   docker run -p 8080:8080 -e RENDLEY_API_KEY=… -v relay-data:/data rendley-relay
#
# NODE_IMAGE must be a Debian-based Node image with npm (scripts/container-test.ts builds against a local
# stand-in for node:24-bookworm-slim made by ../shared/tools/node-base-image.sh).
ARG NODE_IMAGE=node:24-bookworm-slim

# Every dependency, for the build. Cached until package.json or package-lock.json change.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund --loglevel=error

# src/ → dist/ with the project's own tsc.
FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Production dependencies only: the full install pruned (does not depend on src/, so a code change keeps this layer).
FROM deps AS prod-deps
RUN npm prune --omit=dev --no-audit --no-fund --loglevel=error && npm cache clean --force

FROM ${NODE_IMAGE}
# tini as PID 1 forwards SIGTERM to node (which drains as under `npm start`) and reaps zombies. The
# official node:*-slim images lack it: install it from Debian when the base does not have it already.
RUN if ! command -v tini >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends tini \
      && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin; \
    fi \
 && mkdir -p /data && chown 1000:1000 /data
WORKDIR /app
ENV NODE_ENV=production \
    PORT=8080 \
    RELAY_DATA_DIR=/data
COPY --from=prod-deps /app/node_modules ./node_modules
COPY package.json ./
COPY migrations ./migrations
COPY bin ./bin
COPY --from=build /app/dist ./dist
# Numeric, so that Kubernetes' runAsNonRoot can check it (uid 1000 is `node` in the node images).
USER 1000:1000
# The embedded database (PGlite) lives here when DATABASE_URL is unset: one container per volume.
VOLUME /data
EXPOSE 8080
# No curl in the image: Node's fetch. Liveness only (/readyz also checks the database and Rendley).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/main.js"]
