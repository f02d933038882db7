# syntax=docker/dockerfile:1
# One image for every chitti process: `chitti api|relay|projector|inference|migrate|start`.

# 1. Production dependencies only, resolved from the lock file. Install scripts are skipped: the
#    native packages used here (onnxruntime-node, sharp, esbuild for tsx) ship their binaries in
#    their packages; embedded PostgreSQL is not used in the distributed image.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# 2. Type check the whole tree (tests included: they import the sources) with the dev
#    dependencies, then prune what the runtime never loads. The image is only built from code
#    that type-checks.
FROM node:20-bookworm-slim AS check
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npx tsc -p . \
 && rm -rf node_modules test bench examples docs inference/training \
 && find . -name '*.test.ts' -delete

# 3. Runtime: sources run through tsx (a production dependency), as the unprivileged `node` user.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    CHITTI_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    CHITTI_DATA_DIR=/var/lib/chitti
WORKDIR /app
COPY --from=check /src ./
COPY --from=deps /app/node_modules ./node_modules
RUN chmod +x cli/chitti.mjs \
 && ln -s /app/cli/chitti.mjs /usr/local/bin/chitti \
 && mkdir -p /var/lib/chitti \
 && chown node:node /var/lib/chitti
USER node
EXPOSE 8080
CMD ["chitti", "start"]
