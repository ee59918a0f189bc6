#!/usr/bin/env bash
# Installs this example as a user's app would be: its own dependencies from its lockfile
# (`npm ci`), then Herald's four packages as npm would hand them out, packed from the
# repository's workspaces (each builds through its own `prepack`) into .herald-packages/ and
# installed from those tarballs. `--no-save` leaves package.json and the lockfile as they are.
# Needs the repository's own `npm ci` first (the packages build with its TypeScript).
set -euo pipefail
cd "$(dirname "$0")/.."
example="$PWD"
packages="$example/.herald-packages"

rm -rf "$packages"
mkdir -p "$packages"
(
  cd ../..
  npm pack --silent --pack-destination "$packages" \
    --workspace @herald/protocol --workspace @herald/client \
    --workspace @herald/react --workspace @herald/hub >/dev/null
)

npm ci --no-audit --no-fund
npm install --no-save --no-audit --no-fund "$packages"/*.tgz
