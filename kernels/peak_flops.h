// The FLOP/s that MFU is measured against. On the CPU there is no datasheet figure for "this
// many cores of this machine", so it is measured: the rate of a 512^3 OpenBLAS sgemm, the best
// the step's dominant op can do here. On a GPU it is NVIDIA's datasheet figure where the GPU is
// known, the convention MFU is published in (989 TFLOP/s dense bf16 on an H100 SXM, as llm.c and
// the PaLM paper's appendix B count it): CudaBackend::peak_flops multiplies the SM count by the
// clock the driver reports, the boost clock (1980 MHz on an H100 SXM: 1070 TFLOP/s), which
// NVIDIA's tensor-core figures do not use (1830 MHz there), so its MFU is lower than published
// ones for the same speed. Callers print the datasheet MFU and keep the clock-based one beside it.
// On the CPU, its first GEMM checks that OpenBLAS's per-thread buffers fit the address space
// (EnvironmentError with the sizes otherwise) instead of letting OpenBLAS retry the allocation
// for ever.
#pragma once
#include <string>

namespace merino {

double cpu_peak_flops();

// The dense peak FLOP/s on NVIDIA's datasheet of the GPU named `gpu_name` with compute
// capability major.minor and `sms` multiprocessors: of the bf16 tensor cores (fp32 accumulation)
// when bf16, else of the fp32 CUDA cores (no TF32). 0 when the GPU is not one of those known
// (A100, H100 SXM / PCIe / NVL, H200 SXM / NVL).
double datasheet_gpu_peak_flops(const std::string& gpu_name, int cc_major, int cc_minor, int sms,
                                bool bf16);

}  // namespace merino
