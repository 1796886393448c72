#!/usr/bin/env bash
# Runs one optimizer step of every training stage on an NVIDIA GPU and prints, per stage, the wall time and the peak
# GPU memory. Not yet run on a GPU (see docs/gpu.md).
#
#   environment/gpu-check.sh [--libtorch DIR] [--model MODEL] [--preset quick|paper] [--gpu N] [--out DIR]
#   environment/gpu-check.sh --device cpu [...]      # a CPU rehearsal of the same commands (no GPU checks, no memory)
#
# Stages, in order (each from the previous ones' models, on the shipped BeaverWorld data):
#   sft, rm, cm, dpo (from sft), ppo (sft + rm), ppo-lag (sft + rm + cm), then the features not yet run on a GPU:
#   ppo-lag-fp16 (frozen_dtype=float16), sft-lora (lora_rank=8 on the sft model), ppo-lag-lora (actor and critic adapters)
# Each runs `saferlhf STAGE --preset PRESET device=gpu:N` on just enough records for one optimizer step (one batch,
# gradient_accumulation_steps micro-batches; one rollout of per_device_prompt_batch_size prompts for PPO), without
# evaluation. The wall time includes the JVM start, loading the models and saving the result.
#
# Options (and the environment variables they default to):
#   --libtorch DIR   LIBTORCH_LIB or PYTORCH_LIBRARY_PATH: a libtorch 2.7.1 CUDA 12.8 lib/ folder (libtorch.so,
#                    libtorch_cuda.so), e.g. the torch/lib of a pip torch==2.7.1 CUDA 12.8 wheel. Without it, the
#                    python3 on PATH is asked for its torch, which is used when it is 2.7.1 with CUDA 12.8.
#   --model MODEL    GPU_CHECK_MODEL, default preset:llama-10m: a model preset or a Hugging Face model folder
#   --preset P       GPU_CHECK_PRESET, default quick: the stages' preset (paper: the reference's lengths and batches)
#   --gpu N          GPU_CHECK_GPU, default 0
#   --out DIR        GPU_CHECK_OUT, default checkpoints/gpu-check (deleted first)
#   --device cpu     rehearse on the CPU: skips the GPU checks, reports no memory
# DJL is pointed at the libtorch with PYTORCH_LIBRARY_PATH, PYTORCH_VERSION (default 2.7.1) and PYTORCH_FLAVOR
# (default cu128: the only CUDA flavour DJL's pytorch-jni 2.7.1-0.35.1 jar carries).
#
# Exit codes: 0 every stage ran; 1 no GPU, no CUDA libtorch, or no Java; 2 bad arguments; 3 a stage failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
LIBTORCH="${LIBTORCH_LIB:-${PYTORCH_LIBRARY_PATH:-}}"
MODEL="${GPU_CHECK_MODEL:-preset:llama-10m}"
PRESET="${GPU_CHECK_PRESET:-quick}"
GPU="${GPU_CHECK_GPU:-0}"
OUT="${GPU_CHECK_OUT:-$ROOT/checkpoints/gpu-check}"
DEVICE=gpu

die() { echo "gpu-check: error: $1" >&2; exit "${2:-1}"; }
usage() { sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; }

while [ "$#" -gt 0 ]; do
  case "$1" in
    --libtorch) LIBTORCH="${2:?--libtorch needs a folder}"; shift 2 ;;
    --model) MODEL="${2:?--model needs a value}"; shift 2 ;;
    --preset) PRESET="${2:?--preset needs quick or paper}"; shift 2 ;;
    --gpu) GPU="${2:?--gpu needs an index}"; shift 2 ;;
    --out) OUT="${2:?--out needs a folder}"; shift 2 ;;
    --device) DEVICE="${2:?--device needs gpu or cpu}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "gpu-check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$PRESET" in quick|paper) ;; *) die "--preset must be quick or paper, got '$PRESET'" 2 ;; esac
case "$DEVICE" in gpu|cpu) ;; *) die "--device must be gpu or cpu, got '$DEVICE'" 2 ;; esac
[[ "$GPU" =~ ^[0-9]+$ ]] || die "--gpu must be a GPU index, got '$GPU'" 2

command -v java >/dev/null 2>&1 || die "no java on PATH: install a JDK 17 (e.g. apt-get install openjdk-17-jdk-headless)"

# ---------------------------------------------------------------- the GPU and the CUDA libtorch
if [ "$DEVICE" = gpu ]; then
  command -v nvidia-smi >/dev/null 2>&1 || die "no NVIDIA GPU: nvidia-smi is not on PATH (no NVIDIA driver on this machine)"
  gpus="$(nvidia-smi -L 2>/dev/null || true)"
  [ -n "$gpus" ] || die "no NVIDIA GPU: nvidia-smi lists no GPU"
  gpu_line="$(nvidia-smi -i "$GPU" --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true)"
  [ -n "$gpu_line" ] || die "no GPU with index $GPU; nvidia-smi lists:"$'\n'"$gpus"

  if [ -z "$LIBTORCH" ] && command -v python3 >/dev/null 2>&1; then
    found="$(python3 -c 'import os, torch; print(torch.__version__, torch.version.cuda, os.path.join(os.path.dirname(torch.__file__), "lib"))' 2>/dev/null || true)"
    if [ -n "$found" ]; then
      read -r torch_version torch_cuda torch_lib <<<"$found"
      if [[ "$torch_version" == 2.7.1* && "$torch_cuda" == 12.8* ]]; then
        LIBTORCH="$torch_lib"
        echo "gpu-check: using python3's torch $torch_version (CUDA $torch_cuda): $LIBTORCH"
      else
        echo "gpu-check: python3's torch is $torch_version (CUDA $torch_cuda), not 2.7.1 with CUDA 12.8: not used" >&2
      fi
    fi
  fi
  [ -n "$LIBTORCH" ] || die "no CUDA libtorch: give --libtorch DIR (or LIBTORCH_LIB=DIR), the lib/ folder of a libtorch 2.7.1 CUDA 12.8 build, e.g. the torch/lib of a pip torch==2.7.1 CUDA 12.8 wheel (docs/gpu.md)"
  [ -d "$LIBTORCH" ] || die "no CUDA libtorch: $LIBTORCH is not a folder"
  for lib in libtorch.so libtorch_cuda.so libc10_cuda.so; do
    [ -f "$LIBTORCH/$lib" ] || die "no CUDA libtorch: $LIBTORCH has no $lib (a CPU-only build, or not a libtorch lib/ folder)"
  done
  export PYTORCH_LIBRARY_PATH="$LIBTORCH"
  export PYTORCH_VERSION="${PYTORCH_VERSION:-2.7.1}"
  export PYTORCH_FLAVOR="${PYTORCH_FLAVOR:-cu128}"
  DEVICE_KEY="gpu:$GPU"
else
  DEVICE_KEY=cpu
fi
export DJL_OFFLINE="${DJL_OFFLINE:-true}" OPT_OUT_TRACKING="${OPT_OUT_TRACKING:-true}" DJL_DEFAULT_ENGINE="${DJL_DEFAULT_ENGINE:-PyTorch}"

# ---------------------------------------------------------------- does DJL's libtorch see CUDA?
echo "== saferlhf device"
if [ "$DEVICE" = gpu ]; then
  echo "GPU $GPU: $gpu_line"
  if ! "$ROOT/saferlhf" device --require-gpu; then
    die "no CUDA libtorch: DJL did not get a CUDA-capable libtorch from PYTORCH_LIBRARY_PATH=$PYTORCH_LIBRARY_PATH with PYTORCH_VERSION=$PYTORCH_VERSION PYTORCH_FLAVOR=$PYTORCH_FLAVOR (see the lines above and docs/gpu.md)"
  fi
else
  "$ROOT/saferlhf" device || die "DJL could not start (see the lines above)"
fi

# ---------------------------------------------------------------- one step of each stage
# Records for exactly one optimizer step: per_device_train_batch_size x gradient_accumulation_steps of the preset.
if [ "$PRESET" = paper ]; then sft_n=32; pairs_n=16; prompts_n=16; ptx=("ptx_datasets=BeaverWorld-SFT/train:16/-1"); else sft_n=16; pairs_n=16; prompts_n=16; ptx=(); fi
if [ -e "$OUT" ] && [ ! -f "$OUT/.gpu-check" ] && [ -n "$(ls -A "$OUT" 2>/dev/null)" ]; then
  die "--out $OUT exists and was not written by gpu-check: choose another folder" 2
fi
rm -rf "$OUT"
mkdir -p "$OUT"
touch "$OUT/.gpu-check"
common=("device=$DEVICE_KEY" "epochs=1" "eval_datasets=" "seed=42")
supervised=("${common[@]}" "eval_strategy=no")

results=()
failed=0
declare -A done_ok=()

# run_stage NAME NEEDS... -- SAFERLHF-ARGS...: runs the stage unless a stage it needs failed; polls GPU memory.
run_stage() {
  local name="$1"; shift
  local needs=()
  while [ "$1" != "--" ]; do needs+=("$1"); shift; done
  shift
  for need in "${needs[@]}"; do
    if [ -z "${done_ok[$need]:-}" ]; then
      results+=("$(printf '%-12s %9s %12s %12s %12s  %s' "$name" "-" "-" "-" "-" "skipped: $need failed")")
      failed=1
      return
    fi
  done
  local log="$OUT/$name.log" baseline="n/a" peak_total="n/a" peak_process="n/a"
  if [ "$DEVICE" = gpu ]; then
    baseline="$(nvidia-smi -i "$GPU" --query-gpu=memory.used --format=csv,noheader,nounits | head -1 | tr -d ' ')"
    peak_total="$baseline"; peak_process=0
  fi
  echo "== $name: saferlhf $*"
  local start end rc=0
  start="$(date +%s.%N)"
  "$ROOT/saferlhf" "$@" >"$log" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$DEVICE" = gpu ]; then
      local used process
      used="$(nvidia-smi -i "$GPU" --query-gpu=memory.used --format=csv,noheader,nounits 2>/dev/null | head -1 | tr -d ' ')"
      process="$(nvidia-smi -i "$GPU" --query-compute-apps=pid,used_memory --format=csv,noheader,nounits 2>/dev/null \
        | awk -F', *' -v p="$pid" '$1 == p { print $2 }')"
      [[ "$used" =~ ^[0-9]+$ ]] && [ "$used" -gt "$peak_total" ] && peak_total="$used"
      [[ "$process" =~ ^[0-9]+$ ]] && [ "$process" -gt "$peak_process" ] && peak_process="$process"
    fi
    sleep 0.2
  done
  wait "$pid" || rc=$?
  end="$(date +%s.%N)"
  local seconds
  seconds="$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')"
  [ "$DEVICE" = gpu ] && [ "$peak_process" = 0 ] && peak_process="n/a"   # nvidia-smi showed no processes (containers)
  local status
  if [ "$rc" -eq 0 ]; then
    done_ok[$name]=1
    status="$(grep -E "^[a-z-]+: [0-9]+/[0-9]+ steps" "$log" | tail -1 || true)"
  else
    failed=1
    status="FAILED (exit $rc): see $log"
    echo "-- last lines of $log:" >&2
    tail -n 15 "$log" >&2
  fi
  grep -E "^[a-z-]+: device: " "$log" | head -1 || true
  results+=("$(printf '%-12s %9s %12s %12s %12s  %s' "$name" "$seconds" "$peak_process" "$peak_total" "$baseline" "$status")")
}

run_stage sft -- sft --preset "$PRESET" "${supervised[@]}" "model_name_or_path=$MODEL" \
  "train_datasets=BeaverWorld-SFT/train:$sft_n/-1" "output_dir=$OUT/sft"
run_stage rm sft -- rm --preset "$PRESET" "${supervised[@]}" "model_name_or_path=$OUT/sft/model" \
  "train_datasets=BeaverWorld/train:$pairs_n/-1" "output_dir=$OUT/rm"
run_stage cm sft -- cm --preset "$PRESET" "${supervised[@]}" "model_name_or_path=$OUT/sft/model" \
  "train_datasets=BeaverWorld/train:$pairs_n/-1" "output_dir=$OUT/cm"
run_stage dpo sft -- dpo --preset "$PRESET" "${supervised[@]}" "model_name_or_path=$OUT/sft/model" \
  "train_datasets=BeaverWorld/train:$pairs_n/-1" "output_dir=$OUT/dpo"
run_stage ppo sft rm -- ppo --preset "$PRESET" "${common[@]}" "${ptx[@]}" "actor_model_name_or_path=$OUT/sft/model" \
  "reward_model_name_or_path=$OUT/rm/model" "train_datasets=BeaverWorld-RL/train:$prompts_n/-1" "output_dir=$OUT/ppo"
run_stage ppo-lag sft rm cm -- ppo-lag --preset "$PRESET" "${common[@]}" "${ptx[@]}" "actor_model_name_or_path=$OUT/sft/model" \
  "reward_model_name_or_path=$OUT/rm/model" "cost_model_name_or_path=$OUT/cm/model" \
  "train_datasets=BeaverWorld-RL/train:$prompts_n/-1" "output_dir=$OUT/ppo-lag"
# The two features whose GPU behaviour is unverified: fp16 frozen models (reference policy, reward and cost models) and
# LoRA adapters (on the sft model: a preset cannot be a LoRA base). With actor adapters the reference policy is the actor
# with its adapters off, so ppo-lag-lora's float16 applies to the reward and cost models only (docs/gpu.md).
run_stage ppo-lag-fp16 sft rm cm -- ppo-lag --preset "$PRESET" "${common[@]}" "${ptx[@]}" "actor_model_name_or_path=$OUT/sft/model" \
  "reward_model_name_or_path=$OUT/rm/model" "cost_model_name_or_path=$OUT/cm/model" "frozen_dtype=float16" \
  "train_datasets=BeaverWorld-RL/train:$prompts_n/-1" "output_dir=$OUT/ppo-lag-fp16"
run_stage sft-lora sft -- sft --preset "$PRESET" "${supervised[@]}" "model_name_or_path=$OUT/sft/model" \
  "lora_rank=8" "lora_alpha=16" "train_datasets=BeaverWorld-SFT/train:$sft_n/-1" "output_dir=$OUT/sft-lora"
run_stage ppo-lag-lora sft rm cm -- ppo-lag --preset "$PRESET" "${common[@]}" "${ptx[@]}" "actor_model_name_or_path=$OUT/sft/model" \
  "reward_model_name_or_path=$OUT/rm/model" "cost_model_name_or_path=$OUT/cm/model" "actor_lora_rank=8" "critic_lora_rank=8" \
  "frozen_dtype=float16" "train_datasets=BeaverWorld-RL/train:$prompts_n/-1" "output_dir=$OUT/ppo-lag-lora"

# ---------------------------------------------------------------- summary
{
  echo
  echo "gpu-check: preset $PRESET, model $MODEL, device $DEVICE_KEY${gpu_line:+ ($gpu_line)}"
  echo "peak MiB: the java process's GPU memory (nvidia-smi --query-compute-apps) and the whole GPU's (memory.used), polled every 0.2 s"
  printf '%-12s %9s %12s %12s %12s  %s\n' stage seconds "peak MiB" "GPU peak" "GPU before" result
  printf '%s\n' "${results[@]}"
} | tee "$OUT/summary.txt"
if [ "$failed" -ne 0 ]; then
  echo "gpu-check: error: a stage failed (logs in $OUT)" >&2
  exit 3
fi
