// Which causal-attention implementation runs (kernels/cuda/attention.cuh): v1 (attention.cu,
// wmma) is kept as the benchmark's reference variant; v2 (attention_v2.cu) is the default.
// CUDA-free so that CudaBackend's header can name it.
#pragma once

namespace merino::cuda {

enum class AttentionKernel { v1, v2 };

}  // namespace merino::cuda
