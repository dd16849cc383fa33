// The one exception type of the data layer.
#pragma once

#include <stdexcept>
#include <string>

namespace eigennet {

// Thrown for every problem with a data file (missing, unreadable, malformed, inconsistent).
// The message always starts with the file's path and says what was expected and what was
// found, so that a user can fix the file without reading the code.
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace eigennet
