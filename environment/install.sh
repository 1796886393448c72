#!/usr/bin/env bash
# Installs what the kit's notebooks need and registers the Jupyter kernel spec `saferlhf-java`.
#
#   environment/install.sh [--with-notebook-ui] [--system] [--rebuild] [--help]
#
# Steps (each one is skipped when its result is already there, so the script can be run again):
#   1. Debian packages: a JDK 17 with jshell, Maven, fonts for chart rendering, jupyter-nbconvert
#      (nbconvert + nbclient), jupyter-client (`jupyter kernelspec list`), MathJax for the formulas of exported HTML
#      (libjs-mathjax: Debian's nbconvert points HTML at it, offline), tcmalloc (./saferlhf preloads it: less memory),
#      a C compiler (for the MKL CPU dispatch shim of environment/native/), Chromium and its WebDriver (the web arena's
#      browser test); with --with-notebook-ui also jupyter-notebook.
#   2. The rapaio Java kernel jar from Maven Central, into environment/.cache/ (git-ignored).
#   3. The kit itself (lib/target/saferlhf.jar + lib/target/lib/*.jar) with `mvn -B -DskipTests package`,
#      when absent (or always with --rebuild).
#   4. The kernel spec `saferlhf-java` in the user's Jupyter data dir (`jupyter --data-dir`/kernels), or
#      with --system in /usr/local/share/jupyter/kernels. It is rewritten on every run.
#
# Environment: SAFERLHF_KERNEL_HEAP (default 4g) sets the kernel JVM's -Xmx.
# Runs as root, or as a user with sudo for the apt step (apt is skipped when nothing is missing).
set -euo pipefail

RJK_VERSION=3.0.1
RJK_ARTIFACT="io.github.padreati:rapaio-jupyter-kernel:${RJK_VERSION}"
KERNEL_NAME=saferlhf-java
KERNEL_DISPLAY_NAME="Java (Safe RLHF kit)"
HEAP="${SAFERLHF_KERNEL_HEAP:-4g}"

with_ui=false
system=false
rebuild=false
for arg in "$@"; do
  case "$arg" in
    --with-notebook-ui) with_ui=true ;;
    --system) system=true ;;
    --rebuild) rebuild=true ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
CACHE="$ROOT/environment/.cache"
RJK_JAR="$CACHE/rapaio-jupyter-kernel-${RJK_VERSION}.jar"

step() { printf '\n==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
run() { printf '    $ %s\n' "$*"; "$@"; }

# ---------------------------------------------------------------- 1. Debian packages
step "Debian packages"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); fi
fi

packages=(openjdk-17-jdk-headless maven fontconfig fonts-dejavu-core jupyter-nbconvert python3-nbclient python3-jupyter-client
          jupyter-client libjs-mathjax libtcmalloc-minimal4 gcc chromium chromium-driver)
$with_ui && packages+=(jupyter-notebook)

missing=()
for p in "${packages[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done
# A JDK other than Debian's (e.g. from JAVA_HOME) is fine as long as it is 17+ and has jshell.
if [ ${#missing[@]} -gt 0 ] && command -v jshell >/dev/null 2>&1 && command -v mvn >/dev/null 2>&1; then
  kept=()
  for p in "${missing[@]}"; do
    case "$p" in
      openjdk-17-jdk-headless) info "not installing $p: using the JDK with $(command -v jshell)" ;;
      maven) info "not installing $p: using $(command -v mvn)" ;;
      *) kept+=("$p") ;;
    esac
  done
  missing=("${kept[@]+"${kept[@]}"}")
fi

if [ ${#missing[@]} -eq 0 ]; then
  info "all present: ${packages[*]}"
else
  info "missing: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ] && [ ${#SUDO[@]} -eq 0 ]; then
    echo "install.sh: need root or sudo to install: ${missing[*]}" >&2
    exit 1
  fi
  run "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  run "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

for cmd in java jshell mvn jupyter; do
  command -v "$cmd" >/dev/null 2>&1 || { echo "install.sh: '$cmd' is still not on PATH" >&2; exit 1; }
done
java_version="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
if [ "${java_version%%.*}" -lt 17 ] 2>/dev/null; then
  echo "install.sh: java on PATH is version $java_version; the kit needs 17 or newer" >&2
  exit 1
fi
info "java $java_version at $(command -v java), $(mvn -B -v 2>/dev/null | sed -n 1p), jupyter at $(command -v jupyter)"

# ---------------------------------------------------------------- 2. rapaio kernel jar
step "rapaio Jupyter kernel $RJK_VERSION"
mkdir -p "$CACHE"
if [ -s "$RJK_JAR" ] && jar tf "$RJK_JAR" >/dev/null 2>&1; then
  info "present: $RJK_JAR"
else
  # -N: run once for the aggregator (not per module); the project's pluginManagement pins the plugin version.
  (cd "$ROOT" && run mvn -B -N dependency:copy -Dartifact="$RJK_ARTIFACT" -DoutputDirectory="$CACHE" -Dmdep.overWriteReleases=true)
  [ -s "$RJK_JAR" ] || { echo "install.sh: $RJK_JAR was not fetched" >&2; exit 1; }
fi

# ---------------------------------------------------------------- 3. the kit
step "Safe RLHF kit jar"
KIT_JAR="$ROOT/lib/target/saferlhf.jar"
KIT_LIB="$ROOT/lib/target/lib"
if ! $rebuild && [ -s "$KIT_JAR" ] && compgen -G "$KIT_LIB/*.jar" >/dev/null; then
  info "present: $KIT_JAR and $(ls "$KIT_LIB"/*.jar | wc -l) jars in $KIT_LIB (rebuild: mvn -B -DskipTests package, or --rebuild)"
else
  (cd "$ROOT" && run mvn -B -DskipTests package)
fi

# the preloaded libraries (environment/preload.sh), built now: ./saferlhf and the kernel spec use them
. "$ROOT/environment/preload.sh"
PRELOAD="$(saferlhf_preload "$ROOT")"
info "preloaded by ./saferlhf and the kernel: ${PRELOAD:-nothing}"

# ---------------------------------------------------------------- 4. kernel spec
step "Jupyter kernel spec '$KERNEL_NAME'"
if $system; then
  KERNELS_DIR=/usr/local/share/jupyter/kernels
else
  KERNELS_DIR="$(jupyter --data-dir)/kernels"
fi
SPEC_DIR="$KERNELS_DIR/$KERNEL_NAME"
if $system && [ "$(id -u)" -ne 0 ]; then
  run "${SUDO[@]}" mkdir -p "$SPEC_DIR"
  run "${SUDO[@]}" chown "$(id -u):$(id -g)" "$SPEC_DIR"
else
  mkdir -p "$SPEC_DIR"
fi
cp -f "$RJK_JAR" "$SPEC_DIR/rapaio-jupyter-kernel.jar"
mkdir -p "$CACHE/mima_cache"

# json.dumps quotes paths safely; Debian's python (pyenv's python3 on PATH may be another one).
KERNEL_JSON="$SPEC_DIR/kernel.json" JAVA_BIN="$(command -v java)" SPEC_DIR="$SPEC_DIR" ROOT="$ROOT" CACHE="$CACHE" \
HEAP="$HEAP" NAME="$KERNEL_DISPLAY_NAME" PRELOAD="$PRELOAD" /usr/bin/python3 - <<'PY'
import json, os
e = os.environ
root, spec = e["ROOT"], e["SPEC_DIR"]
jar, lib = f"{root}/lib/target/saferlhf.jar", f"{root}/lib/target/lib"
spec_json = {
    "argv": [e["JAVA_BIN"], f"-Xmx{e['HEAP']}", "-Djava.awt.headless=true",
             "-jar", f"{spec}/rapaio-jupyter-kernel.jar", "{connection_file}"],
    "display_name": e["NAME"],
    "language": "java",
    "interrupt_mode": "message",
    "env": {
        # rapaio: ';'-separated, globs allowed; IJava / JJava: the OS path separator, '*' entries
        "RJK_CLASSPATH": f"{jar};{lib}/*.jar",
        "IJAVA_CLASSPATH": f"{jar}:{lib}/*",
        "JJAVA_CLASSPATH": f"{jar}:{lib}/*",
        "RJK_COMPILER_OPTIONS": "",
        "RJK_INIT_SCRIPT": "",
        "RJK_TIMEOUT_MILLIS": "-1",
        "RJK_MIMA_CACHE": f"{e['CACHE']}/mima_cache",
        "DJL_OFFLINE": "true",
        "OPT_OUT_TRACKING": "true",
        "DJL_DEFAULT_ENGINE": "PyTorch",
        "OMP_WAIT_POLICY": "PASSIVE",
        "SAFERLHF_HOME": root,
        "SAFERLHF_NOTEBOOK": "1",  # progress bars redraw one line (saferlhf.util.KitJvm.NOTEBOOK_ENV)
    },
}
if e["PRELOAD"]:  # as ./saferlhf: the same kernels, so a notebook's numbers match the command line's
    spec_json["env"]["LD_PRELOAD"] = e["PRELOAD"]
with open(e["KERNEL_JSON"], "w") as f:
    json.dump(spec_json, f, indent=2)
    f.write("\n")
PY
info "wrote $SPEC_DIR/kernel.json:"
sed 's/^/      /' "$SPEC_DIR/kernel.json"

# Check that Jupyter resolves the spec (the first dir in the data path wins on a name clash).
resolved="$(/usr/bin/python3 -c 'import sys; from jupyter_client.kernelspec import KernelSpecManager as M; print(M().find_kernel_specs().get(sys.argv[1], ""))' "$KERNEL_NAME")"
if [ "$resolved" != "$SPEC_DIR" ]; then
  echo "install.sh: Jupyter resolves '$KERNEL_NAME' to '${resolved:-nothing}', not $SPEC_DIR" >&2
  exit 1
fi
info "Jupyter resolves '$KERNEL_NAME' to $resolved"
if ! jupyter kernelspec list 2>/dev/null | grep -q "^ *$KERNEL_NAME "; then
  echo "install.sh: 'jupyter kernelspec list' does not show '$KERNEL_NAME'" >&2
  exit 1
fi
info "jupyter kernelspec list shows '$KERNEL_NAME'"

step "Done"
info "headless:  environment/run-notebooks.sh [notebooks/NN-name.ipynb ...]"
if $with_ui || command -v jupyter-notebook >/dev/null 2>&1; then
  info "browser:   cd notebooks && jupyter notebook   (pick the kernel \"$KERNEL_DISPLAY_NAME\")"
else
  info "browser:   run again with --with-notebook-ui, then: cd notebooks && jupyter notebook"
fi
