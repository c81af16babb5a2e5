#!/usr/bin/env bash
# The GPU check: the first thing to run whenever a GPU machine (H100/H200, sm_90) is available. One command,
# sized to finish within 8 minutes there:
#   1. build and install pyrepair with the CUDA kernels for sm_90 (PYREPAIR_CUDA=ON: no CUDA compiler is an error);
#   2. run every CUDA test (`-m cuda`, the `device` fixture on cuda) with PYREPAIR_REQUIRE_CUDA=1, so a CUDA test
#      that would skip fails instead;
#   3. run compute-sanitizer --tool memcheck over one small case per kernel family (bench/gpu_cases.py), when
#      compute-sanitizer exists;
#   4. run each GPU benchmark in a quick mode;
# and write one summary file, gpu-check-<tag>.md (to $OUT when set, else bench/results/), with the benchmark
# results packed beside it. Exits non-zero when any step failed; every step runs regardless, so one run shows all.
#
#   bash bench/gpu_check.sh                 # on the GPU machine, from anywhere in the repository
#   GPU_CHECK_DEVICE=cpu bash bench/gpu_check.sh   # dry run of the script's own plumbing on a CPU-only machine:
#                                           # CPU build, no REQUIRE_CUDA, cases and benchmarks on cpu
#
# Environment: PYTHON (default python3), PYREPAIR_CUDA_ARCHS (default 90), GPU_CHECK_SKIP_BUILD=1 (use the
# installed pyrepair), GPU_CHECK_DEVICE=cuda|cpu. Python packages missing on the machine (ortools) can be carried
# as wheels in .whl/ (see the device tool's README); they are installed with --no-deps into /tmp/pyrepair-site.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
PY=${PYTHON:-python3}
dev=${GPU_CHECK_DEVICE:-cuda}
export PYREPAIR_CUDA_ARCHS=${PYREPAIR_CUDA_ARCHS:-90}
export PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore

out_dir=${OUT:-$repo/bench/results}
mkdir -p "$out_dir"
work=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")
bench_dir=$work/bench-results
mkdir -p "$bench_dir"
tag=$dev
if [ "$dev" = cuda ] && command -v nvidia-smi >/dev/null 2>&1; then
  case "$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 | tr '[:upper:]' '[:lower:]')" in
    *h200*) tag=h200 ;; *h100*) tag=h100 ;; *) tag=cuda ;;
  esac
fi
summary=$out_dir/gpu-check-$tag.md
log=$out_dir/gpu-check-$tag.log
: >"$log"
failed=()
t_start=$(date +%s)

say() { echo "$*" | tee -a "$summary"; }
# step NAME TIMEOUT_S CMD...: runs CMD with a time limit, logs its output, records pass/fail and the time taken.
# Each step's limit is also cut to what is left of the whole budget (GPU_CHECK_BUDGET, default 450 s: the check must
# end within 8 minutes on the GPU machine); a step with under 10 s left is not started and counts as failed.
budget=${GPU_CHECK_BUDGET:-450}
step() {
  local name=$1 limit=$2; shift 2
  local t0 rc left
  t0=$(date +%s)
  left=$(( budget - (t0 - t_start) ))
  if [ "$left" -lt 10 ]; then
    say "| $name | **NOT RUN** (the ${budget} s budget is spent) | 0 s |"
    failed+=("$name")
    return
  fi
  [ "$left" -lt "$limit" ] && limit=$left
  echo "=== $name (limit ${limit}s): $*" | tee -a "$log"
  timeout --kill-after=10 "$limit" "$@" >>"$log" 2>&1
  rc=$?
  local secs=$(( $(date +%s) - t0 ))
  if [ $rc -eq 0 ]; then
    say "| $name | ok | ${secs} s |"
  else
    [ $rc -eq 124 ] || [ $rc -eq 137 ] && rc="timeout after ${limit} s"
    say "| $name | **FAILED** ($rc) | ${secs} s |"
    failed+=("$name")
  fi
  echo "--- $name: rc=$rc, ${secs}s" >>"$log"
}

{
  echo "# GPU check ($tag)"
  echo
  echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u +%Y-%m-%dT%H:%M:%SZ), device $dev"
  echo
  echo '```'
  command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
  command -v nvcc >/dev/null 2>&1 && nvcc --version 2>&1 | tail -1
  "$PY" -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__,
  "cuda available", torch.cuda.is_available())' 2>&1
  echo '```'
  echo
  echo "| step | result | time |"
  echo "|---|---|---:|"
} >"$summary"
cat "$summary"

# --- 0. carried wheels (ortools and its needs on the GPU machines) ----------------------------------------------
if compgen -G ".whl/*.whl" >/dev/null; then
  step "carried wheels" 120 "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/pyrepair-site .whl/*.whl
  export PYTHONPATH=/tmp/pyrepair-site${PYTHONPATH:+:$PYTHONPATH}
fi

# --- 1. build -------------------------------------------------------------------------------------------------------
if [ "${GPU_CHECK_SKIP_BUILD:-0}" != 1 ]; then
  if [ "$dev" = cuda ]; then cuda_flag=ON; else cuda_flag=${PYREPAIR_CUDA:-OFF}; fi
  # --no-build-isolation: the GPU machines reach no package index; scikit-build-core, pybind11 and cmake are there.
  step "build (PYREPAIR_CUDA=$cuda_flag, archs $PYREPAIR_CUDA_ARCHS)" 240 env PYREPAIR_CUDA=$cuda_flag \
    CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" "$PY" -m pip install -q --no-build-isolation --no-deps .
fi
"$PY" -c 'import json, pyrepair; print(json.dumps(pyrepair.build_info()))' >>"$log" 2>&1

# --- 2. every CUDA test, skips turned into failures ---------------------------------------------------------------
if [ "$dev" = cuda ]; then
  step "CUDA tests (PYREPAIR_REQUIRE_CUDA=1, -m cuda --device all)" 150 env PYREPAIR_REQUIRE_CUDA=1 \
    "$PY" -P -m pytest -q -p no:cacheprovider -m cuda --device all tests
else
  # dry run: the same selection on a CPU machine; every CUDA test must skip (not error) there
  step "CUDA tests (dry run: selection only, skips expected)" 150 \
    "$PY" -P -m pytest -q -p no:cacheprovider -m cuda --device all tests
fi
grep -E "^(FAILED|ERROR)|[0-9]+ (passed|failed|skipped|error)" "$log" | tail -15 | sed 's/^/    /' >>"$summary"

# --- 3. memcheck over one small case per kernel family ------------------------------------------------------------
if command -v compute-sanitizer >/dev/null 2>&1 && [ "$dev" = cuda ]; then
  step "compute-sanitizer memcheck (bench/gpu_cases.py)" 150 compute-sanitizer --tool memcheck --error-exitcode 3 \
    --leak-check no "$PY" bench/gpu_cases.py --device cuda
else
  step "kernel cases without sanitizer ($( [ "$dev" = cuda ] && echo 'compute-sanitizer not found' || \
    echo 'dry run'); bench/gpu_cases.py)" 150 "$PY" bench/gpu_cases.py --device "$dev"
fi
grep -E "^(FAIL |[0-9]+ cases|========= (ERROR|Invalid|Program hit))" "$log" | tail -15 | sed 's/^/    /' >>"$summary"

# --- 4. quick benchmarks ------------------------------------------------------------------------------------------
export PYREPAIR_BENCH_RESULTS=$bench_dir
step "bench_random --quick" 60 "$PY" bench/bench_random.py --device "$dev" --quick
step "bench_transform --quick" 90 "$PY" bench/bench_transform.py --device "$dev" --quick
step "bench_corrupt --quick" 150 "$PY" bench/bench_corrupt.py --device "$dev" --quick
step "bench_jpeg --quick" 60 "$PY" bench/bench_jpeg.py --device "$dev" --quick
step "bench_wavelet --quick --skip-probe" 90 "$PY" bench/bench_wavelet.py --device "$dev" --quick --skip-probe
step "bench_wct2 --quick" 90 "$PY" bench/bench_wct2.py --device "$dev" --quick

# --- summary --------------------------------------------------------------------------------------------------------
{
  echo
  echo "Total $(( $(date +%s) - t_start )) s. Failed steps: ${#failed[@]}${failed[*]:+ (${failed[*]})}."
  for md in "$bench_dir"/*.md; do
    [ -e "$md" ] || continue
    echo
    sed 's/^# /## /' "$md"
  done
} >>"$summary"
tar -czf "$out_dir/gpu-check-$tag-bench.tgz" -C "$bench_dir" . 2>/dev/null
rm -rf "$work"
echo "summary: $summary (log: $log)"
tail -n 3 "$summary"
[ ${#failed[@]} -eq 0 ]
