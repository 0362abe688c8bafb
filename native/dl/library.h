// A dlopen'ed shared library whose symbols are resolved one by one, each with its own error.
#pragma once

#include <string>
#include <vector>

namespace joule::dl {

// The handle is never closed: vendor libraries (NVML, NCCL) keep threads of their own, and unloading
// them under those threads crashes the process at exit.
class Library {
 public:
  Library() = default;
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  // Tries each candidate in order; on failure `error()` lists every path tried with dlerror's text.
  bool Open(const std::vector<std::string>& candidates);
  bool IsOpen() const { return handle_ != nullptr; }
  const std::string& path() const { return path_; }
  const std::string& error() const { return error_; }

  // Resolves `name` into `fn`; a missing symbol is recorded (see `missing()`) and returns false.
  template <typename Fn>
  bool Bind(Fn*& fn, const char* name) {
    fn = reinterpret_cast<Fn*>(Lookup(name));
    return fn != nullptr;
  }
  // Like Bind, but a missing symbol is not an error (the caller has a fallback).
  template <typename Fn>
  void BindOptional(Fn*& fn, const char* name) {
    fn = reinterpret_cast<Fn*>(LookupOptional(name));
  }
  const std::vector<std::string>& missing() const { return missing_; }

 private:
  void* Lookup(const char* name);
  void* LookupOptional(const char* name) const;

  void* handle_ = nullptr;
  std::string path_;
  std::string error_;
  std::vector<std::string> missing_;
};

// The candidate list for a library: the override from `env_var` alone when it is set, else `defaults`.
std::vector<std::string> Candidates(const char* env_var, const std::vector<std::string>& defaults);

}  // namespace joule::dl
