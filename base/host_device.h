// MERINO_HOST_DEVICE marks the few inline functions that compile for the device under nvcc and
// for the host everywhere (the bf16 rounding rule, SplitMix64's mixing step), so a test on the
// host reproduces exactly the bits a kernel writes.
#pragma once

#ifndef MERINO_HOST_DEVICE
#if defined(__CUDACC__)
#define MERINO_HOST_DEVICE __host__ __device__
#else
#define MERINO_HOST_DEVICE
#endif
#endif
