// The FLOP/s that MFU is measured against. On the CPU there is no datasheet figure for "this
// many cores of this machine", so it is measured: the rate of a 512^3 OpenBLAS sgemm, the best
// the step's dominant op can do here.
// Its first GEMM checks that OpenBLAS's per-thread buffers fit the address space (EnvironmentError
// with the sizes otherwise) instead of letting OpenBLAS retry the allocation for ever.
#pragma once

namespace merino {

double cpu_peak_flops();

}  // namespace merino
