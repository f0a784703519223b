# A Hikeshi node. Build: docker build -t hikeshi .   Run: see docker-compose.yml.
FROM node:20.19-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY schemas ./schemas
COPY bench ./bench
COPY demo ./demo
COPY console ./console
COPY scripts/build-console.ts scripts/build-node.ts ./scripts/
RUN npm run build && npm prune --omit=dev

FROM node:20.19-bookworm-slim
ENV NODE_ENV=production \
    HIKESHI_HOST=0.0.0.0 \
    HIKESHI_PORT=8080 \
    HIKESHI_DATA_DIR=/var/lib/hikeshi
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY migrations ./migrations
COPY docs ./docs
RUN mkdir -p /var/lib/hikeshi && chown node:node /var/lib/hikeshi
USER node
VOLUME ["/var/lib/hikeshi"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:8080/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "bin/hikeshi.js", "serve"]
