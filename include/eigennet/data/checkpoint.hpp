// Saving and restoring a network's parameters as an .npz file (one array per parameter).
#pragma once

#include <string>

#include "eigennet/data/npz.hpp"
#include "eigennet/model/parameter.hpp"

namespace eigennet {

// Writes each parameter's value under its name, shape (rows, cols), dtype of Scalar
// ('<f4' or '<f8'), atomically (a failed save leaves an existing file untouched).
// numpy reads it: np.load(path)["layer0.dense.W"]. Throws std::invalid_argument on a
// duplicate or empty parameter name.
template <typename Scalar>
void save_checkpoint(const ParameterList<Scalar>& params, const std::string& path);

// Reads the file and copies each array into the parameter of the same name. Everything is
// checked before anything is copied, so on error the parameters keep their values:
//  - every parameter has an array of that name ("<path>: no array for parameter 'W' ...");
//  - shapes match exactly: "<path>: parameter 'layer0.dense.W': expected shape 784×128,
//    found 128×784" (a 1-D array (n,) is reported as 1-D and never matches);
//  - the file has no arrays besides the parameters (names listed);
//    (these three throw CheckpointMismatch: the file is fine, the model is another)
//  - every value is finite: "<path>: parameter 'layer0.dense.W': 3 of 12 entries are not
//    finite (NaN or infinity)" (float64 values beyond float's range count, in a float model).
// dtype: '<f4' or '<f8' into either Scalar. float64 into a float model rounds each value to
// the nearest float (static_cast), as torch's load_state_dict copy_ does; float32 into a
// double model is exact.
// The file is a readable checkpoint of another model: a parameter missing, a shape that
// differs, or arrays the model does not have.
class CheckpointMismatch : public DataError {
 public:
  using DataError::DataError;
};

template <typename Scalar>
void load_checkpoint(ParameterList<Scalar>& params, const std::string& path);

}  // namespace eigennet
