# Start a throwaway PostgreSQL server on loopback for the tuning-database tests.
#
# Source it (`. .ci/postgres.sh`) before pytest: it installs PostgreSQL from Debian's
# packages when missing, runs its own cluster in $OPFORGE_PG_DIR on 127.0.0.1:$OPFORGE_PG_PORT,
# creates a user and a database, and exports OPFORGE_TEST_POSTGRES_URL. Run again, it reuses
# the running server. It never touches the distribution's default cluster.
# shellcheck shell=bash

_opforge_pg_start() {
    local dir="${OPFORGE_PG_DIR:-/tmp/opforge-pg}"
    local port="${OPFORGE_PG_PORT:-55432}"
    local user="opforge" password="opforge" db="opforge_test"
    local bindir run=()

    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        echo "postgres.sh: installing PostgreSQL from Debian's packages" >&2
        local sudo=()
        [ "$(id -u)" -eq 0 ] || sudo=(sudo)
        "${sudo[@]}" apt-get update -qq || return 1
        DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq postgresql >/dev/null || return 1
    fi
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

    # initdb and postgres refuse to run as root: run them as the packages' postgres user
    if [ "$(id -u)" -eq 0 ]; then
        run=(runuser -u postgres --)
    fi

    if [ ! -f "$dir/PG_VERSION" ]; then
        mkdir -p "$dir" || return 1
        [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
        "${run[@]}" "$bindir/initdb" -D "$dir" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
            -E UTF8 --locale=C.UTF-8 >"$dir.initdb.log" 2>&1 || { cat "$dir.initdb.log" >&2; return 1; }
    fi

    if ! "${run[@]}" "$bindir/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
        # max_connections covers the concurrency tests (4 writers plus pytest-xdist workers)
        "${run[@]}" "$bindir/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start \
            -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=200" \
            >/dev/null || { tail -n 20 "$dir/server.log" >&2; return 1; }
    fi

    local psql=("${run[@]}" "$bindir/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
    if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = '$user'")" != "1" ]; then
        "${psql[@]}" -c "CREATE ROLE $user LOGIN PASSWORD '$password'" || return 1
    fi
    if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != "1" ]; then
        "${psql[@]}" -c "CREATE DATABASE $db OWNER $user" || return 1
    fi

    export OPFORGE_TEST_POSTGRES_URL="postgresql+psycopg://$user:$password@127.0.0.1:$port/$db"
    echo "OPFORGE_TEST_POSTGRES_URL=$OPFORGE_TEST_POSTGRES_URL"
}

_opforge_pg_start || echo "postgres.sh: could not start PostgreSQL; the postgres tests will be skipped" >&2
unset -f _opforge_pg_start
