#!/usr/bin/env bash
# Installs code-server (the last release line that runs on Node 20) and playwright-core into
# editor-plugin/e2e/node_modules, working around what stops a plain `npm install` on a machine that
# reaches only package registries:
#   - code-server's post-install builds native modules: needs build tools and
#     apt-get install -y libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev ripgrep chromium
#   - as root npm needs npm_config_unsafe_perm=true
#   - @vscode/ripgrep's post-install downloads rg from GitHub: Debian's /usr/bin/rg is put where it
#     looks first, so it skips the download
#   - node-pty's post-install runs `npx node-gyp`, which needs npm_config_yes=true
set -euo pipefail
cd "$(dirname "$0")"
export npm_config_unsafe_perm=true npm_config_yes=true
npm install --ignore-scripts --no-audit --no-fund
npm rebuild argon2 --foreground-scripts   # code-server's own native dependency
cd node_modules/code-server/lib/vscode
npm install --omit=dev --ignore-scripts --no-audit --no-fund
mkdir -p node_modules/@vscode/ripgrep/bin
cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
npm rebuild --foreground-scripts
# The rest of code-server's postinstall.sh
ln -sfn node_modules node_modules.asar
(cd bin/remote-cli && ln -sfn code-linux.sh code-server)
(cd bin/helpers && ln -sfn browser-linux.sh browser.sh)
cd extensions
npm install --omit=dev --no-audit --no-fund
echo "code-server ready: $(node ../../../out/node/entry.js --version | head -1)"
