// Operation headers and the mismatch message.
#include "comm/header.h"

#include <algorithm>
#include <cstring>
#include <sstream>

namespace joule::comm {

bool SameHeader(const OpHeader& a, const OpHeader& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

std::string Describe(const OpHeader& h) {
  std::ostringstream out;
  out << KindName(static_cast<Kind>(h.kind)) << "(count=" << h.count << ", dtype=" << DTypeName(static_cast<DType>(h.dtype));
  const Kind kind = static_cast<Kind>(h.kind);
  if (kind == Kind::Allreduce || kind == Kind::ReduceScatter || kind == Kind::Reduce) {
    out << ", op=" << RedOpName(static_cast<RedOp>(h.redop));
    if (h.wire != 0) out << ", wire=" << WireName(static_cast<Wire>(h.wire));
  }
  if (kind == Kind::Broadcast || kind == Kind::Reduce) out << ", root=" << h.root;
  if (kind == Kind::Send || kind == Kind::Recv) out << ", tag=" << h.tag;
  out << ", #" << h.seq << ")";
  return out.str();
}

OpHeader HeaderOf(const Op& op, uint64_t seq) {
  OpHeader h{};
  h.seq = seq;
  h.count = op.count;
  h.kind = static_cast<uint32_t>(op.kind);
  h.dtype = static_cast<uint32_t>(op.dtype);
  h.redop = (op.kind == Kind::Allreduce || op.kind == Kind::ReduceScatter || op.kind == Kind::Reduce) ? static_cast<uint32_t>(op.redop) : 0;
  h.wire = static_cast<uint32_t>(op.wire);
  h.root = (op.kind == Kind::Broadcast || op.kind == Kind::Reduce) ? op.root : 0;
  h.tag = op.tag;
  return h;
}

std::string RankList(const std::vector<int>& ranks) {
  std::ostringstream out;
  out << (ranks.size() == 1 ? "rank " : "ranks ");
  for (size_t i = 0; i < ranks.size(); ++i) out << (i ? "," : "") << ranks[i];
  return out.str();
}

std::string MismatchText(const std::vector<OpHeader>& headers) {
  std::vector<std::pair<OpHeader, std::vector<int>>> groups;
  for (size_t r = 0; r < headers.size(); ++r) {
    auto found = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return SameHeader(g.first, headers[r]); });
    if (found == groups.end()) groups.push_back({headers[r], {static_cast<int>(r)}});
    else found->second.push_back(static_cast<int>(r));
  }
  if (groups.size() <= 1) return "";
  std::ostringstream out;
  for (size_t i = 0; i < groups.size(); ++i) out << (i ? "; " : "") << RankList(groups[i].second) << " passed " << Describe(groups[i].first);
  return out.str();
}

}  // namespace joule::comm
