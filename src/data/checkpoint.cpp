// Checkpoints: parameters ↔ .npz arrays keyed by parameter name.
#include "eigennet/data/checkpoint.hpp"

#include <set>
#include <stdexcept>
#include <vector>

namespace eigennet {

template <typename Scalar>
void save_checkpoint(const ParameterList<Scalar>& params, const std::string& path) {
  NpzWriter writer;
  for (const Parameter<Scalar>& p : params) {
    if (p.value == nullptr) throw std::invalid_argument("save_checkpoint: parameter '" + p.name + "' has no value");
    writer.add(p.name, *p.value);  // NpzWriter rejects empty and duplicate names
  }
  writer.save(path);
}

template <typename Scalar>
void load_checkpoint(ParameterList<Scalar>& params, const std::string& path) {
  const NpzFile npz = load_npz(path);

  std::set<std::string> names;
  std::vector<const NpyArray*> sources;
  for (const Parameter<Scalar>& p : params) {
    if (p.value == nullptr) throw std::invalid_argument("load_checkpoint: parameter '" + p.name + "' has no value");
    if (!names.insert(p.name).second)
      throw std::invalid_argument("load_checkpoint: parameter name '" + p.name + "' appears twice in the model");
    if (!npz.contains(p.name)) {
      std::string list;
      for (const std::string& key : npz.keys()) list += (list.empty() ? "" : ", ") + key;
      throw CheckpointMismatch(path + ": no array for parameter '" + p.name + "' (expected shape " +
                      shape_of(*p.value) + "); the file has: " + (list.empty() ? "no arrays" : list));
    }
    const NpyArray& array = npz.at(p.name);
    const bool matches = array.shape.size() == 2 && array.shape[0] == p.value->rows() &&
                         array.shape[1] == p.value->cols();
    if (!matches) {
      const std::string found = array.shape.size() == 2 ? shape_string(array.shape[0], array.shape[1])
                                                         : array.shape_text() + " (" + std::to_string(array.shape.size()) + "-D)";
      throw CheckpointMismatch(path + ": parameter '" + p.name + "': expected shape " + shape_of(*p.value) +
                      ", found " + found);
    }
    sources.push_back(&array);
  }
  std::string extra;
  for (const std::string& key : npz.keys())
    if (names.count(key) == 0) extra += (extra.empty() ? "" : ", ") + key;
  if (!extra.empty())
    throw CheckpointMismatch(path + ": arrays not in the model: " + extra + " (the model has " +
                    std::to_string(params.size()) + " parameters)");

  // A checkpoint of NaN or infinity (a diverged run, a corrupt file) would load and then
  // predict nothing: refused, like a wrong shape. Counted after conversion, so that float64
  // values beyond float's range count too.
  std::vector<Matrix<Scalar>> values;
  for (std::size_t i = 0; i < params.size(); ++i) {
    values.push_back(sources[i]->template to_matrix<Scalar>());
    const Index bad = values.back().size() - values.back().array().isFinite().count();
    if (bad != 0)
      throw DataError(path + ": parameter '" + params[i].name + "': " + std::to_string(bad) + " of " +
                      std::to_string(values.back().size()) + " entries are not finite (NaN or infinity)");
  }
  for (std::size_t i = 0; i < params.size(); ++i) *params[i].value = std::move(values[i]);
}

template void save_checkpoint<float>(const ParameterList<float>&, const std::string&);
template void save_checkpoint<double>(const ParameterList<double>&, const std::string&);
template void load_checkpoint<float>(ParameterList<float>&, const std::string&);
template void load_checkpoint<double>(ParameterList<double>&, const std::string&);

}  // namespace eigennet
