#!/usr/bin/env bash
# Installs the system packages the test suite needs when they are missing.
# PostgreSQL: the suite uses the server on 127.0.0.1:5432 when one answers; otherwise it
# starts a throwaway cluster with pg_ctl, so the server binaries must be present.
set -euo pipefail

have_pg_server() { ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1; }
pg_answers() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "system-deps: need $* but not root; install them with apt-get" >&2
    return 1
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# `--dev` (make dev): the local product runs on SQLite, so no PostgreSQL is needed.
if [ "${1:-}" != "--dev" ] && ! pg_answers && ! have_pg_server; then
  echo "system-deps: no PostgreSQL on 127.0.0.1:5432 and no pg_ctl; installing Debian's postgresql"
  apt_install postgresql
fi

# curl: the README's API tour is run verbatim by the end-to-end tests.
if ! command -v curl >/dev/null 2>&1; then
  echo "system-deps: installing curl"
  apt_install curl
fi

# chromium: the web app's tests drive Debian's Chromium. chromium-headless-shell: what the browser
# steps launch (browser_executable_path defaults to it, then to /usr/bin/chromium, which works too
# but takes about 170 MB more, so a missing headless shell is a warning only).
if [ ! -x /usr/bin/chromium ]; then
  echo "system-deps: installing Debian's chromium"
  apt_install chromium fonts-liberation
fi
if [ ! -x /usr/lib/chromium/chromium-headless-shell ]; then
  echo "system-deps: installing Debian's chromium-headless-shell"
  apt_install chromium-headless-shell || echo "system-deps: the browser steps will use /usr/bin/chromium" >&2
fi

# node and npm: the web app's build and tests (Vite needs Node >= 20.19) and the CDK's jsii runtime
# (tests/infra synthesizes the AWS stack).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "system-deps: installing Debian's nodejs and npm"
  apt_install nodejs npm
fi
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  echo "system-deps: Node.js $(node --version) is too old: the web app's build needs >= 20.19 (https://nodejs.org)" >&2
  exit 1
fi
