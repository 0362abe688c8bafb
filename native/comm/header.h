// The header every operation carries (sequence, kind, count, dtype, op, wire, root, tag), and the
// mismatch message every rank builds the same way from all ranks' headers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "comm/types.h"

namespace joule::comm {

struct OpHeader {
  uint64_t seq;
  uint64_t count;
  uint32_t kind, dtype, redop, wire;
  int32_t root, tag;
};

OpHeader HeaderOf(const Op& op, uint64_t seq);
bool SameHeader(const OpHeader& a, const OpHeader& b);
std::string Describe(const OpHeader& header);
std::string RankList(const std::vector<int>& ranks);
// Empty when all headers agree; else "ranks 0,1 passed allreduce(...); rank 2 passed ...".
std::string MismatchText(const std::vector<OpHeader>& headers);

}  // namespace joule::comm
