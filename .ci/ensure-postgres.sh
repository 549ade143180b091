#!/usr/bin/env bash
# Make sure PostgreSQL's server binaries (initdb, pg_ctl, postgres) are on this machine.
# The tests and benchmarks start throw-away servers of their own in temp dirs
# (tests/pg_fixtures.py); nothing here starts or configures a server.
#
# When the binaries are missing, installs Debian's `postgresql` package (needs root and
# apt-get) without its default cluster, so nothing is left listening on port 5432.
# Without root or apt-get it only warns: the PostgreSQL tests then skip, saying why.
# Under CI (CI=true) a failed install is an error: CI must not skip them silently.
#
# Why Debian's package and not a wheel that bundles the server: it is the build that
# production hosts run and that Debian keeps patched, it is already part of this
# project's machine image (so CI usually installs nothing), and it keeps ~50 MB of
# server binaries out of every `pip install -e ".[test]"`. The wheels that bundle a
# server are repackagings by small projects that lag PostgreSQL's releases.
set -euo pipefail

have_server() {
  if [[ -n "${OPENCLAW_PG_BINDIR:-}" && -x "$OPENCLAW_PG_BINDIR/initdb" ]]; then
    return 0
  fi
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    if [[ -x $dir/initdb && -x $dir/pg_ctl && -x $dir/postgres ]]; then
      return 0
    fi
  done
  command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 && command -v postgres >/dev/null 2>&1
}

fail() {
  echo "ensure-postgres: $*" >&2
  if [[ "${CI:-}" == "true" ]]; then
    exit 1
  fi
  echo "ensure-postgres: the PostgreSQL tests will be skipped" >&2
  exit 0
}

if have_server; then
  echo "ensure-postgres: PostgreSQL server binaries present"
  exit 0
fi
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  fail "no PostgreSQL server binaries, and no way to install them here (needs root and apt-get)"
fi

echo "ensure-postgres: installing Debian's postgresql package"
# No default cluster: the fixtures make their own (postgresql-common's documented switch).
mkdir -p /etc/postgresql-common
if [[ ! -e /etc/postgresql-common/createcluster.conf ]]; then
  echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || fail "apt-get update failed"
apt-get install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  postgresql >/dev/null || fail "apt-get install postgresql failed"
have_server || fail "postgresql is installed but initdb/pg_ctl/postgres were not found"
echo "ensure-postgres: PostgreSQL server binaries installed"
