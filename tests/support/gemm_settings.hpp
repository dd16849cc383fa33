// The ways a product can be run, for tests that hold every one of them to a reference product:
// each CPU kernel of this build pinned, the planner measuring, and the OpenBLAS backend plugged in
// (where built). RestoreGemmSetting puts back the choice in force however a test ends.
// gemm_candidates / measured_gemm_name: what a measuring choice ("auto", "all") times, as the
// library's rule says (plan.hpp), for tests to expect the plan and the name it gives.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "eigennet/eigennet.hpp"

namespace eigennet_test {

struct GemmSetting {
  std::string name;  // what gemm_backend_name() says while it is in force
  std::function<void()> apply;
};

// The kernels that `choice` ("auto" or "all") measures for products of `scalar`: those of this
// build that have that scalar type, less those that allocate on every call under "auto". With a
// single candidate nothing is measured: the plan stays empty and that kernel runs.
inline std::vector<eigennet::GemmKernel> gemm_candidates(const std::string& choice, eigennet::GemmScalar scalar) {
  using namespace eigennet;
  std::vector<GemmKernel> candidates;
  for (GemmKernel kernel : gemm_kernels_built())
    if (gemm_kernel_available(kernel, scalar) && (choice == "all" || !gemm_kernel_allocates(kernel)))
      candidates.push_back(kernel);
  return candidates;
}

// What gemm_backend_name() says under `choice` ("auto" or "all") with no backend plugged in: the
// choice while it measures float products, else the name of its one float candidate.
inline std::string measured_gemm_name(const std::string& choice) {
  const auto candidates = gemm_candidates(choice, eigennet::GemmScalar::Float);
  return candidates.size() > 1 ? choice : eigennet::gemm_kernel_name(candidates.at(0));
}

// A measuring choice under which products of `scalar` have several candidates, "auto" first
// ("all" where only oneDNN is beside Eigen); "" where every choice leaves Eigen's kernel alone.
inline std::string choice_that_measures(eigennet::GemmScalar scalar) {
  for (const char* choice : {"auto", "all"})
    if (gemm_candidates(choice, scalar).size() > 1) return choice;
  return "";
}

inline std::vector<GemmSetting> every_gemm_setting() {
  using namespace eigennet;
  std::vector<GemmSetting> settings;
  for (GemmKernel kernel : gemm_kernels_built())
    settings.push_back({gemm_kernel_name(kernel), [kernel] {
                          set_gemm_backend(nullptr);
                          pin_gemm_kernel(kernel);
                        }});
  settings.push_back({measured_gemm_name("auto"), [] {
                        set_gemm_backend(nullptr);
                        set_gemm_choice("auto");
                      }});
  if (gemm_kernel_available(GemmKernel::OneDnn, GemmScalar::Float))
    settings.push_back({measured_gemm_name("all"), [] {
                          set_gemm_backend(nullptr);
                          set_gemm_choice("all");
                        }});
  if (auto openblas = openblas_gemm_backend())
    settings.push_back({"openblas", [openblas] { set_gemm_backend(openblas); }});
  return settings;
}

struct RestoreGemmSetting {
  std::string choice = eigennet::gemm_choice();
  ~RestoreGemmSetting() {
    eigennet::set_gemm_backend(nullptr);
    eigennet::set_gemm_choice(choice);
  }
};

}  // namespace eigennet_test
