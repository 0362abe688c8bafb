// The error codes native code hands to JavaScript: one enum, each code's name spelled once here;
// src/errors.ts lists the same names (test/native/error-codes.test.ts holds the two together).
#pragma once

namespace joule {

#define JOULE_ERROR_CODES(X)                            \
  X(BadArgument, "JOULE_BAD_ARGUMENT")                  \
  X(BackendUnavailable, "JOULE_BACKEND_UNAVAILABLE")    \
  X(CollectiveMismatch, "JOULE_COLLECTIVE_MISMATCH")    \
  X(Timeout, "JOULE_TIMEOUT")                           \
  X(RankFailed, "JOULE_RANK_FAILED")                    \
  X(Aborted, "JOULE_ABORTED")                           \
  X(NativeError, "JOULE_NATIVE_ERROR")

enum class ErrorCode {
#define JOULE_ERROR_ENUM(name, text) name,
  JOULE_ERROR_CODES(JOULE_ERROR_ENUM)
#undef JOULE_ERROR_ENUM
};

/** The code's name as JavaScript sees it in `error.code`. */
constexpr const char* CodeName(ErrorCode code) {
  switch (code) {
#define JOULE_ERROR_NAME(name, text) \
  case ErrorCode::name:              \
    return text;
    JOULE_ERROR_CODES(JOULE_ERROR_NAME)
#undef JOULE_ERROR_NAME
  }
  return "JOULE_NATIVE_ERROR";
}

}  // namespace joule
