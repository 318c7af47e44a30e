#!/usr/bin/env bash
# Executes examples/notebook/spark-sync.ipynb headless in the tslab TypeScript kernel, as a reader
# would run it, and fails if any cell fails (the notebook throws when verify finds anything
# missing or duplicated). Pinned Jupyter (PyPI) and tslab (npm) go under .cache/ in the repo and
# the kernelspec into that venv: nothing lands in ~/.local or in the project's dependencies.
#
# Needs python3 >= 3.11.5, Node 20, Java 17, and a built repo (dist/ and jars/: `npm install`).
# Usage: bash scripts/check-notebook.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=$ROOT/.cache
VENV=$CACHE/notebook-venv
TSLAB_PREFIX=$CACHE/tslab
TSLAB_BIN=$TSLAB_PREFIX/node_modules/.bin/tslab
NOTEBOOK_DIR=$ROOT/examples/notebook
NOTEBOOK=$NOTEBOOK_DIR/spark-sync.ipynb
PYTHON=${PYTHON:-python3}

# The whole closure of `jupyter nbconvert --execute` (pip freeze of a clean venv, Python 3.11),
# installed with --no-deps so no transitive version floats. tslab needs no ipykernel.
PY_PINS=(
  attrs==26.1.0 beautifulsoup4==4.15.0 bleach==6.4.0 defusedxml==0.7.1 fastjsonschema==2.22.3
  Jinja2==3.1.6 jsonschema==4.26.0 jsonschema-specifications==2025.9.1 jupyter_client==8.10.0
  jupyter_core==5.9.1 jupyterlab_pygments==0.3.0 MarkupSafe==3.0.4 mistune==3.4.0 nbclient==0.11.0
  nbconvert==7.17.2 nbformat==5.11.1 packaging==26.3 pandocfilters==1.5.1 platformdirs==4.14.7
  Pygments==2.21.0 python-dateutil==4.0.0 pyzmq==27.3.0 referencing==0.37.0 rpds-py==2026.9.1
  soupsieve==4.1.2 tinycss2==1.5.1 tornado==6.6.1 traitlets==5.16.1 typing_extensions==4.16.0
  tzdata==2026.6 webencodings==0.6.1
)
# tslab 1.0.22 is the newest; it asks for zeromq ^6, pinned here as it is the native part. Its
# addon comes prebuilt in the package (linux-x64 glibc); npm 11 skips zeromq's install script,
# which only checks that the addon loads (done below) or else builds it with cmake.
NPM_PINS=(tslab@1.0.22 zeromq@6.8.0)

die() { echo "check-notebook: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

# --- prerequisites: fail in a second with what to do, not in the middle of a cell -------------
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11, 5))' || die "$PYTHON must be Python >= 3.11.5 (set PYTHON=...)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || die "Node 20 or newer is needed"
command -v java >/dev/null || die "java (17) is not on PATH"
[[ -f $ROOT/dist/src/index.js ]] || die "dist/ is not built: run npm install in $ROOT"
[[ -f $ROOT/jars/spark/spark-sync-jobs.jar ]] && compgen -G "$ROOT/jars/kafka/kafka_*.jar" >/dev/null ||
  die "jars/ is incomplete: run npm run build:jars in $ROOT"

# --- a run folder, cleaned up on exit; Jupyter kept out of ~/.jupyter and ~/.local -----------
RUN=$(mktemp -d "${TMPDIR:-/tmp}/spark-sync-check-notebook.XXXXXX")
cleanup() {
  local rc=$?
  # A failed cell leaves the notebook's broker running (a child JVM in its own process group,
  # which outlives the kernel): stop it by the pid file in the notebook's temporary folder.
  local pidfile pid
  for pidfile in "$RUN"/tmp/spark-sync-notebook-*/kafka/broker.pid; do
    [[ -f $pidfile ]] || continue
    pid=$(<"$pidfile")
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in {1..100}; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    echo "check-notebook: stopped the notebook's Kafka broker (pid $pid)" >&2
  done
  if ((rc == 0)); then rm -rf "$RUN"; else echo "check-notebook: FAILED (exit $rc); files kept in $RUN" >&2; fi
}
trap cleanup EXIT

mkdir -p "$RUN/tmp"
# Our kernelspec ahead of any other "tslab" (~/.local, /usr/local); no user config or runtime
# files from or into ~/.jupyter and ~/.local/share/jupyter. The notebook's temporary folder
# (broker, checkpoint, SPARK_SYNC_HOME) lands in $RUN/tmp, where cleanup finds it.
export JUPYTER_PATH=$VENV/share/jupyter
export JUPYTER_CONFIG_DIR=$RUN/jupyter-config JUPYTER_DATA_DIR=$RUN/jupyter-data JUPYTER_RUNTIME_DIR=$RUN/jupyter-runtime
export TMPDIR=$RUN/tmp

# --- install (skipped when the stamp matches the pins) ----------------------------------------
install_started=$(now)
installed=()
py_stamp="python $("$PYTHON" -c 'import platform; print(platform.python_version())') ${PY_PINS[*]}"
if [[ ! -x $VENV/bin/jupyter || $(cat "$VENV/.pins" 2>/dev/null) != "$py_stamp" ]]; then
  rm -rf "$VENV" # a fresh venv, so pins removed from the list do not linger
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps --only-binary=:all: "${PY_PINS[@]}"
  "$VENV/bin/pip" check --disable-pip-version-check >/dev/null ||
    die "the pinned Python packages are inconsistent: $("$VENV/bin/pip" check)"
  echo "$py_stamp" >"$VENV/.pins"
  installed+=("venv")
fi
npm_stamp="node $(node --version) ${NPM_PINS[*]}"
if [[ ! -x $TSLAB_BIN || $(cat "$TSLAB_PREFIX/.pins" 2>/dev/null) != "$npm_stamp" ]]; then
  rm -rf "$TSLAB_PREFIX"
  # A scratch prefix, not the project's package.json: tslab is a tool for this check only.
  npm install --prefix "$TSLAB_PREFIX" --no-audit --no-fund --loglevel=error "${NPM_PINS[@]}"
  (cd "$TSLAB_PREFIX" && node -e 'require("zeromq")') || die "tslab's zeromq addon does not load on this machine"
  echo "$npm_stamp" >"$TSLAB_PREFIX/.pins"
  installed+=("tslab")
fi
# Registered by hand, with exactly the kernel.json `tslab install` writes: its installer imports
# IPython just for a temporary folder, and IPython is not otherwise needed here.
kernel_json=$VENV/share/jupyter/kernels/tslab/kernel.json
expected_kernel=$(printf '{"argv": ["%s", "kernel", "--config-path", "{connection_file}"], %s}' \
  "$TSLAB_BIN" '"display_name": "TypeScript", "language": "typescript"')
if [[ $(cat "$kernel_json" 2>/dev/null) != "$expected_kernel" ]]; then
  spec=$(mktemp -d)
  mkdir "$spec/tslab" && echo "$expected_kernel" >"$spec/tslab/kernel.json"
  "$VENV/bin/jupyter" kernelspec install --prefix "$VENV" --log-level=WARN "$spec/tslab"
  rm -rf "$spec"
  installed+=("kernelspec")
fi
# The notebook imports 'spark-sync' by its package name; this resolves it to this checkout (its
# package.json main is dist/src/index.js) without publishing. Relative, so a moved repo still works.
mkdir -p "$NOTEBOOK_DIR/node_modules"
ln -sfn ../../.. "$NOTEBOOK_DIR/node_modules/spark-sync"
echo "check-notebook: install: $(since "$install_started") (${installed[*]:-all cached});" \
  "tslab ${NPM_PINS[0]#tslab@}, nbconvert $("$VENV/bin/jupyter-nbconvert" --version)"

# --- execute ----------------------------------------------------------------------------------
run_started=$(now)
# The kernel starts in the notebook's folder (nbconvert's default), where node_modules/spark-sync is.
"$VENV/bin/jupyter" nbconvert --to notebook --execute --ExecutePreprocessor.timeout=600 \
  --output-dir "$RUN" --output executed "$NOTEBOOK"
run_time=$(since "$run_started")

# What the cells printed (batches, verify's figures), for the log.
"$VENV/bin/python" - "$RUN/executed.ipynb" <<'EOF'
import json, sys
for cell in json.load(open(sys.argv[1]))["cells"]:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            sys.stdout.write("  | " + "  | ".join("".join(out["text"]).splitlines(keepends=True)))
EOF
echo "check-notebook: OK: every cell ran; execute: $run_time (kernel start, Spark start and broker included)"
