#!/usr/bin/env bash
# Executes notebooks headlessly on the kit's Java kernel and fails if any cell fails.
#
#   environment/run-notebooks.sh [--update] [NOTEBOOK.ipynb ...]
#
# Without arguments: every notebooks/*.ipynb, sorted by name. Each notebook runs in a fresh kernel with
# `jupyter nbconvert --to notebook --execute`, in the notebook's own folder; the executed copy goes to
# notebooks/executed/<name>.ipynb (its streams tidied: a progress bar redrawn with \r leaves its last line only),
# an HTML export (formulas by the local MathJax) to notebooks/executed/<name>.html, and nbconvert's log (kernel
# log included) to notebooks/executed/<name>.log.
# A failing cell stops that notebook; the other notebooks still run (unless NB_FAIL_FAST=true), and the
# script exits 1 with the failing cell and its error printed.
#
# The notebooks are committed with the outputs of their quick run, so that they read on any code host.
# --update writes each passing notebook's outputs back into it (notebooks/<name>.ipynb): run it after changing a
# notebook or what it calls, and commit the result. Without --update, a notebook whose committed copy lacks outputs
# that its run produces (a code cell with output left empty) fails, with the command that regenerates it.
#
# rapaio 3.0.1 sometimes binds its channels but never reads its shell socket (about 1 start in 7 here; once 4
# in a row), which nbclient reports as "Kernel didn't respond in N seconds" before any cell ran. A healthy
# kernel answers in 1.5 s, so waiting longer never helps: only that startup failure is retried, with a short
# startup timeout and many attempts; cell errors and cell timeouts are never retried.
#
# Environment (defaults in brackets):
#   NB_KERNEL            kernel spec name [saferlhf-java]
#   NB_CELL_TIMEOUT      seconds one cell may run, -1 for no limit [900]
#   NB_STARTUP_TIMEOUT   seconds to wait for the kernel to answer at startup [15]
#   NB_STARTUP_RETRIES   extra attempts after a kernel startup failure [8]
#   NB_OUTPUT_DIR        where executed copies and logs go [notebooks/executed]
#   NB_FAIL_FAST         true: stop at the first failing notebook [false]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
KERNEL="${NB_KERNEL:-saferlhf-java}"
CELL_TIMEOUT="${NB_CELL_TIMEOUT:-900}"
STARTUP_TIMEOUT="${NB_STARTUP_TIMEOUT:-15}"
STARTUP_RETRIES="${NB_STARTUP_RETRIES:-8}"
OUT_DIR="${NB_OUTPUT_DIR:-$ROOT/notebooks/executed}"
FAIL_FAST="${NB_FAIL_FAST:-false}"
PY=/usr/bin/python3   # Debian's python, which sees nbformat/nbclient (pyenv's python3 may not)

case "${1:-}" in -h|--help) sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
update=false
if [ "${1:-}" = --update ]; then update=true; shift; fi

die() { echo "run-notebooks.sh: $*" >&2; exit 2; }
strip_ansi() { sed 's/\x1b\[[0-9;]*[A-Za-z]//g'; }

command -v jupyter >/dev/null 2>&1 || die "'jupyter' not found; run environment/install.sh"
spec_dir="$("$PY" -c 'import sys; from jupyter_client.kernelspec import KernelSpecManager as M; print(M().find_kernel_specs().get(sys.argv[1], ""))' "$KERNEL")"
[ -n "$spec_dir" ] || die "no Jupyter kernel spec '$KERNEL'; run environment/install.sh"
[ -s "$ROOT/lib/target/saferlhf.jar" ] || die "lib/target/saferlhf.jar is missing; run: mvn -B -DskipTests package (or environment/install.sh)"

notebooks=()
if [ $# -gt 0 ]; then
  for nb in "$@"; do
    [ -f "$nb" ] || die "no such notebook: $nb"
    notebooks+=("$(cd "$(dirname "$nb")" && pwd -P)/$(basename "$nb")")
  done
else
  while IFS= read -r nb; do notebooks+=("$nb"); done < <(find "$ROOT/notebooks" -maxdepth 1 -name '*.ipynb' -type f 2>/dev/null | LC_ALL=C sort)
fi
if [ ${#notebooks[@]} -eq 0 ]; then
  echo "No notebooks to run (none in notebooks/*.ipynb)."
  exit 0
fi
mkdir -p "$OUT_DIR"

echo "Kernel '$KERNEL' ($spec_dir); cell timeout ${CELL_TIMEOUT}s, startup timeout ${STARTUP_TIMEOUT}s, up to $STARTUP_RETRIES startup retries"
echo "Executed copies and logs: $OUT_DIR"

# Fails (exit 1) when the executed notebook holds an error output outside cells tagged raises-exception:
# a safety net in case a kernel reports an error without failing the execute request.
check_error_outputs() {
  "$PY" - "$1" <<'PY'
import json, sys
nb = json.load(open(sys.argv[1], encoding="utf-8"))
bad = []
for i, cell in enumerate(nb.get("cells", [])):
    if cell.get("cell_type") != "code" or "raises-exception" in cell.get("metadata", {}).get("tags", []):
        continue
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            src = "".join(cell.get("source", ""))
            bad.append(f"cell {i + 1}:\n{src}\n--> {out.get('ename', '')}: {out.get('evalue', '')}")
if bad:
    print("error output(s) in the executed notebook:\n" + "\n\n".join(bad))
    sys.exit(1)
PY
}

# Tidies the executed copy $1 in place: consecutive stream outputs merged, text overwritten by \r (a redrawn
# progress bar) dropped as a notebook front end shows it, nbclient's per-cell timing metadata removed (it would change
# every committed line). Then, with $3 = true, writes it over the committed notebook $2; otherwise fails (exit 1)
# when a code cell of $2 has no outputs where the run produced some.
tidy_and_compare() {
  "$PY" - "$1" "$2" "$3" <<'PY'
import re, sys
import nbformat
executed, committed, update = sys.argv[1], sys.argv[2], sys.argv[3] == "true"
nb = nbformat.read(executed, as_version=4)
overwritten = re.compile(r"[^\n]*\r(?=[^\n])")
for cell in nb.get("cells", []):
    cell.get("metadata", {}).pop("execution", None)
    if cell.get("cell_type") != "code":
        continue
    merged = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and merged and merged[-1].get("output_type") == "stream" \
                and merged[-1].get("name") == out.get("name"):
            merged[-1]["text"] = "".join(merged[-1]["text"]) + "".join(out["text"])
        else:
            merged.append(out)
    for out in merged:
        if out.get("output_type") == "stream":
            out["text"] = overwritten.sub("", "".join(out["text"]).replace("\r\n", "\n"))
    cell["outputs"] = merged
nbformat.write(nb, executed)
if update:
    nbformat.write(nb, committed)
    sys.exit(0)
old = nbformat.read(committed, as_version=4)
missing = [str(i + 1) for i, (ran, kept) in enumerate(zip(nb["cells"], old["cells"]))
           if ran.get("cell_type") == "code" and ran.get("outputs") and not kept.get("outputs")]
if missing:
    print(f"cell(s) {', '.join(missing)} have outputs when run but none committed; "
          f"regenerate: environment/run-notebooks.sh --update {committed}")
    sys.exit(1)
PY
}

# What nbconvert printed about the failing cell, without the kernel's own log lines.
show_cell_error() {
  strip_ansi <"$1" \
    | grep -v -E '^\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}\] \[|^(Add .* to classpath|Parsing classpath: )' \
    | sed -n '/An error occurred while executing the following cell/,$p' | head -n 80 | sed 's/^/    | /'
}

names=(); results=(); attempts_used=(); seconds=()
failed=0
total_start=$SECONDS
for nb in "${notebooks[@]}"; do
  name="$(basename "$nb")"
  stem="${name%.ipynb}"
  out_nb="$OUT_DIR/$name"
  log="$OUT_DIR/$stem.log"
  echo
  echo "=== $name"
  start=$SECONDS
  attempt=0
  result=""
  while :; do
    attempt=$((attempt + 1))
    rm -f "$out_nb"
    a_start=$SECONDS
    set +e
    (cd "$(dirname "$nb")" && jupyter nbconvert --to notebook --execute \
        --ExecutePreprocessor.kernel_name="$KERNEL" \
        --ExecutePreprocessor.timeout="$CELL_TIMEOUT" \
        --ExecutePreprocessor.startup_timeout="$STARTUP_TIMEOUT" \
        --output-dir "$OUT_DIR" --output "$stem" "$nb") >"$log" 2>&1 </dev/null
    rc=$?
    set -e
    a_secs=$((SECONDS - a_start))
    if [ $rc -eq 0 ]; then
      if ! msg="$(check_error_outputs "$out_nb")"; then
        result=FAILED
        echo "    FAILED: $name: $msg" | sed '2,$s/^/    | /'
      elif ! msg="$(tidy_and_compare "$out_nb" "$nb" "$update")"; then
        result=FAILED
        echo "    FAILED: $name: $msg"
      else
        result=passed
        jupyter nbconvert --to html --output-dir "$OUT_DIR" --output "$stem" "$out_nb" >>"$log" 2>&1 </dev/null \
          || echo "    (no HTML export; see $log)"
        if $update; then echo "    outputs written to $nb"; fi
      fi
      break
    fi
    if grep -q -E 'CellExecutionError|CellTimeoutError|DeadKernelError' "$log"; then
      result=FAILED
      if grep -q CellTimeoutError "$log"; then
        echo "    FAILED: $name: a cell ran longer than NB_CELL_TIMEOUT=${CELL_TIMEOUT}s"
      elif grep -q DeadKernelError "$log"; then
        echo "    FAILED: $name: the kernel died while running a cell (out of memory?); log: $log"
      else
        echo "    FAILED: $name: a cell raised an error:"
      fi
      show_cell_error "$log"
      break
    fi
    if grep -q -E "Kernel didn't respond in [0-9]+ seconds|Kernel died before replying to kernel_info" "$log"; then
      if [ $attempt -le "$STARTUP_RETRIES" ]; then
        echo "    kernel did not start (attempt $attempt, ${a_secs}s: $(grep -m1 -o -E "Kernel didn't respond in [0-9]+ seconds|Kernel died before replying to kernel_info" "$log")); retrying"
        cp -f "$log" "$OUT_DIR/$stem.startup-failure-$attempt.log"
        continue
      fi
      result=FAILED
      echo "    FAILED: $name: the kernel did not start in $attempt attempts; log: $log"
      strip_ansi <"$log" | tail -n 15 | sed 's/^/    | /'
      break
    fi
    result=FAILED
    echo "    FAILED: $name: nbconvert exited with $rc; last lines of $log:"
    strip_ansi <"$log" | tail -n 30 | sed 's/^/    | /'
    break
  done
  secs=$((SECONDS - start))
  names+=("$name"); results+=("$result"); attempts_used+=("$attempt"); seconds+=("$secs")
  if [ "$result" = passed ]; then
    echo "    passed in ${secs}s ($attempt attempt(s)) -> $out_nb"
  else
    echo "    FAILED in ${secs}s ($attempt attempt(s)); log: $log"
  fi
  if [ "$result" != passed ]; then
    failed=$((failed + 1))
    if [ "$FAIL_FAST" = true ]; then echo "    NB_FAIL_FAST=true: not running the remaining notebooks"; break; fi
  fi
done

echo
echo "=== Summary"
printf '%-44s %-8s %8s %9s\n' NOTEBOOK RESULT ATTEMPTS SECONDS
for i in "${!names[@]}"; do
  printf '%-44s %-8s %8s %9s\n' "${names[$i]}" "${results[$i]}" "${attempts_used[$i]}" "${seconds[$i]}"
done
printf '%-44s %-8s %8s %9s\n' "total (${#names[@]} of ${#notebooks[@]} run)" "$([ $failed -eq 0 ] && echo passed || echo "$failed failed")" "" "$((SECONDS - total_start))"

if [ $failed -gt 0 ]; then
  echo "run-notebooks.sh: $failed notebook(s) failed" >&2
  exit 1
fi
