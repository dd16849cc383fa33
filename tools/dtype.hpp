// The precision a tool runs in, and its one dispatch to float or double code.
//
// Spellings: "float" and "double" (train-mnist, gradcheck), also "float32" and "float64"
// (numpy's names, which the benchmarks and their Python peers use). Every tool accepts all four.
#pragma once

#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace eigennet::tools {

enum class Dtype { Float, Double };

// Every accepted spelling, for CLI11's IsMember.
inline const std::vector<std::string>& dtype_spellings() {
  static const std::vector<std::string> spellings = {"float", "double", "float32", "float64"};
  return spellings;
}

// "float" | "float32" → Float, "double" | "float64" → Double; std::invalid_argument otherwise.
inline Dtype parse_dtype(const std::string& text) {
  if (text == "float" || text == "float32") return Dtype::Float;
  if (text == "double" || text == "float64") return Dtype::Double;
  throw std::invalid_argument("unknown dtype '" + text + "' (expected float, double, float32 or float64)");
}

// The C++ name ("float", "double") and numpy's ("float32", "float64").
inline const char* dtype_name(Dtype dtype) { return dtype == Dtype::Float ? "float" : "double"; }
inline const char* numpy_dtype_name(Dtype dtype) { return dtype == Dtype::Float ? "float32" : "float64"; }

// The Dtype of a Scalar type.
template <typename Scalar>
constexpr Dtype dtype_of() {
  static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>, "float or double");
  return std::is_same_v<Scalar, float> ? Dtype::Float : Dtype::Double;
}

// body(float{}) or body(double{}), by dtype: the one place a tool picks its Scalar.
template <typename Body>
auto with_dtype(Dtype dtype, Body&& body) {
  return dtype == Dtype::Float ? body(float{}) : body(double{});
}

}  // namespace eigennet::tools
