#!/usr/bin/env bash
# Seed the rivet_demo databases (run dev/services.sh first).
#
#   dev/seed_demo.sh [--force] [pg] [mysql]      default: both engines
#
# Tables on both engines: customers (10k), orders (100k), events (1M, generated server-side),
# all_types (every supported type, NULLs, extremes). A rerun is a no-op (well under a second)
# when every table holds the expected row count and all_types carries the comment written by
# the last seed of the current SQL file; otherwise the engine's tables are dropped and recreated.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
E=${EMU_DIR:-/tmp/rivet-dagster-services}
PG_SQL=$ROOT/dev/seed_demo_pg.sql
MY_SQL=$ROOT/dev/seed_demo_mysql.sql
PG_ALL_TYPES_ROWS=7
MY_ALL_TYPES_ROWS=7

force=0 engines=()
for arg in "$@"; do
  case "$arg" in
    --force|-f) force=1 ;;
    pg|mysql) engines+=("$arg") ;;
    -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "seed_demo: unknown argument '$arg' (use: [--force] [pg] [mysql])" >&2; exit 2 ;;
  esac
done
[ ${#engines[@]} -gt 0 ] || engines=(pg mysql)

pg()    { psql -X -w -q -h 127.0.0.1 -p 5432 -U postgres -d rivet_demo -v ON_ERROR_STOP=1 "$@"; }
mysqlc() { mariadb --protocol=TCP -h 127.0.0.1 -P 3306 -u root --password= --default-character-set=utf8mb4 rivet_demo "$@"; }
tag_of() { echo "rivet_dagster seed $(sha256sum "$1" | cut -c1-16)"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# One line: the four row counts and the table comment ("" when a table is missing).
pg_state() {
  pg -A -t -c "select (select count(*) from customers) || ' ' || (select count(*) from orders) || ' '
                   || (select count(*) from events) || ' ' || (select count(*) from all_types) || ' '
                   || coalesce(obj_description('all_types'::regclass, 'pg_class'), '')" 2>/dev/null || true
}
my_state() {
  mysqlc -N -B -e "select concat_ws(' ', (select count(*) from customers), (select count(*) from orders),
                   (select count(*) from events), (select count(*) from all_types),
                   (select table_comment from information_schema.tables
                     where table_schema = 'rivet_demo' and table_name = 'all_types'))" 2>/dev/null || true
}

seed_pg() {
  local tag want start
  tag=$(tag_of "$PG_SQL")
  want="10000 100000 1000000 $PG_ALL_TYPES_ROWS $tag"
  if [ "$force" = 0 ] && [ "$(pg_state)" = "$want" ]; then
    echo "pg: rivet_demo already seeded"; return
  fi
  start=$(now)
  pg -f "$PG_SQL" -c "COMMENT ON TABLE all_types IS '$tag'" >/dev/null
  [ "$(pg_state)" = "$want" ] || { echo "pg: unexpected row counts after seeding: $(pg_state) (want $want)" >&2; exit 1; }
  echo "pg: seeded rivet_demo in $(elapsed "$start") s (customers 10k, orders 100k, events 1M, all_types $PG_ALL_TYPES_ROWS)"
}

seed_mysql() {
  local tag want start
  tag=$(tag_of "$MY_SQL")
  want="10000 100000 1000000 $MY_ALL_TYPES_ROWS $tag"
  if [ "$force" = 0 ] && [ "$(my_state)" = "$want" ]; then
    echo "mysql: rivet_demo already seeded"; return
  fi
  start=$(now)
  { cat "$MY_SQL"; printf "\nALTER TABLE all_types COMMENT = '%s';\n" "$tag"; } | mysqlc >/dev/null
  [ "$(my_state)" = "$want" ] || { echo "mysql: unexpected row counts after seeding: $(my_state) (want $want)" >&2; exit 1; }
  echo "mysql: seeded rivet_demo in $(elapsed "$start") s (customers 10k, orders 100k, events 1M, all_types $MY_ALL_TYPES_ROWS)"
}

# serialise concurrent seeders (parallel test workers, demo + tests at once)
mkdir -p "$E"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$E/seed.lock"
  flock -w 600 9 || { echo "seed_demo: timed out waiting for $E/seed.lock" >&2; exit 1; }
fi
for engine in "${engines[@]}"; do "seed_$engine"; done
