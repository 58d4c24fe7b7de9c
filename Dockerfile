# One image for every claimtrail process; docker-compose.yml picks the command:
#   node services/ingest/src/main.ts | services/projector/src/main.ts | services/query/src/main.ts
#   node services/cli/src/main.ts migrate   (one-shot)
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build step and the
# image holds the production dependencies only: nothing at run time imports a devDependency (the
# test helpers, testcontainers, the linters, the `node` package that brings Node 24 to a
# developer's machine: the image has its own).
FROM node:24-slim

ENV NODE_ENV=production
WORKDIR /app

# Manifests first, so the dependency layer is rebuilt only when they change. npm ci needs every
# workspace's package.json to link the workspaces.
COPY package.json package-lock.json .npmrc ./
COPY packages/shared/package.json packages/shared/
COPY packages/audit/package.json packages/audit/
COPY infra/package.json infra/
COPY services/ingest/package.json services/ingest/
COPY services/projector/package.json services/projector/
COPY services/query/package.json services/query/
COPY services/cli/package.json services/cli/
COPY bench/package.json bench/

RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY . .

USER node

CMD ["node", "services/cli/src/main.ts", "--help"]
