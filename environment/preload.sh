# Sourced by ./saferlhf and environment/install.sh: the libraries the kit's JVMs preload (LD_PRELOAD).
#
#   saferlhf_preload ROOT   prints a ':'-separated list (possibly empty) of
#     - tcmalloc (Debian's libtcmalloc-minimal4): libtorch allocates and frees large tensors all the time; glibc's malloc
#       keeps freed blocks of a few MB in its heap, tcmalloc hands them back (KV-cache generation at 114.8M parameters
#       peaked at 1,501 MiB with glibc, 1,119 MiB with tcmalloc, same speed; docs/memory.md). SAFERLHF_MALLOC=glibc: off.
#     - the MKL CPU dispatch shim (environment/native/mkl_cpu_dispatch.c): MKL's AVX2/AVX-512 kernels on AMD CPUs too
#       (a training step 1.8x faster on this project's AMD EPYC; docs/speed.md). Built into environment/.cache/ with the
#       C compiler when missing (skipped without one). SAFERLHF_MKL_CPU=vendor: off.
saferlhf_preload() {
  local root="$1" list=() tcmalloc=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
  local shim="$root/environment/.cache/libmkl_cpu_dispatch.so" src="$root/environment/native/mkl_cpu_dispatch.c"
  if [ "${SAFERLHF_MALLOC:-tcmalloc}" = tcmalloc ] && [ -f "$tcmalloc" ]; then list+=("$tcmalloc"); fi
  if [ "${SAFERLHF_MKL_CPU:-features}" != vendor ] && [ "$(uname -m)" = x86_64 ]; then
    if { [ ! -f "$shim" ] || [ "$src" -nt "$shim" ]; } && command -v cc >/dev/null 2>&1; then
      mkdir -p "$(dirname "$shim")"
      cc -shared -fPIC -O2 -nostdlib -o "$shim.tmp.$$" "$src" 2>/dev/null && mv -f "$shim.tmp.$$" "$shim" || rm -f "$shim.tmp.$$"
    fi
    if [ -f "$shim" ]; then list+=("$shim"); fi
  fi
  local IFS=:
  echo "${list[*]}"
}
