# mqgate gateway image: `docker compose up` builds it (see docker-compose.yml).
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
# The sources come before `npm ci` because its `prepare` script compiles them.
COPY src ./src
COPY adapters ./adapters
RUN npm ci && npm run build && npm prune --omit=dev

FROM node:20-slim
ENV NODE_ENV=production \
    MQGATE_CONFIG=/app/config/default.yaml
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY config ./config
COPY ui ./ui
# The outbox directory, owned by the runtime user; a named volume mounted here inherits that.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8080
CMD ["node", "dist/src/main.js"]
