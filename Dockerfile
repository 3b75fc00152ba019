# One image for every role; ROLES (server, gateway, workers) picks what a container runs.
FROM node:24-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app

# Dependencies first, so a source change does not reinstall them. tsx is a runtime
# dependency (the TypeScript sources run as they are), so --omit=dev keeps it.
COPY package.json package-lock.json ./
# Fixes to dependencies, applied by patch-package on install (see patches/).
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Sources stay owned by root: the process can read its code but not change it.
COPY . .
# DATA_DIR, the one place the process may write (JWT_SECRET is required in production,
# so nothing is generated there by default).
RUN mkdir -p /app/.data && chown node:node /app/.data

USER node
EXPOSE 3000
CMD ["node", "--import", "tsx", "main.ts"]
