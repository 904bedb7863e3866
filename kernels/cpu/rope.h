// Rotary position embedding (RoPE) on the q and k heads of a packed qkv buffer, in place.
// Pairs are (i, i + hd/2) ("rotate half", the GPT-NeoX / Hugging Face LLaMA convention) so
// weights exported under HF LLaMA names work unchanged. Frequencies theta^(-2i/hd); hd is even.
// Backward is the inverse rotation applied to the gradient, also in place.
#pragma once

namespace merino::cpu {

// position of row (b, t) is t; v heads are left untouched
template <class T>
void rope_forward(T* qkv, int B, int Tn, int H, int KVH, int hd, double theta);

// the same with row t of each sequence at position pos0 + t (decoding after pos0 cached tokens)
template <class T>
void rope_forward_at(T* qkv, int B, int Tn, int H, int KVH, int hd, double theta, int pos0);

template <class T>
void rope_backward(T* dqkv, int B, int Tn, int H, int KVH, int hd, double theta);

}  // namespace merino::cpu
