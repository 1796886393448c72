/*
 * MKL CPU dispatch for non-Intel x86-64 CPUs, preloaded by ./saferlhf and the notebooks' kernel (LD_PRELOAD).
 *
 * The libtorch that DJL ships links Intel's MKL statically and calls it for fp32 matrix products. MKL asks
 * mkl_serv_intel_cpu_true() whether the CPU is an Intel one and, on any other vendor (AMD EPYC and Ryzen), runs a
 * generic code path that uses neither AVX2 nor AVX-512. libtorch_cpu.so exports the function, so a definition loaded
 * first wins: this one answers "Intel", and MKL picks its kernels by the instruction sets the CPU reports (the widely
 * used workaround for MKL 2020.1+ on AMD, where the old MKL_DEBUG_CPU_TYPE=5 switch no longer exists).
 *
 * Measured on this project's 2-core AMD EPYC (AVX-512), libtorch 2.7.1, 1 thread: a 1024 x 1024 x 1024 fp32 product
 * 87.7 -> 188.0 GFLOP/s; the ~10M-parameter training step of `saferlhf bench models` 888 -> 495 ms (docs/speed.md).
 * On an Intel CPU it changes nothing. SAFERLHF_MKL_CPU=vendor turns it off (results then differ in the last bits:
 * other kernels, other rounding).
 *
 * Built by environment/install.sh (or by ./saferlhf on first use) with:
 *   cc -shared -fPIC -O2 -nostdlib -o environment/.cache/libmkl_cpu_dispatch.so environment/native/mkl_cpu_dispatch.c
 */
int mkl_serv_intel_cpu_true(void) { return 1; }
