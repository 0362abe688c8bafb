// Tile and the reduction batch normalization's gradient needs (a sum over the leading axes), done natively
// because tfjs-wasm's own go element by element (Tile) or transpose first (Sum over leading axes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace joule::train {

/** out = x repeated reps[d] times along each axis d (tf.tile); elements of `elementBytes` bytes. */
void Tile(const void* x, const std::vector<int64_t>& shape, const std::vector<int64_t>& reps, size_t elementBytes, void* out);

/** out[j] = Σ_i x[i·width + j] for i < rows (float64 accumulation, float32 result). */
void SumRows(const float* x, size_t rows, size_t width, float* out);

}  // namespace joule::train
