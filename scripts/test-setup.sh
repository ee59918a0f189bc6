#!/usr/bin/env bash
# What `npm test` needs, set up before it runs (its `pretest`; `.ci/run` runs `npm test` too):
# PostgreSQL (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379) running, started where
# they are installed but stopped; Debian's chromium (the browser tests, e2e/) and nginx-light
# (the scale-out tests), installed where missing when this runs as root with apt-get, else it
# stops at once saying exactly what to install. HERALD_SKIP_TEST_SETUP=1 skips all of it.
set -euo pipefail
[ "${HERALD_SKIP_TEST_SETUP:-}" = "1" ] && exit 0

say() { printf 'test setup: %s\n' "$*" >&2; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# PostgreSQL and Redis are the machine's own; start them where they are stopped.
if ! listening 5432 && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  say "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
fi
if ! listening 6379 && command -v redis-server >/dev/null 2>&1; then
  say "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi
for _ in $(seq 1 50); do
  listening 5432 && listening 6379 && break
  sleep 0.2 # waiting for a server process to open its port: there is nothing to poll but the port
done

missing_services=()
listening 5432 || missing_services+=("PostgreSQL on 127.0.0.1:5432 (apt-get install -y postgresql, trust auth for user postgres)")
listening 6379 || missing_services+=("Redis on 127.0.0.1:6379 (apt-get install -y redis-server)")

# Debian's packages: never a browser that Playwright downloads.
wanted=()
[ -x "${HERALD_CHROMIUM:-/usr/bin/chromium}" ] || wanted+=(chromium)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || wanted+=(nginx-light)

if [ ${#wanted[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${wanted[*]} (Debian's packages) for the browser and scale-out tests"
    export DEBIAN_FRONTEND=noninteractive
    apt_get() { apt-get -o DPkg::Lock::Timeout=600 "$@"; }
    apt_get install -y "${wanted[@]}" >/dev/null 2>&1 ||
      { apt_get update >/dev/null && apt_get install -y "${wanted[@]}" >/dev/null; }
  else
    say "npm test needs Debian's ${wanted[*]}: missing, and this user cannot install packages (that takes root and apt-get). Install with:"
    say "  sudo apt-get install -y ${wanted[*]}"
    exit 1
  fi
fi

if [ ${#missing_services[@]} -gt 0 ]; then
  say "npm test needs these running, and they are not:"
  for service in "${missing_services[@]}"; do say "  $service"; done
  exit 1
fi
