// printf-style formatting into a std::string, for the tools' output lines.
#pragma once

#include <cstdio>
#include <string>

namespace eigennet::tools {

// At most 255 characters: the tools format single lines and fields.
template <typename... Args>
std::string format(const char* pattern, Args... args) {
  char text[256];
  std::snprintf(text, sizeof text, pattern, args...);
  return text;
}

}  // namespace eigennet::tools
