// The ways a product can be run, for tests that hold every one of them to a reference product:
// each CPU kernel of this build pinned, the planner measuring, and the OpenBLAS backend plugged in
// (where built). RestoreGemmSetting puts back the choice in force however a test ends.
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

inline std::vector<GemmSetting> every_gemm_setting() {
  using namespace eigennet;
  std::vector<GemmSetting> settings;
  for (GemmKernel kernel : gemm_kernels_built())
    settings.push_back({gemm_kernel_name(kernel), [kernel] {
                          set_gemm_backend(nullptr);
                          pin_gemm_kernel(kernel);
                        }});
  const bool several = gemm_kernels_built().size() > 1;
  settings.push_back({several ? "auto" : "eigen", [] {
                        set_gemm_backend(nullptr);
                        set_gemm_choice("auto");
                      }});
  if (gemm_kernel_available(GemmKernel::OneDnn, GemmScalar::Float))
    settings.push_back({"all", [] {
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
