// The shared load-once sequence of the run-time library loaders.
#include "dl/loader.h"

#include "dl/join.h"

namespace joule::dl {

bool Loader::LoadOnce(const char* env_var, const std::vector<std::string>& defaults, const std::string& not_found) {
  if (attempted_) return usable_;
  attempted_ = true;
  if (!library_.Open(Candidates(env_var, defaults))) return Fail(not_found + library_.error());
  BindSymbols(library_);
  if (!library_.missing().empty()) return Fail("symbol missing in " + library_.path() + ": " + Join(library_.missing(), ", "));
  usable_ = Start();
  return usable_;
}

bool Loader::Fail(std::string reason) {
  reason_ = std::move(reason);
  return false;
}

}  // namespace joule::dl
