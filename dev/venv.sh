# Sourced by dev/demo.sh and dev/test.sh: the project's virtualenv and editable install.
# `ensure_venv EXTRA` creates .venv (python3.11/3.12) if missing and installs
# `-e .[EXTRA]`, skipped while pyproject.toml and the checkout path are unchanged.
# Expects ROOT (the repository) and the current directory to be the repository.

ensure_venv() {  # ensure_venv EXTRA
  local extra=$1 py stamp want
  if [ ! -x .venv/bin/python ]; then
    py=$(command -v python3.11 || command -v python3.12 || command -v python3 || true)
    [ -n "$py" ] || { echo "${0##*/}: python3.11 not found" >&2; exit 1; }
    "$py" -c 'import sys; sys.exit(sys.version_info[:2] not in ((3, 11), (3, 12)))' \
      || { echo "${0##*/}: $py is not Python 3.11/3.12" >&2; exit 1; }
    echo "creating .venv with $py"
    if ! "$py" -m venv .venv; then
      rm -rf .venv
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then   # Debian: venv needs pythonX.Y-venv
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
          "python3.$("$py" -c 'import sys; print(sys.version_info[1])')-venv" >/dev/null
        "$py" -m venv .venv
      else
        echo "${0##*/}: '$py -m venv' failed (install python3-venv)" >&2; exit 1
      fi
    fi
  fi
  stamp=.venv/.rivet-dagster-$extra.stamp
  # The C decoders (rivet_dagster/native) are compiled by the install: its sources count too.
  want="$(cat pyproject.toml setup.py rivet_dagster/native/*.[ch] | sha256sum | cut -d' ' -f1) $ROOT"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] \
     || ! .venv/bin/python -I -c 'import importlib.util as u, os, sys; s = u.find_spec("rivet_dagster")
sys.exit(s is None or not os.path.realpath(s.origin).startswith(os.path.realpath(sys.argv[1]) + os.sep))' "$ROOT" 2>/dev/null; then
    if ! command -v cc >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "installing gcc (apt) for the C decoder"   # without it the install falls back to ADBC
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc >/dev/null
    fi
    echo "installing rivet-dagster[$extra] into .venv (pip, quiet)"
    local log=.venv/.rivet-dagster-pip.log
    if ! .venv/bin/python -m pip install -q -e ".[$extra]" >"$log" 2>&1; then
      cat "$log" >&2; echo "${0##*/}: pip install -e '.[$extra]' failed (log above)" >&2; exit 1
    fi
    echo "$want" > "$stamp"
  fi
}

