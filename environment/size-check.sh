#!/usr/bin/env bash
# Runs SFT -> reward model -> cost model -> PPO-Lagrangian at GPT-2-small size (preset:llama-113m, 113.7M parameters,
# 256-token sequences from a byte-level tokenizer) on PKU-SafeRLHF-format records, with full fine-tuning and with LoRA,
# and prints per stage: optimizer steps run, median seconds per step, tokens/s, peak resident memory of the java
# process, and whether it finished. Results and how to read them: docs/real-models.md.
#
#   environment/size-check.sh [--variant full|lora|both] [--steps N] [--max-length N] [--preset full|paper]
#       [--sft-micro-batch N] [--pair-micro-batch N] [--rl-micro-batch N] [--cap-mb MB] [--stages LIST]
#       [--lora-rank R] [--lora-targets LIST] [--lora-base DIR] [--model MODEL] [--tokenizer DIR] [--sft SPEC]
#       [--pairs SPEC] [--prompts SPEC] [--device D] [--out DIR]
#
# Stages (each from the previous ones' models; no evaluation, no resumable checkpoints, the final model saved):
#   full:  sft (from MODEL), rm and cm (from sft), ppo-lag (actor sft, reward rm, cost cm; critics from rm and cm)
#   lora:  the same four with adapters: sft-lora on the full run's sft model (--lora-base; adapters need a saved base),
#          rm-lora and cm-lora (lora_rank) on sft-lora, ppo-lag-lora (actor_lora_rank and critic_lora_rank) on those
# Batch sizes are the preset's (per_device_train_batch_size x gradient_accumulation_steps sequences or pairs per
# optimizer step; per_device_prompt_batch_size prompts per rollout), read with --print-config. A smaller micro-batch
# keeps the same optimizer step by raising gradient_accumulation_steps (SFT, rm, cm); PPO has no accumulation, so a
# smaller --rl-micro-batch means more rl steps per rollout (per_device_prompt_batch_size / N), each on fewer sequences.
# SFT, rm and cm run --steps optimizer steps (records = steps x the preset's batch); PPO one rollout.
#
# Options (defaults):
#   --variant V          both (full, then lora), full or lora
#   --steps N            3: optimizer steps of sft, rm and cm (the median then leaves out the first step's warm-up)
#   --max-length N       256: max_length of every stage (the full preset's 96 would cut byte-level sequences short)
#   --preset P           full: the stages' preset (batch sizes, learning rates); paper: the reference's
#   --sft-micro-batch N  the preset's per_device_train_batch_size (sequences); must divide the preset's batch
#   --pair-micro-batch N the preset's per_device_train_batch_size (pairs, two sequences each) of rm and cm
#   --rl-micro-batch N   the preset's per_device_train_batch_size of ppo-lag (sequences per rl step)
#   --cap-mb MB          none: stop a stage whose java process holds more than MB of anonymous memory (RssAnon,
#                        polled every 0.2 s; reported as "stopped at the cap"), for shared machines
#   --stages LIST        sft,rm,cm,ppo-lag: the stages to run (of each variant); OUT is kept, the listed stages'
#                        folders are replaced, and a stage not listed counts as done when its model folder exists
#   --lora-rank R        8; alpha and dropout stay the kit's (PEFT's) defaults, 8 and 0
#   --lora-targets LIST  empty: the kit's default for the family (q_proj,v_proj for LLaMA)
#   --lora-base DIR      OUT/full/sft/model: the base model folder of sft-lora
#   --model MODEL        preset:llama-113m: a model preset or a Hugging Face model folder
#   --tokenizer DIR      empty: a byte-level BPE tokenizer written by `saferlhf data tokenizer byte-level` (with a
#                        model folder, give its folder to use its own tokenizer)
#   --sft SPEC           BeaverWorld-SFT/train   (a data set name gets :COUNT/-1 appended; a spec with ':' is used as
#   --pairs SPEC         BeaverWorld/train        given, e.g. PKU-SafeRLHF/train:32/-1:/data/pku/train.jsonl)
#   --prompts SPEC       BeaverWorld-RL/train
#   --device D           cpu
#   --out DIR            checkpoints/size-check (deleted first when every stage runs; about 2 GB of models for
#                        the full variant)
#
# Per stage the log is OUT/VARIANT/STAGE.log, the metrics OUT/VARIANT/STAGE/metrics.jsonl (its time/ keys:
# docs/real-models.md). Memory of the java process (the launcher execs java): "peak MB", /usr/bin/time's maximum
# resident set size (else the last VmHWM polled from /proc), which counts the pages of memory-mapped model files
# (the kit maps model.safetensors; mapped twice, a file counts twice); "anon MB", the largest RssAnon polled from
# /proc every 0.2 s: the process's own memory, which the kernel cannot drop or page out without swap.
# Exit codes: 0 every stage finished; 1 no java; 2 bad arguments; 3 a stage failed or was stopped at the cap.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
VARIANT=both STEPS=3 MAX_LENGTH=256 PRESET=full SFT_MB="" PAIR_MB="" RL_MB="" CAP_MB=0 LORA_RANK=8 LORA_TARGETS=""
LORA_BASE="" STAGES=sft,rm,cm,ppo-lag MODEL=preset:llama-113m TOKENIZER="" SFT_DATA=BeaverWorld-SFT/train PAIRS_DATA=BeaverWorld/train
PROMPTS_DATA=BeaverWorld-RL/train DEVICE=cpu OUT="$ROOT/checkpoints/size-check"
ARGS=("$@")

die() { echo "size-check: error: $1" >&2; exit "${2:-1}"; }
usage() { sed -n "2,$(grep -n '^# Exit codes' "$0" | cut -d: -f1)p" "$0" | sed 's/^# \{0,1\}//'; }
need() { [ -n "${2:-}" ] || die "$1 needs a value" 2; }

while [ "$#" -gt 0 ]; do
  case "$1" in
    --variant) need "$1" "${2:-}"; VARIANT="$2"; shift 2 ;;
    --steps) need "$1" "${2:-}"; STEPS="$2"; shift 2 ;;
    --max-length) need "$1" "${2:-}"; MAX_LENGTH="$2"; shift 2 ;;
    --preset) need "$1" "${2:-}"; PRESET="$2"; shift 2 ;;
    --sft-micro-batch) need "$1" "${2:-}"; SFT_MB="$2"; shift 2 ;;
    --pair-micro-batch) need "$1" "${2:-}"; PAIR_MB="$2"; shift 2 ;;
    --rl-micro-batch) need "$1" "${2:-}"; RL_MB="$2"; shift 2 ;;
    --cap-mb) need "$1" "${2:-}"; CAP_MB="$2"; shift 2 ;;
    --stages) need "$1" "${2:-}"; STAGES="$2"; shift 2 ;;
    --lora-rank) need "$1" "${2:-}"; LORA_RANK="$2"; shift 2 ;;
    --lora-targets) need "$1" "${2:-}"; LORA_TARGETS="$2"; shift 2 ;;
    --lora-base) need "$1" "${2:-}"; LORA_BASE="$2"; shift 2 ;;
    --model) need "$1" "${2:-}"; MODEL="$2"; shift 2 ;;
    --tokenizer) need "$1" "${2:-}"; TOKENIZER="$2"; shift 2 ;;
    --sft) need "$1" "${2:-}"; SFT_DATA="$2"; shift 2 ;;
    --pairs) need "$1" "${2:-}"; PAIRS_DATA="$2"; shift 2 ;;
    --prompts) need "$1" "${2:-}"; PROMPTS_DATA="$2"; shift 2 ;;
    --device) need "$1" "${2:-}"; DEVICE="$2"; shift 2 ;;
    --out) need "$1" "${2:-}"; OUT="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" 2 ;;
  esac
done
# folders given relative to the current folder (the kit would resolve them against the project root)
absolute() { case "$1" in ""|/*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
OUT="$(absolute "$OUT")" LORA_BASE="$(absolute "$LORA_BASE")" TOKENIZER="$(absolute "$TOKENIZER")"
case "$VARIANT" in full|lora|both) ;; *) die "--variant must be full, lora or both, got '$VARIANT'" 2 ;; esac
case "$PRESET" in full|paper) ;; *) die "--preset must be full or paper, got '$PRESET'" 2 ;; esac
for pair in "steps:$STEPS" "max-length:$MAX_LENGTH" "cap-mb:$CAP_MB" "lora-rank:$LORA_RANK" \
            "sft-micro-batch:${SFT_MB:-1}" "pair-micro-batch:${PAIR_MB:-1}" "rl-micro-batch:${RL_MB:-1}"; do
  [[ "${pair#*:}" =~ ^[0-9]+$ ]] || die "--${pair%%:*} must be a whole number, got '${pair#*:}'" 2
done
[ "$STEPS" -ge 1 ] && [ "$LORA_RANK" -ge 1 ] || die "--steps and --lora-rank must be >= 1" 2
for stage in ${STAGES//,/ }; do
  case "$stage" in sft|rm|cm|ppo-lag) ;; *) die "--stages: unknown stage '$stage' (sft, rm, cm, ppo-lag)" 2 ;; esac
done
listed() { [[ ",$STAGES," == *",$1,"* ]]; }
command -v java >/dev/null 2>&1 || die "no java on PATH: install a JDK 17 (environment/install.sh)"
SAFERLHF="$ROOT/saferlhf"
TIME_BIN=""
[ -x /usr/bin/time ] && TIME_BIN=/usr/bin/time

# ---------------------------------------------------------------- the presets' batch sizes
# preset_key STAGE KEY: the value of KEY in `saferlhf STAGE --preset PRESET --print-config`
preset_key() {
  local value
  value="$("$SAFERLHF" "$1" --preset "$PRESET" --print-config | sed -n "s/^  \"$2\" : \([0-9]*\),\{0,1\}\$/\1/p")"
  [ -n "$value" ] || die "could not read $2 of '$1 --preset $PRESET' (--print-config)"
  echo "$value"
}
sft_batch=$(( $(preset_key sft per_device_train_batch_size) * $(preset_key sft gradient_accumulation_steps) ))
pair_batch=$(( $(preset_key rm per_device_train_batch_size) * $(preset_key rm gradient_accumulation_steps) ))
prompt_batch="$(preset_key ppo-lag per_device_prompt_batch_size)"
rl_batch="$(preset_key ppo-lag per_device_train_batch_size)"
SFT_MB="${SFT_MB:-$(preset_key sft per_device_train_batch_size)}"
PAIR_MB="${PAIR_MB:-$(preset_key rm per_device_train_batch_size)}"
RL_MB="${RL_MB:-$rl_batch}"
for check in "sft-micro-batch:$SFT_MB:$sft_batch" "pair-micro-batch:$PAIR_MB:$pair_batch" "rl-micro-batch:$RL_MB:$prompt_batch"; do
  IFS=: read -r name mb batch <<<"$check"
  [ "$mb" -ge 1 ] && [ $((batch % mb)) -eq 0 ] || die "--$name $mb must divide the preset's batch of $batch" 2
done
sft_records=$((STEPS * sft_batch)); pair_records=$((STEPS * pair_batch))
spec() { case "$1" in *:*) echo "$1" ;; *) echo "$1:$2/-1" ;; esac; }

if [ -e "$OUT" ] && [ ! -f "$OUT/.size-check" ] && [ -n "$(ls -A "$OUT" 2>/dev/null)" ]; then
  die "--out $OUT exists and was not written by size-check: choose another folder" 2
fi
listed sft && listed rm && listed cm && listed ppo-lag && rm -rf "$OUT"
mkdir -p "$OUT"
touch "$OUT/.size-check"
if [ -z "$TOKENIZER" ]; then
  TOKENIZER="$OUT/tokenizer"
  "$SAFERLHF" data tokenizer byte-level --out "$TOKENIZER" >/dev/null || die "could not write the byte-level tokenizer"
fi
export DJL_OFFLINE="${DJL_OFFLINE:-true}" OPT_OUT_TRACKING="${OPT_OUT_TRACKING:-true}" DJL_DEFAULT_ENGINE="${DJL_DEFAULT_ENGINE:-PyTorch}"

supervised=("epochs=1" "eval_datasets=" "eval_strategy=no" "save_interval=1000000" "max_length=$MAX_LENGTH" "device=$DEVICE")
rl=("epochs=1" "eval_datasets=" "ptx_datasets=" "save_interval=1000000" "max_length=$MAX_LENGTH" "device=$DEVICE"
    "train_datasets=$(spec "$PROMPTS_DATA" "$prompt_batch")" "per_device_prompt_batch_size=$prompt_batch"
    "per_device_train_batch_size=$RL_MB")
sft_args=("train_datasets=$(spec "$SFT_DATA" "$sft_records")" "per_device_train_batch_size=$SFT_MB"
          "gradient_accumulation_steps=$((sft_batch / SFT_MB))")
pair_args=("train_datasets=$(spec "$PAIRS_DATA" "$pair_records")" "per_device_train_batch_size=$PAIR_MB"
           "gradient_accumulation_steps=$((pair_batch / PAIR_MB))")
lora=("lora_rank=$LORA_RANK"); actor_lora=("actor_lora_rank=$LORA_RANK" "critic_lora_rank=$LORA_RANK")
if [ -n "$LORA_TARGETS" ]; then
  lora+=("lora_target_modules=$LORA_TARGETS")
  actor_lora+=("actor_lora_target_modules=$LORA_TARGETS" "critic_lora_target_modules=$LORA_TARGETS")
fi

# ---------------------------------------------------------------- one stage
results=()
failed=0
declare -A done_ok=()

# metric LOG KEY: the values of KEY in a metrics.jsonl, one a line
metric() { grep -o "\"$2\":[-0-9.eE+]*" "$1" 2>/dev/null | sed 's/.*://' || true; }
# median [FORMAT]: the median of the numbers on stdin ("-" when none)
median() { sort -g | awk -v f="${1:-%.1f}" '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) printf f, v[(NR + 1) / 2]; else printf f, (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maximum() { sort -g | tail -1 | awk '{ printf "%.0f", $1 }'; }

# run_stage VARIANT NAME NEEDS... -- SAFERLHF-ARGS...: runs the stage unless a stage it needs failed; polls memory.
# A stage left out of --stages is not run, and counts as done when its model folder is there.
run_stage() {
  local variant="$1" name="$2"; shift 2
  local needs=()
  while [ "$1" != "--" ]; do needs+=("$1"); shift; done
  shift
  if ! listed "${name%-lora}"; then
    if [ -d "$OUT/$variant/$name/model" ]; then done_ok[$name]=1; fi
    return 0
  fi
  rm -rf "${OUT:?}/$variant/$name"
  for need in "${needs[@]}"; do
    if [ -z "${done_ok[$need]:-}" ]; then
      results+=("$(printf '%-13s %5s %7s %8s %8s %9s %10s %9s %8s %8s %7s  %s' "$name" - - - - - - - - - - "skipped: $need did not finish")")
      failed=1
      return
    fi
  done
  local dir="$OUT/$variant" log="$OUT/$variant/$name.log" rss="$OUT/$variant/$name.maxrss"
  mkdir -p "$dir"
  echo "== $name: saferlhf $*"
  echo "saferlhf $*" >"$log"
  local start rc=0 capped=0 hwm=0 anon_peak=0 pid child
  start="$(date +%s.%N)"
  if [ -n "$TIME_BIN" ]; then
    "$TIME_BIN" -f "%M" -o "$rss" "$SAFERLHF" "$@" >>"$log" 2>&1 &
  else
    "$SAFERLHF" "$@" >>"$log" 2>&1 &
  fi
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    child="$pid"
    [ -n "$TIME_BIN" ] && child="$(pgrep -P "$pid" | head -1 || true)"
    if [ -n "$child" ] && [ -r "/proc/$child/status" ]; then
      local peak anon rss
      read -r peak anon rss < <(awk '/^VmHWM:/ { h = $2 } /^RssAnon:/ { a = $2 } /^VmRSS:/ { r = $2 }
        END { print h + 0, a + 0, r + 0 }' "/proc/$child/status" 2>/dev/null || echo "0 0 0")
      [ "$peak" -gt "$hwm" ] && hwm="$peak"
      [ "$anon" -gt "$anon_peak" ] && anon_peak="$anon"
      if [ "$CAP_MB" -gt 0 ] && [ "$anon" -gt $((CAP_MB * 1024)) ]; then
        capped=1
        echo "size-check: stopping $name: anonymous memory $((anon / 1024)) MB (resident $((rss / 1024)) MB) passed the" \
          "cap of $CAP_MB MB" | tee -a "$log" >&2
        kill -KILL "$child" 2>/dev/null || true
      fi
    fi
    sleep 0.2
  done
  wait "$pid" || rc=$?
  local seconds peak_mb
  seconds="$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')"
  if [ -n "$TIME_BIN" ] && [[ "$(tail -1 "$rss" 2>/dev/null)" =~ ^[0-9]+$ ]]; then peak_mb=$(( $(tail -1 "$rss") / 1024 ))
  else peak_mb=$((hwm / 1024)); fi
  local metrics="$dir/$name/metrics.jsonl" steps step_s tok_s update_s rollout_s rollout_tok shape status
  steps="$(metric "$metrics" "time/step_seconds" | wc -l)"
  step_s="$(metric "$metrics" "time/step_seconds" | median)"
  if [[ "$name" == ppo* ]]; then
    tok_s="$(metric "$metrics" "time/update_tokens_per_second" | median %.0f)"
    update_s="$(metric "$metrics" "time/update_seconds" | median)"
    rollout_s="$(metric "$metrics" "time/rollout_seconds" | median)"
    rollout_tok="$(metric "$metrics" "time/rollout_tokens_per_second" | median %.0f)"
  else
    tok_s="$(metric "$metrics" "time/tokens_per_second" | median %.0f)"
    update_s=- rollout_s=- rollout_tok=-
  fi
  local rows length
  rows="$(grep -o 'per_device_train_batch_size=[0-9]*' <<<"$*" | tail -1 | sed 's/.*=//')"
  [[ "$name" == rm* || "$name" == cm* ]] && rows=$((2 * rows))
  length="$(metric "$metrics" "time/padded_length" | maximum)"
  shape="${rows}x${length:--}"
  if [ "$rc" -eq 0 ] && [ "$capped" -eq 0 ]; then
    done_ok[$name]=1
    status="$(grep -E "^[a-z-]+: [0-9]+/[0-9]+ steps" "$log" | tail -1 | sed 's/; model:.*//' || true)"
    status="finished${status:+ ($status)}"
  else
    failed=1
    if [ "$capped" -eq 1 ]; then status="STOPPED at the ${CAP_MB} MB cap after $steps steps"
    elif [ "$rc" -eq 137 ]; then status="KILLED (exit 137, SIGKILL: out of memory?) after $steps steps: see $log"
    else status="FAILED (exit $rc) after $steps steps: see $log"; fi
    echo "-- last lines of $log:" >&2
    tail -n 8 "$log" >&2
  fi
  grep -E "trainable parameters" "$log" | head -1 | sed 's/^/   /' || true
  results+=("$(printf '%-13s %5s %7s %8s %8s %9s %10s %9s %8s %8s %7s  %s' "$name" "$steps" "$step_s" "$tok_s" "$update_s" \
    "$rollout_s" "$rollout_tok" "$shape" "$peak_mb" "$((anon_peak / 1024))" "$seconds" "$status")")
}

# ---------------------------------------------------------------- the stages
load_before="$(uptime)"
echo "size-check: model $MODEL, tokenizer $TOKENIZER, preset $PRESET, max_length $MAX_LENGTH, device $DEVICE"
echo "size-check: batches: sft $sft_batch sequences (micro-batch $SFT_MB), rm/cm $pair_batch pairs (micro-batch $PAIR_MB)," \
  "ppo-lag $prompt_batch prompts a rollout, $RL_MB sequences an rl step; $STEPS optimizer steps of sft, rm and cm"
echo "size-check: load before: $load_before"
F="$OUT/full" L="$OUT/lora"
if [ "$VARIANT" != lora ]; then
  run_stage full sft -- sft --preset "$PRESET" "${supervised[@]}" "${sft_args[@]}" "model_name_or_path=$MODEL" \
    "tokenizer=$TOKENIZER" "output_dir=$F/sft"
  run_stage full rm sft -- rm --preset "$PRESET" "${supervised[@]}" "${pair_args[@]}" "model_name_or_path=$F/sft/model" \
    "output_dir=$F/rm"
  run_stage full cm sft -- cm --preset "$PRESET" "${supervised[@]}" "${pair_args[@]}" "model_name_or_path=$F/sft/model" \
    "output_dir=$F/cm"
  run_stage full ppo-lag sft rm cm -- ppo-lag --preset "$PRESET" "${rl[@]}" "actor_model_name_or_path=$F/sft/model" \
    "reward_model_name_or_path=$F/rm/model" "cost_model_name_or_path=$F/cm/model" "output_dir=$F/ppo-lag"
fi
if [ "$VARIANT" != full ]; then
  base="${LORA_BASE:-$F/sft/model}"
  if [ -f "$base/config.json" ] || [ -f "$base/adapter_config.json" ]; then done_ok[base]=1
  else echo "size-check: no LoRA base model folder $base (run --variant full or both first, or give --lora-base)" >&2; fi
  run_stage lora sft-lora base -- sft --preset "$PRESET" "${supervised[@]}" "${sft_args[@]}" "${lora[@]}" \
    "model_name_or_path=$base" "output_dir=$L/sft-lora"
  run_stage lora rm-lora sft-lora -- rm --preset "$PRESET" "${supervised[@]}" "${pair_args[@]}" "${lora[@]}" \
    "model_name_or_path=$L/sft-lora/model" "output_dir=$L/rm-lora"
  run_stage lora cm-lora sft-lora -- cm --preset "$PRESET" "${supervised[@]}" "${pair_args[@]}" "${lora[@]}" \
    "model_name_or_path=$L/sft-lora/model" "output_dir=$L/cm-lora"
  run_stage lora ppo-lag-lora sft-lora rm-lora cm-lora -- ppo-lag --preset "$PRESET" "${rl[@]}" "${actor_lora[@]}" \
    "actor_model_name_or_path=$L/sft-lora/model" "reward_model_name_or_path=$L/rm-lora/model" \
    "cost_model_name_or_path=$L/cm-lora/model" "output_dir=$L/ppo-lag-lora"
fi

# ---------------------------------------------------------------- summary
{
  echo
  echo "size-check: environment/size-check.sh ${ARGS[*]}"
  echo "size-check: model $MODEL, preset $PRESET, max_length $MAX_LENGTH, device $DEVICE, $(nproc) CPUs"
  echo "load before: $load_before"
  echo "load after:  $(uptime)"
  echo "steps: optimizer steps (ppo: rl steps); s/step, tok/s: medians of time/step_seconds and time/tokens_per_second"
  echo "(ppo: time/update_tokens_per_second; its s/step holds its share of the rollout); micro: sequences x the longest"
  echo "padded length of a micro-batch (ppo: an rl step's); peak MB: the java process's maximum resident set size"
  echo "(mapped model files included); anon MB: its largest anonymous memory (RssAnon) polled every 0.2 s"
  printf '%-13s %5s %7s %8s %8s %9s %10s %9s %8s %8s %7s  %s\n' stage steps s/step tok/s update_s rollout_s rollout_t/s \
    micro "peak MB" "anon MB" wall_s result
  printf '%s\n' "${results[@]}"
} | tee "$OUT/summary.txt"
if [ "$failed" -ne 0 ]; then
  echo "size-check: error: a stage did not finish (logs in $OUT)" >&2
  exit 3
fi
