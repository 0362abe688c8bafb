// Argument checks at the N-API boundary: every value from JavaScript is checked before native code uses it,
// and a bad one throws one coded error (JOULE_BAD_ARGUMENT, naming the argument and what was expected),
// as zeromq.js does with its argument validator. Glue code reads arguments only through these.
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "errors.h"

namespace joule::glue {

// The JavaScript type of a value, for messages ("got string").
inline std::string TypeOf(const Napi::Value& value) {
  if (value.IsUndefined()) return "undefined";
  if (value.IsNull()) return "null";
  if (value.IsBoolean()) return "boolean";
  if (value.IsNumber()) return "number " + std::to_string(value.As<Napi::Number>().DoubleValue());
  if (value.IsString()) return "string";
  if (value.IsTypedArray()) return "typed array";
  if (value.IsArray()) return "array";
  if (value.IsFunction()) return "function";
  return "object";
}

/** The one coded error for a bad argument: `code` JOULE_BAD_ARGUMENT and `argument` naming it. */
[[noreturn]] inline void BadArgument(Napi::Env env, const std::string& name, const std::string& expected, const Napi::Value& got) {
  Napi::Error error = Napi::TypeError::New(env, name + ": expected " + expected + ", got " + TypeOf(got));
  error.Set("code", CodeName(ErrorCode::BadArgument));
  error.Set("argument", name);
  throw error;
}

/** Argument `index` of a call, named for messages (e.g. "submit(spec)"). */
inline Napi::Value Arg(const Napi::CallbackInfo& info, size_t index) { return index < info.Length() ? info[index] : info.Env().Undefined(); }

inline Napi::Object ObjectOf(Napi::Env env, const Napi::Value& value, const std::string& name) {
  if (!value.IsObject() || value.IsArray() || value.IsFunction()) BadArgument(env, name, "an object", value);
  return value.As<Napi::Object>();
}

inline std::string StringOf(Napi::Env env, const Napi::Value& value, const std::string& name) {
  if (!value.IsString()) BadArgument(env, name, "a string", value);
  return value.As<Napi::String>().Utf8Value();
}

inline bool BooleanOf(Napi::Env env, const Napi::Value& value, const std::string& name) {
  if (!value.IsBoolean()) BadArgument(env, name, "a boolean", value);
  return value.As<Napi::Boolean>().Value();
}

/** A finite number in [min, max]. */
inline double NumberOf(Napi::Env env, const Napi::Value& value, const std::string& name, double min, double max) {
  if (!value.IsNumber()) BadArgument(env, name, "a number", value);
  const double number = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(number) || number < min || number > max) {
    BadArgument(env, name, "a finite number from " + std::to_string(min) + " to " + std::to_string(max), value);
  }
  return number;
}

/** An integer in [min, max] (at most 2^53, where doubles stop holding every integer). */
inline int64_t IntegerOf(Napi::Env env, const Napi::Value& value, const std::string& name, int64_t min, int64_t max) {
  if (!value.IsNumber()) BadArgument(env, name, "an integer", value);
  const double number = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(number) || std::floor(number) != number || number < static_cast<double>(min) || number > static_cast<double>(max)) {
    BadArgument(env, name, "an integer from " + std::to_string(min) + " to " + std::to_string(max), value);
  }
  return static_cast<int64_t>(number);
}

/** One of an enum's values 0..count-1, as the enum. */
template <typename Enum>
Enum EnumOf(Napi::Env env, const Napi::Value& value, const std::string& name, uint32_t count) {
  return static_cast<Enum>(IntegerOf(env, value, name, 0, static_cast<int64_t>(count) - 1));
}

inline Napi::TypedArray TypedArrayOf(Napi::Env env, const Napi::Value& value, const std::string& name) {
  if (!value.IsTypedArray()) BadArgument(env, name, "a typed array", value);
  return value.As<Napi::TypedArray>();
}

inline Napi::Array ArrayOf(Napi::Env env, const Napi::Value& value, const std::string& name) {
  if (!value.IsArray()) BadArgument(env, name, "an array", value);
  return value.As<Napi::Array>();
}

inline Napi::Function FunctionOf(Napi::Env env, const Napi::Value& value, const std::string& name) {
  if (!value.IsFunction()) BadArgument(env, name, "a function", value);
  return value.As<Napi::Function>();
}

/** Largest safe integer: counts and byte sizes above it cannot come from JavaScript exactly. */
constexpr int64_t kMaxSafeInteger = (int64_t{1} << 53) - 1;

}  // namespace joule::glue
