// Names of the communication enums, as the JS API spells them.
#include "comm/types.h"

namespace joule::comm {

size_t DTypeBytes(DType dtype) {
  switch (dtype) {
    case DType::F32: case DType::I32: return 4;
    case DType::F64: case DType::I64: return 8;
    case DType::BF16: case DType::F16: return 2;
  }
  return 0;
}

const char* DTypeName(DType dtype) {
  static const char* names[] = {"f32", "f64", "i32", "i64", "bf16", "f16"};
  return static_cast<uint32_t>(dtype) < 6 ? names[static_cast<uint32_t>(dtype)] : "?";
}

const char* RedOpName(RedOp op) {
  static const char* names[] = {"sum", "avg", "max", "min", "prod"};
  return static_cast<uint32_t>(op) < 5 ? names[static_cast<uint32_t>(op)] : "?";
}

const char* KindName(Kind kind) {
  static const char* names[] = {"barrier", "allreduce", "broadcast", "allgather", "reduceScatter", "reduce", "send", "recv"};
  return static_cast<uint32_t>(kind) < 8 ? names[static_cast<uint32_t>(kind)] : "?";
}

const char* WireName(Wire wire) {
  static const char* names[] = {"native", "bf16", "f16"};
  return static_cast<uint32_t>(wire) < 3 ? names[static_cast<uint32_t>(wire)] : "?";
}

}  // namespace joule::comm
