// Compiled by CTest emu.inline_asm_is_a_compile_error, which passes only when the compiler stops
// on the emulation header's `asm` poison: inline PTX left in device code (outside an
// `#ifdef MERINO_CUDA_EMU` path) must break the emulated build, never be skipped silently.
#ifndef MERINO_CUDA_EMU
#error "the emulation header defines MERINO_CUDA_EMU"
#endif

__device__ unsigned lane_id() {
  unsigned r;
  asm volatile("mov.u32 %0, %%laneid;" : "=r"(r));
  return r;
}
